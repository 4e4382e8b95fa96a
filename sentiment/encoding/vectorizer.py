"""Turn raw reviews into fixed-length integer sequences: one mapping for every stage.

Preprocessing fits a :class:`Vectorizer` on the training portion only and saves it
beside the data; training bundles it with the model and scoring loads it back, so text
becomes the same ids everywhere (no train/serve skew).

Ids: ``0`` pads, ``1`` stands for any out-of-vocabulary word, ``2 .. num_words - 1`` are
the vocabulary, most frequent first (ties broken by the token's text, so fitting is
deterministic on any machine). Sequences are cut and padded like Keras
``pad_sequences`` (``pre`` on both sides by default).

N-gram mode (``ngram_max`` 2 or 3) adds word bigrams/trigrams to the vocabulary, ranked
with the words by frequency. A review's sequence is its word ids, then its known bigram
ids, then its known trigram ids (as in the Keras fastText example; unknown n-grams are
left out instead of becoming ``1``). ``bag=True`` turns the sequence into the sorted set
of its ids: the bag-of-n-grams input of an NBSVM-style model.

The heavy lifting is columnar: a compiled loop splits reviews into Arrow token lists
(:mod:`sentiment.encoding.tokens`), Arrow maps tokens to word indices, and compiled loops
(:mod:`sentiment.encoding.kernels`) look n-grams up and pad. N-gram keys pack word indices into
one uint64 (:mod:`sentiment.encoding.ngrams`) and live in the tables of
:mod:`sentiment.encoding.lookup`. Fitting lives in :mod:`sentiment.encoding.vocabulary`, the
file format in :mod:`sentiment.encoding.vectorizer_file`, what encoding returns in
:mod:`sentiment.encoding.encoded` and a linear model's sums straight from text in
:mod:`sentiment.encoding.weighing`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sentiment.core.arrays import (
    list_lengths,
    numpy_values,
    string_array,
)
from sentiment.core.atomic import write_json
from sentiment.encoding import kernels
from sentiment.encoding.config import Side, VectorizerConfig
from sentiment.encoding.encoded import EncodedBatch, EncodingStats
from sentiment.encoding.lookup import NO_TABLE, KeyTable, compact_tables, word_table
from sentiment.encoding.negation import negated_indices, with_plain_words, word_roles
from sentiment.encoding.ngrams import MAX_WORDS, WORD_BITS, ngram_keys, pack_keys
from sentiment.encoding.tokens import (
    BATCH_TEXTS,
    text_batches,
    token_lists,
)
from sentiment.encoding.vectorizer_file import (
    payload_contents,
    read_vectorizer_file,
    vectorizer_payload,
)
from sentiment.encoding.weighing import BagWeighing

logger = logging.getLogger(__name__)

# Guards the tables vectorizers build on first use (see Vectorizer.prepare_text_tables).
_LAZY_TABLES_LOCK = threading.Lock()

# --- the vectorizer ---------------------------------------------------------------------


def pad_sequences(
    flat: np.ndarray,
    lengths: np.ndarray,
    max_length: int,
    padding: Side = "pre",
    truncating: Side = "pre",
) -> np.ndarray:
    """Cut and pad concatenated sequences into an int32 ``(n, max_length)`` array.

    Args:
        flat: The sequences' ids, concatenated.
        lengths: Ids per sequence.
        max_length: Columns of the result.
        padding: ``pre`` puts the zeros first (Keras' default), ``post`` last.
        truncating: ``pre`` drops ids from the start of long sequences, ``post`` the end.

    Returns:
        The padded array; padding id 0.
    """
    ids = np.empty((len(lengths), max_length), np.int32)
    kernels.pad_rows(
        np.asarray(flat, np.int32),
        np.asarray(lengths, np.int64),
        ids,
        padding == "pre",
        truncating == "pre",
    )
    return ids


class Vectorizer(BagWeighing):
    """A fitted vocabulary plus settings: text in, int32 ``(n, max_length)`` ids out.

    Build one with :func:`sentiment.encoding.vocabulary.fit_vectorizer` or :meth:`load`.

    Attributes:
        config: The settings.
    """

    PADDING_ID = 0
    OOV_ID = 1
    PADDING_TOKEN = ""
    OOV_TOKEN = "[UNK]"

    def __init__(self, vocabulary: Sequence[str], config: VectorizerConfig) -> None:
        """Wrap a vocabulary in id order (``vocabulary[0]`` and ``[1]`` are reserved).

        Raises:
            ValueError: If the vocabulary does not fit the settings.
        """
        vocabulary = list(vocabulary)
        if vocabulary[:2] != [self.PADDING_TOKEN, self.OOV_TOKEN]:
            raise ValueError("A vocabulary starts with the padding and out-of-vocabulary tokens.")
        if len(vocabulary) > config.num_words:
            raise ValueError(
                f"{len(vocabulary)} vocabulary entries exceed num_words={config.num_words}."
            )
        if len(set(vocabulary)) != len(vocabulary):
            raise ValueError("The vocabulary has duplicate entries.")
        self.config = config
        self._vocabulary = vocabulary
        self._build_lookup()

    def _build_lookup(self) -> None:
        # Word indices (1-based; 0 = unknown word) for every word of any entry, so the
        # n-gram keys of a text can be packed and looked up without Python strings.
        # Arrow numbers the distinct words in order of first appearance: deterministic.
        entries = string_array(self._vocabulary[2:])
        parts = pc.split_pattern(entries, " ")
        sizes = list_lengths(parts)
        flat = parts.flatten()
        if len(sizes) and (
            int(sizes.max()) > self.config.ngram_max
            or not numpy_values(pc.binary_length(flat)).all()
        ):
            raise ValueError(
                f"Every vocabulary entry must be a token or an n-gram of at most "
                f"{self.config.ngram_max} words joined by single spaces."
            )
        encoded = pc.dictionary_encode(flat)
        # Words beyond the entries' come after them, so the entries' indices hold.
        self._words = (
            with_plain_words(encoded.dictionary, self.config.sentence_scope)
            if self.config.negation_scope
            else encoded.dictionary
        )
        if len(self._words) > MAX_WORDS:
            raise ValueError(f"The vocabulary holds more than {MAX_WORDS:,} distinct words.")
        word_index = numpy_values(encoded.indices).astype(np.int64) + 1
        starts = np.zeros(len(sizes), np.int64)
        np.cumsum(sizes[:-1], out=starts[1:])
        token_ids = np.arange(2, len(sizes) + 2, dtype=np.int32)
        unigram_ids = np.full(len(self._words) + 1, self.OOV_ID, np.int32)
        unigrams = sizes == 1
        unigram_ids[word_index[starts[unigrams]]] = token_ids[unigrams]
        self._unigram_ids = unigram_ids
        # Negation marking's tables (sentiment.encoding.negation); empty without it.
        scope = self.config.negation_scope
        self._negated = negated_indices(self._words) if scope else np.zeros(1, np.int64)
        self._roles = word_roles(self._words) if scope else np.zeros(1, np.uint8)
        self._words_lookup: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._ngram_lookup: dict[int, KeyTable] = {}
        # Kept until the compact tables of weigh_texts are built from them.
        self._ngram_entries: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._compact: tuple[int, tuple[tuple[np.ndarray, ...], ...] | None] | None = None
        for order in range(2, self.config.ngram_max + 1):
            selected = sizes == order
            first = starts[selected]
            keys = pack_keys([word_index[first + offset] for offset in range(order)])
            self._ngram_lookup[order] = KeyTable(keys, token_ids[selected])
            self._ngram_entries[order] = (keys, token_ids[selected])

    # -- encoding --------------------------------------------------------------------

    @property
    def vocabulary(self) -> list[str]:
        """Tokens in id order: ``vocabulary[i]`` has id ``i`` (0 padding, 1 OOV)."""
        return list(self._vocabulary)

    def encode(self, texts: Sequence[str | None]) -> np.ndarray:
        """Encode reviews into int32 ids of shape ``(len(texts), max_length)``.

        ``None`` and empty texts give all-padding rows.
        """
        return self.encode_with_stats(texts)[0]

    def encode_with_stats(self, texts: Sequence[str | None]) -> tuple[np.ndarray, EncodingStats]:
        """Encode reviews and count tokens, OOV tokens, empty and truncated reviews."""
        if len(texts) <= BATCH_TEXTS:
            return self.encode_token_lists(self.token_lists(texts))
        # Filled batch by batch: peak memory is the result plus one batch, not twice the
        # result (200 MB for 25k reviews at 2,000 columns).
        ids = np.empty((len(texts), self.config.max_length), np.int32)
        stats, start = EncodingStats(), 0
        for batch in text_batches(texts, BATCH_TEXTS):
            batch_ids, batch_stats = self.encode_token_lists(self.token_lists(batch))
            ids[start : start + len(batch)] = batch_ids
            start += len(batch)
            stats += batch_stats
        return ids, stats

    def oov_rate(self, texts: Sequence[str | None]) -> float:
        """Share of the texts' word tokens outside the vocabulary."""
        return self.encode_with_stats(texts)[1].oov_rate

    def token_lists(self, texts: Sequence[str | None] | pa.Array | pa.ChunkedArray) -> pa.ListArray:
        """:func:`sentiment.encoding.tokens.token_lists` as this vectorizer takes them
        (with sentence ends where its settings' ``sentence_scope`` says)."""
        return token_lists(texts, self.config.sentence_scope)

    def encode_token_lists(self, lists: pa.ListArray) -> tuple[np.ndarray, EncodingStats]:
        """Encode tokenized reviews (from :meth:`token_lists`); see :meth:`encode`."""
        values = lists.flatten()
        word_index = (numpy_values(pc.index_in(values, value_set=self._words), fill=-1) + 1).astype(
            np.int64
        )
        encoded = self._encode_word_index(*self._negate(word_index, list_lengths(lists)))
        return encoded.ids, encoded.stats()

    def _compact_tables(self) -> tuple[int, tuple[tuple[np.ndarray, ...], ...] | None]:
        """:func:`sentiment.encoding.lookup.compact_tables`, built on first use."""
        # Encoding threads share a vectorizer: one builds, the others wait for it (the
        # n-gram entries are dropped once the tables hold them).
        with _LAZY_TABLES_LOCK:
            return self._build_compact_tables()

    def _build_compact_tables(self) -> tuple[int, tuple[tuple[np.ndarray, ...], ...] | None]:
        if self._compact is None:
            self._compact = compact_tables(
                len(self._words), self.config.num_words, self._ngram_entries
            )
            self._ngram_entries = {}
        return self._compact

    def prepare_text_tables(self) -> None:
        """Build the tables of :meth:`weigh_texts` now (else on its first call)."""
        self._word_table()
        self._compact_tables()

    def _word_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The vocabulary's words in a compiled lookup table, built on first use."""
        with _LAZY_TABLES_LOCK:
            return self._build_word_table()

    def _build_word_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._words_lookup is None:
            self._words_lookup = word_table(self._words)
        return self._words_lookup

    def _bag_tables(self) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        tables = [self._ngram_lookup.get(order) for order in (2, 3)]
        bigrams, trigrams = (
            table.arrays if table is not None and len(table) else NO_TABLE for table in tables
        )
        return bigrams, trigrams

    def encode_dictionary(self, tokens: pa.DictionaryArray, lengths: np.ndarray) -> EncodedBatch:
        """Encode dictionary-encoded tokens (from :func:`dictionary_tokens`).

        Args:
            tokens: Every token of the batch, reviews concatenated.
            lengths: Tokens per review.

        Returns:
            The ids plus per-review counts.
        """
        mapping = (
            numpy_values(pc.index_in(tokens.dictionary, value_set=self._words), fill=-1).astype(
                np.int64
            )
            + 1
        )
        lengths = np.asarray(lengths, np.int64)
        return self._encode_word_index(
            *self._negate(mapping[numpy_values(tokens.indices)], lengths)
        )

    def _negate(self, word_index: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``word_index`` (owned by the caller, changed in place) with negation marked
        and sentence ends left out, and the tokens per review then."""
        if not self.config.negation_scope:
            return word_index, lengths
        kept = kernels.negate_word_index(
            word_index, lengths, self._negated, self._roles, self.config.negation_scope
        )
        return word_index[: int(kept.sum())], kept

    def _encode_word_index(self, word_index: np.ndarray, lengths: np.ndarray) -> EncodedBatch:
        config = self.config
        unigram_ids = self._unigram_ids[word_index]
        is_oov = unigram_ids == self.OOV_ID
        oov_counts = np.bincount(
            np.repeat(np.arange(len(lengths)), lengths)[is_oov], minlength=len(lengths)
        )
        if config.bag:
            # One compiled pass per review: its words and known n-grams, distinct,
            # sorted, cut and padded.
            bigrams, trigrams = self._bag_tables()
            ids = np.empty((len(lengths), config.max_length), np.int32)
            sequence_lengths = kernels.ngram_bags(
                word_index,
                lengths,
                self._unigram_ids,
                bigrams,
                trigrams,
                WORD_BITS,
                config.num_words,
                ids,
                config.padding == "pre",
                config.truncating == "pre",
            )
            return EncodedBatch(ids, lengths, oov_counts, sequence_lengths)
        if config.ngram_max == 1:
            flat, sequence_lengths = unigram_ids, lengths
        else:
            flat, sequence_lengths = self._with_ngrams(word_index, unigram_ids, lengths)
        ids = pad_sequences(
            flat, sequence_lengths, config.max_length, config.padding, config.truncating
        )
        return EncodedBatch(ids, lengths, oov_counts, sequence_lengths)

    def _ngram_pieces(
        self, word_index: np.ndarray, unigram_ids: np.ndarray, lengths: np.ndarray
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """``(ids, reviews)`` of the words, then of the known bigrams, then trigrams."""
        pieces = [(unigram_ids, np.repeat(np.arange(len(lengths)), lengths))]
        for order in range(2, self.config.ngram_max + 1):
            table = self._ngram_lookup[order]
            if len(table) == 0:
                continue
            keys, documents = ngram_keys(word_index, lengths, order)
            if len(keys) == 0:
                continue
            ids = table.lookup(keys)
            found = ids >= 0
            pieces.append((ids[found], documents[found]))
        return pieces

    def _with_ngrams(
        self, word_index: np.ndarray, unigram_ids: np.ndarray, lengths: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per review: word ids, then known bigram ids, then known trigram ids."""
        count = len(lengths)
        pieces = self._ngram_pieces(word_index, unigram_ids, lengths)
        per_piece = [np.bincount(documents, minlength=count) for _, documents in pieces]
        total_lengths = np.sum(per_piece, axis=0)
        starts = np.zeros(count, np.int64)
        np.cumsum(total_lengths[:-1], out=starts[1:])
        flat = np.empty(int(total_lengths.sum()), np.int32)
        before = np.zeros(count, np.int64)
        for (ids, documents), piece_lengths in zip(pieces, per_piece, strict=True):
            piece_starts = np.zeros(count, np.int64)
            np.cumsum(piece_lengths[:-1], out=piece_starts[1:])
            within = np.arange(len(ids)) - piece_starts[documents]
            flat[starts[documents] + before[documents] + within] = ids
            before += piece_lengths
        return flat, total_lengths

    # -- persistence -----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Settings and vocabulary (in id order) as a JSON-serializable dict."""
        return vectorizer_payload(self._vocabulary, self.config)

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> Vectorizer:
        """Rebuild a vectorizer from :meth:`to_dict`'s output.

        Raises:
            ValueError: If the payload is not a vectorizer of this version.
            ConfigError: If its settings are invalid.
        """
        return cls(*payload_contents(payload))

    def save(self, path: Path) -> None:
        """Write the vectorizer as readable JSON, atomically."""
        write_json(Path(path), self.to_dict())

    @classmethod
    def load(cls, path: Path) -> Vectorizer:
        """Load a vectorizer written by :meth:`save`.

        Raises:
            DataError: If the file is missing, not JSON, or not a valid vectorizer.
        """
        return read_vectorizer_file(Path(path), cls.from_dict)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vectorizer):
            return NotImplemented
        return self.config == other.config and self._vocabulary == other._vocabulary

    def __hash__(self) -> int:
        return hash((self.config, len(self._vocabulary)))

    def __repr__(self) -> str:
        return f"Vectorizer({len(self._vocabulary)} ids, {self.config})"

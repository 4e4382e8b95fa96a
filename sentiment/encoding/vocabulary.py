"""Fitting a vocabulary: counting words and n-grams over batches of training reviews.

:class:`VocabularyCounter` counts what :func:`sentiment.encoding.tokens.token_lists` yields, batch
by batch, and builds the :class:`sentiment.encoding.vectorizer.Vectorizer` that keeps the
``num_words - 2`` most frequent entries (ties broken by text, so fitting is
deterministic). N-grams are counted as packed uint64 keys
(:func:`sentiment.encoding.ngrams.ngram_keys`), so millions of trigrams need no Python
objects; memory grows with the number of distinct n-grams, not with the reviews.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sentiment.core.arrays import arrow_array, numpy_values, string_array
from sentiment.core.errors import DataError
from sentiment.encoding.config import VectorizerConfig
from sentiment.encoding.negation import negate_dictionary
from sentiment.encoding.ngrams import MAX_WORDS, ngram_keys, unpack_keys
from sentiment.encoding.tokens import BATCH_TEXTS, dictionary_tokens, text_batches, token_lists
from sentiment.encoding.vectorizer import Vectorizer

logger = logging.getLogger(__name__)

# Merge the per-batch n-gram counts once this many batches have piled up.
_MERGE_EVERY = 8


class _CountAccumulator:
    """Token and document counts of n-gram keys, merged from per-batch uniques."""

    def __init__(self) -> None:
        self._keys: list[np.ndarray] = []
        self._counts: list[np.ndarray] = []
        self._documents: list[np.ndarray] = []

    def add(self, keys: np.ndarray, counts: np.ndarray, documents: np.ndarray) -> None:
        self._keys.append(keys)
        self._counts.append(counts)
        self._documents.append(documents)
        if len(self._keys) >= _MERGE_EVERY:
            self._merge()

    def _merge(self) -> None:
        if len(self._keys) <= 1:
            return
        keys = np.concatenate(self._keys)
        unique, inverse = np.unique(keys, return_inverse=True)
        counts = np.bincount(inverse, weights=np.concatenate(self._counts), minlength=len(unique))
        documents = np.bincount(
            inverse, weights=np.concatenate(self._documents), minlength=len(unique)
        )
        self._keys = [unique]
        self._counts = [counts.astype(np.int64)]
        self._documents = [documents.astype(np.int64)]

    def result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        self._merge()
        if not self._keys:
            empty = np.zeros(0, np.int64)
            return np.zeros(0, np.uint64), empty, empty
        return self._keys[0], self._counts[0], self._documents[0]


class VocabularyCounter:
    """Counts tokens (and n-grams) over batches of training reviews; builds a vectorizer.

    Memory grows with the number of distinct n-grams, not with the number of reviews.
    """

    def __init__(self, config: VectorizerConfig) -> None:
        self.config = config
        # Every word seen, numbered in order of first appearance. Index 0 is never a
        # word, so packed keys of real n-grams are never zero.
        self._words: pa.StringArray = string_array([""])
        self._orders = [_CountAccumulator() for _ in range(config.ngram_max)]
        self.documents = 0
        self.tokens = 0

    @property
    def distinct_words(self) -> int:
        """Distinct words in the counted reviews so far."""
        return len(self._orders[0].result()[0])

    def add_texts(self, texts: Sequence[str | None]) -> None:
        """Count the tokens of a batch of raw reviews."""
        self.add_token_lists(token_lists(texts, self.config.sentence_scope))

    def add_token_lists(
        self, lists: pa.ListArray, documents: np.ndarray | None = None
    ) -> pa.DictionaryArray:
        """Count a batch of tokenized reviews (from :func:`token_lists`, with
        ``sentence_ends`` as the settings' ``sentence_scope``).

        Args:
            lists: The batch's token lists.
            documents: Boolean mask of the reviews to count (default: all); the others
                are only tokenized, e.g. validation reviews that must not shape the
                vocabulary.

        Returns:
            The batch's tokens, dictionary-encoded, for
            :meth:`Vectorizer.encode_dictionary` (so they are hashed only once).
        """
        encoded, lengths = dictionary_tokens(lists)
        self.add_dictionary(encoded, lengths, documents)
        return encoded

    def add_dictionary(
        self, encoded: pa.DictionaryArray, lengths: np.ndarray, documents: np.ndarray | None = None
    ) -> None:
        """Count a batch of dictionary-encoded tokens (from :func:`dictionary_tokens`).

        The same counts as :meth:`add_token_lists` on the lists they come from; this
        form lets another process do the tokenizing and hashing.

        Args:
            encoded: Every token of the batch, reviews concatenated.
            lengths: Tokens per review.
            documents: Boolean mask of the reviews to count (default: all).
        """
        lengths = np.asarray(lengths, np.int64)
        if self.config.negation_scope:
            encoded, lengths = negate_dictionary(encoded, lengths, self.config.negation_scope)
        indices = numpy_values(encoded.indices)
        if documents is None:
            documents = np.ones(len(lengths), bool)
        counted = documents.astype(bool)
        self.documents += int(counted.sum())
        self.tokens += int(lengths[counted].sum())
        if len(indices) == 0 or not counted.any():
            return
        # Number the batch's words: known ones by a hash lookup in Arrow, new ones after
        # the last known, in the batch dictionary's (first appearance) order.
        batch_words = encoded.dictionary
        mapping = numpy_values(pc.index_in(batch_words, value_set=self._words), fill=-1).astype(
            np.int64
        )
        new = mapping < 0
        if new.any():
            mapping[new] = np.arange(len(self._words), len(self._words) + int(new.sum()))
            self._words = pa.concat_arrays(
                [self._words, batch_words.take(arrow_array(np.flatnonzero(new)))]
            )
        if len(self._words) > MAX_WORDS:
            raise DataError(
                f"The training texts hold more than {MAX_WORDS:,} distinct words, more "
                "than the vectorizer can count; clean the raw texts."
            )
        count_documents = self.config.min_document_count > 1
        token_counted = np.repeat(counted, lengths) if not counted.all() else None
        word_index = mapping[indices]
        for order, accumulator in enumerate(self._orders, start=1):
            if order == 1 and not count_documents:
                # The batch dictionary already lists the distinct words: no sort needed.
                selected = indices if token_counted is None else indices[token_counted]
                counts = np.bincount(selected, minlength=len(mapping))
                present = counts > 0
                accumulator.add(
                    mapping[present].astype(np.uint64),
                    counts[present],
                    np.zeros(int(present.sum()), np.int64),
                )
                continue
            keys, key_documents = ngram_keys(word_index, lengths, order)
            if token_counted is not None:
                keep = counted[key_documents]
                keys, key_documents = keys[keep], key_documents[keep]
            unique, counts = np.unique(keys, return_counts=True)
            if count_documents:
                document_counts = _document_counts(keys, key_documents, unique)
            else:
                document_counts = np.zeros(len(unique), np.int64)
            accumulator.add(unique, counts, document_counts)

    def build(self) -> Vectorizer:
        """Pick the ``num_words - 2`` most frequent tokens and return the vectorizer."""
        config = self.config
        orders, keys, counts = [], [], []
        for order, accumulator in enumerate(self._orders, start=1):
            order_keys, order_counts, document_counts = accumulator.result()
            if config.min_document_count > 1:
                keep = document_counts >= config.min_document_count
                order_keys, order_counts = order_keys[keep], order_counts[keep]
            orders.append(np.full(len(order_keys), order, np.int8))
            keys.append(order_keys)
            counts.append(order_counts)
        all_orders = np.concatenate(orders)
        all_keys = np.concatenate(keys)
        all_counts = np.concatenate(counts)
        capacity = config.num_words - 2
        if capacity == 0:
            candidates = np.zeros(0, np.int64)
        elif len(all_counts) > capacity:
            # Only candidates at or above the capacity-th largest count can be kept;
            # their ties are settled by text below.
            threshold = -np.partition(-all_counts, capacity - 1)[capacity - 1]
            candidates = np.flatnonzero(all_counts >= threshold)
        else:
            candidates = np.arange(len(all_counts))
        texts = self._texts(all_keys[candidates], all_orders[candidates])
        text_rank = np.empty(len(texts), np.int64)
        text_rank[numpy_values(pc.sort_indices(texts))] = np.arange(len(texts))
        order = np.lexsort((text_rank, -all_counts[candidates]))[:capacity]
        vocabulary = [Vectorizer.PADDING_TOKEN, Vectorizer.OOV_TOKEN]
        vocabulary.extend(texts.take(arrow_array(order)).to_pylist())
        logger.info(
            "Fitted a vocabulary of %d tokens on %d reviews (%d tokens, %d distinct words).",
            len(vocabulary) - 2,
            self.documents,
            self.tokens,
            self.distinct_words,
        )
        return Vectorizer(vocabulary, config)

    def _texts(self, keys: np.ndarray, orders: np.ndarray) -> pa.StringArray:
        """The text of each packed key ("w1 w2" for a bigram), in the keys' order."""
        words = self._words
        texts = pa.nulls(len(keys), pa.string())
        for order in range(1, self.config.ngram_max + 1):
            selected = orders == order
            if not selected.any():
                continue
            order_keys = keys[selected]
            parts = [words.take(arrow_array(part)) for part in unpack_keys(order_keys, order)]
            joined = parts[0] if order == 1 else pc.binary_join_element_wise(*parts, " ")
            texts = pc.replace_with_mask(texts, arrow_array(selected), joined)
        return texts


def _document_counts(keys: np.ndarray, documents: np.ndarray, unique: np.ndarray) -> np.ndarray:
    """In how many reviews each of ``unique`` (sorted) occurs."""
    if len(keys) == 0:
        return np.zeros(0, np.int64)
    by_pair = np.lexsort((keys, documents))
    sorted_keys, sorted_documents = keys[by_pair], documents[by_pair]
    first = np.ones(len(keys), bool)
    first[1:] = (sorted_keys[1:] != sorted_keys[:-1]) | (
        sorted_documents[1:] != sorted_documents[:-1]
    )
    distinct_keys = sorted_keys[first]
    return np.bincount(np.searchsorted(unique, distinct_keys), minlength=len(unique))


def fit_vectorizer(
    texts: Iterable[str | None], config: VectorizerConfig, batch_size: int = BATCH_TEXTS
) -> Vectorizer:
    """Fit a vectorizer on training texts, streaming them in batches.

    Args:
        texts: Training reviews only (never test or unlabeled text); ``None`` skipped.
        config: The settings.
        batch_size: Reviews tokenized at a time (bounds memory).

    Returns:
        The fitted vectorizer.
    """
    counter = VocabularyCounter(config)
    for batch in text_batches(texts, batch_size):
        counter.add_texts(batch)
    return counter.build()

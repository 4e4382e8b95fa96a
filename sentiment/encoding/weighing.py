"""Weighing reviews' bags: a linear model's score straight from text, no id array.

:class:`BagWeighing` gives :class:`sentiment.encoding.vectorizer.Vectorizer` its weighing
methods: :meth:`~BagWeighing.weigh_bags` over token lists and
:meth:`~BagWeighing.weigh_texts` in one compiled pass over the reviews' bytes
(``kernels.score_reviews``), both with an optional second weight per id (a prior, summed
over the same ids for short reviews). The sums equal what the vectorizer's bag encoding
would give a linear model, so the compiled scorer of linear bundles
(:mod:`sentiment.modeling.linear`) needs neither the ``(n, max_length)`` array nor Keras.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sentiment.core.arrays import (
    arrow_array,
    list_lengths,
    numpy_values,
    string_array,
    string_buffers,
)
from sentiment.encoding import kernels
from sentiment.encoding.encoded import WeightedBags
from sentiment.encoding.ngrams import WORD_BITS
from sentiment.encoding.text import token_text
from sentiment.encoding.tokens import has_text, string_column

if TYPE_CHECKING:
    from sentiment.encoding.config import VectorizerConfig


class BagWeighing:
    """The weighing methods of a vectorizer; the vectorizer provides its settings, word
    lookup, negation tables and compiled tables (the attributes and helpers below)."""

    config: VectorizerConfig
    _words: pa.StringArray
    _unigram_ids: np.ndarray
    _negated: np.ndarray
    _roles: np.ndarray
    _negate: Callable[..., tuple[np.ndarray, np.ndarray]]
    _bag_tables: Callable[..., Any]
    _compact_tables: Callable[..., Any]
    _word_table: Callable[..., Any]
    token_lists: Callable[..., pa.ListArray]

    def weigh_bags(
        self,
        lists: pa.ListArray,
        weights: np.ndarray,
        top: int = 0,
        prior: np.ndarray | None = None,
        prior_tokens: tuple[int, int] = (0, 0),
    ) -> WeightedBags:
        """Sum per-id weights over each review's bag, as :meth:`encode_token_lists` would
        encode it (the same distinct ids, cut the same way), in one compiled pass.

        A model that is a linear function of its bag scores a review from this sum
        alone: no ``(n, max_length)`` id array is built.

        Args:
            lists: Tokenized reviews (from :meth:`token_lists`).
            weights: One weight per id, ``num_words`` of them; ``weights[0]`` is added
                once per padding slot.
            top: How many largest positive and most negative weights per review to
                report with their ids (0: none).
            prior: A second weight per id (a prior), summed over the same ids for
                reviews of fewer than ``prior_tokens[1]`` tokens (``bags.prior_sums``):
                ``(num_words, 2)``, each id's weight (``weights``) and its prior side by
                side (:meth:`paired_weights`).
            prior_tokens: ``(full, none)``: a review of up to ``full`` tokens gets its
                prior whole in its top weights (each id's weight plus its prior), one of
                ``none`` or more none of it, linear between; its sums leave it apart.

        Returns:
            The sums, counts and top weights.

        Raises:
            ValueError: If the vectorizer does not encode bags or ``weights`` has the
                wrong size.
        """
        config = self.config
        weights = self._bag_weights(weights)
        paired = np.zeros((0, 2), np.float32) if prior is None else prior
        values = lists.flatten()
        word_index = (numpy_values(pc.index_in(values, value_set=self._words), fill=-1) + 1).astype(
            np.int64
        )
        word_index, lengths = self._negate(word_index, list_lengths(lists))
        bigrams, trigrams = self._bag_tables()
        count = len(lengths)
        top_ids = np.empty((count, 2 * top), np.int32)
        top_weights = np.empty((count, 2 * top), np.float32)
        sums, oov_counts, prior_sums = kernels.weighted_bags(
            word_index,
            lengths,
            self._unigram_ids,
            bigrams,
            trigrams,
            WORD_BITS,
            config.num_words,
            config.max_length,
            config.truncating == "pre",
            weights,
            top,
            top_ids,
            top_weights,
            paired,
            prior_tokens[1],
            prior_tokens[0],
        )
        return WeightedBags(
            sums, lengths, oov_counts, top_ids, top_weights, None if prior is None else prior_sums
        )

    def paired_weights(self, weights: np.ndarray, prior: np.ndarray) -> np.ndarray:
        """``weights`` and ``prior`` side by side, as :meth:`weigh_texts` takes a prior.

        Raises:
            ValueError: If either does not hold one weight per id of a bag vectorizer.
        """
        return np.ascontiguousarray(
            np.stack([self._bag_weights(weights), self._bag_weights(prior)], axis=1)
        )

    def _bag_weights(self, weights: np.ndarray) -> np.ndarray:
        """``weights`` as float32, checked against a bag vectorizer's ids.

        Raises:
            ValueError: If the vectorizer does not encode bags or ``weights`` has the
                wrong size.
        """
        if not self.config.bag:
            raise ValueError("Weighted bags need a vectorizer that encodes bags (bag=True).")
        weights = np.asarray(weights, np.float32)
        if weights.shape != (self.config.num_words,):
            raise ValueError(
                f"{weights.shape} weights for a vectorizer of {self.config.num_words} ids."
            )
        return weights

    def weigh_texts(
        self,
        texts: pa.Array | pa.ChunkedArray,
        weights: np.ndarray,
        top: int = 0,
        every_row: bool = False,
        prior: np.ndarray | None = None,
        prior_tokens: tuple[int, int] = (0, 0),
    ) -> tuple[np.ndarray, WeightedBags]:
        """:meth:`weigh_bags` of raw reviews, straight from their bytes.

        One compiled pass per review (``kernels.score_reviews``) decides whether it holds
        text (as :func:`sentiment.encoding.tokens.has_text` does), tokenizes it (as
        :func:`token_lists` does), looks its words up and sums its bag's weights: no
        token lists, no word-index array. The few reviews the loop cannot standardize
        exactly go through :func:`sentiment.encoding.text.token_text` first, as in
        :func:`token_lists`. Sums, counts and top weights equal :meth:`weigh_bags`'s.

        Args:
            texts: An Arrow text column.
            weights: One weight per id (see :meth:`weigh_bags`).
            top: Largest positive and most negative weights per review to report.
            every_row: Weigh every review, nulls and blank ones too (as empty or
                whitespace-only texts); else only those with text.
            prior, prior_tokens: As :meth:`weigh_bags` takes them, summed in the same
                pass.

        Returns:
            ``(valid, bags)``: which reviews were weighed, and their bags (one per
            ``True`` of ``valid``, in order).

        Raises:
            ValueError: If the vectorizer does not encode bags or ``weights`` has the
                wrong size.
        """
        weights = self._bag_weights(weights)
        column = string_column(texts)
        count = len(column)
        if self._compact_tables()[1] is None:
            # Keys too wide for compact tables (a vocabulary of millions of words):
            # the same values through token lists.
            valid = np.ones(count, np.bool_) if every_row else has_text(column)
            selected = column if every_row else column.filter(arrow_array(valid))
            lists = self.token_lists(selected)
            return valid, self.weigh_bags(lists, weights, top, prior, prior_tokens)
        paired = np.zeros((0, 2), np.float32) if prior is None else prior
        present = (
            numpy_values(pc.is_valid(column)) if column.null_count else np.ones(count, np.bool_)
        )
        data, offsets = string_buffers(column)
        scored = self._score_reviews(
            data, offsets, present, False, every_row, weights, top, paired, prior_tokens
        )
        status, sums, token_counts, oov_counts, prior_sums, top_ids, top_weights = scored
        python = np.flatnonzero(status == kernels.NEEDS_PYTHON)
        if len(python):
            originals = column.take(arrow_array(python)).to_pylist()
            with_text = np.ones(len(python), np.bool_) if every_row else has_text(originals)
            status[python[~with_text]] = kernels.NO_TEXT
            rows = python[with_text]
            sentence_ends = self.config.sentence_scope
            cleaned = string_array(
                [
                    token_text(text, sentence_ends)
                    for text, keep in zip(originals, with_text, strict=True)
                    if keep
                ]
            )
            cleaned_data, cleaned_offsets = string_buffers(cleaned)
            results = self._score_reviews(
                cleaned_data,
                cleaned_offsets,
                np.ones(len(rows), np.bool_),
                True,
                True,
                weights,
                top,
                paired,
                prior_tokens,
            )
            for target, values in zip(scored, results, strict=True):
                target[rows] = values
        valid = status == kernels.SCORED
        bags = WeightedBags(
            sums[valid],
            token_counts[valid],
            oov_counts[valid],
            top_ids[valid],
            top_weights[valid],
            prior_sums[valid] if prior is not None else None,
        )
        return valid, bags

    def _score_reviews(
        self,
        data: np.ndarray,
        offsets: np.ndarray,
        present: np.ndarray,
        cleaned: bool,
        every_row: bool,
        weights: np.ndarray,
        top: int,
        prior: np.ndarray,
        prior_tokens: tuple[int, int],
    ) -> tuple[np.ndarray, ...]:
        config = self.config
        count = len(offsets) - 1
        top_ids = np.empty((count, 2 * top), np.int32)
        top_weights = np.empty((count, 2 * top), np.float32)
        word_table, word_data, word_offsets = self._word_table()
        word_bits, (bigrams, trigrams) = self._compact_tables()
        status, sums, token_counts, oov_counts, prior_sums = kernels.score_reviews(
            data,
            offsets,
            present,
            cleaned,
            every_row,
            kernels.CLASSES,
            kernels.LOWERED,
            kernels.SPACES,
            word_table,
            word_data,
            word_offsets,
            self._unigram_ids,
            bigrams,
            trigrams,
            word_bits,
            config.num_words,
            config.max_length,
            config.truncating == "pre",
            weights,
            top,
            top_ids,
            top_weights,
            self._negated,
            self._roles,
            config.negation_scope,
            config.sentence_scope,
            prior,
            prior_tokens[1],
            prior_tokens[0],
        )
        return status, sums, token_counts, oov_counts, prior_sums, top_ids, top_weights

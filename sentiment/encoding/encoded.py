"""What encoding returns: encoded rows, weighted bags and the counts kept about them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np


@dataclass(frozen=True)
class EncodingStats:
    """What an encode saw, for manifests and drift checks.

    Attributes:
        documents: Reviews encoded.
        empty_documents: Reviews with no token at all (null, empty or only punctuation):
            their rows are all padding.
        tokens: Word tokens before cutting (n-grams not counted).
        oov_tokens: Word tokens outside the vocabulary (id 1).
        truncated_documents: Reviews whose sequence was longer than ``max_length``.
    """

    documents: int = 0
    empty_documents: int = 0
    tokens: int = 0
    oov_tokens: int = 0
    truncated_documents: int = 0

    @property
    def oov_rate(self) -> float:
        """Share of word tokens that are out of vocabulary (0 when there are none)."""
        return self.oov_tokens / self.tokens if self.tokens else 0.0

    def __add__(self, other: EncodingStats) -> EncodingStats:
        return EncodingStats(
            *(getattr(self, field.name) + getattr(other, field.name) for field in fields(self))
        )

    def to_dict(self) -> dict[str, Any]:
        """The counts plus the OOV rate, JSON-serializable."""
        return {**asdict(self), "oov_rate": round(self.oov_rate, 6)}


@dataclass(frozen=True)
class EncodedBatch:
    """Encoded reviews with per-review counts, so any subset can be summarized.

    Attributes:
        ids: int32 ``(n, max_length)``.
        token_counts: Word tokens per review.
        oov_counts: Out-of-vocabulary word tokens per review.
        sequence_lengths: Ids per review before cutting and padding.
    """

    ids: np.ndarray
    token_counts: np.ndarray
    oov_counts: np.ndarray
    sequence_lengths: np.ndarray

    def stats(self, rows: np.ndarray | None = None) -> EncodingStats:
        """Counts over all reviews, or over ``rows`` (indices or a boolean mask)."""
        tokens, oov, lengths = self.token_counts, self.oov_counts, self.sequence_lengths
        if rows is not None:
            tokens, oov, lengths = tokens[rows], oov[rows], lengths[rows]
        return EncodingStats(
            documents=len(tokens),
            empty_documents=int(np.count_nonzero(tokens == 0)),
            tokens=int(tokens.sum()),
            oov_tokens=int(oov.sum()),
            truncated_documents=int(np.count_nonzero(lengths > self.ids.shape[1])),
        )


@dataclass(frozen=True)
class WeightedBags:
    """Per review, a weighted sum over the bag of ids it encodes to (no ids kept).

    Attributes:
        sums: float64 sum of the ids' weights (padding slots included).
        token_counts: Word tokens per review (before cutting).
        oov_counts: Out-of-vocabulary word tokens per review.
        top_ids: int32 ``(n, 2 * top)``: the ids of the ``top`` largest positive
            weights, largest first, then of the ``top`` most negative, most negative
            first; -1 where a review has fewer.
        top_weights: float32 ``(n, 2 * top)``: their weights.
        prior_sums: float64 sum of a second weight per id (a prior) over the same ids,
            for reviews of fewer tokens than asked (0 for the others); None where no
            prior was asked for.
    """

    sums: np.ndarray
    token_counts: np.ndarray
    oov_counts: np.ndarray
    top_ids: np.ndarray
    top_weights: np.ndarray
    prior_sums: np.ndarray | None = None

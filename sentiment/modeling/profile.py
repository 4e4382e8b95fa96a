"""Text and score profiles of a set of reviews: the cheap drift signal.

A :class:`TextProfile` holds running counts (rows, null texts, score and length
histograms, out-of-vocabulary tokens) that merge across batches and files. Training
profiles the reviews it was trained on with the bundle's own vectorizer and saves the
profile in the bundle (:data:`PROFILE_FILE`, covered by its checksums); scoring compares
each run's profile with it, so drift is judged against the data the model learned from
whatever home, registry or bucket the bundle is scored from.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sentiment.core.arrays import arrow_array
from sentiment.encoding.encoded import EncodingStats
from sentiment.encoding.tokens import has_text, string_column, token_counts

# The training data's profile inside a bundle.
PROFILE_FILE = "training_profile.json"
# Bump when the file's layout or meaning changes.
PROFILE_FORMAT = 1
# Why drift is not judged for a bundle saved before bundles carried their profile.
NO_PROFILE_REASON = (
    "The bundle carries no training-data profile (it was saved before bundles recorded "
    "one), so drift cannot be judged; retrain it with 'sentiment train' to judge drift."
)
# Raw reviews read at a time when profiling the training data.
_PROFILE_BATCH_ROWS = 8192


class TokenEncoder(Protocol):
    """What profiling needs from a vectorizer
    (:class:`~sentiment.encoding.vectorizer.Vectorizer`)."""

    def token_lists(self, texts: pa.StringArray) -> pa.ListArray: ...

    def encode_token_lists(self, lists: pa.ListArray) -> tuple[np.ndarray, EncodingStats]: ...


SCORE_BINS = 20
LENGTH_BIN_WIDTH = 10
LENGTH_BINS = 300  # 0-2,990 words in steps of 10, plus one bin for longer reviews


@dataclass(eq=False)
class TextProfile:
    """Running counts that describe a set of reviews and their scores.

    Drift is judged by comparing a dump's profile with the training data's: the share
    of word tokens the bundle's vocabulary does not know (OOV), and review length in
    words (the vectorizer's tokens, before truncation).
    """

    rows: int = 0
    null_text_rows: int = 0
    # Rows with text but no word the vocabulary knows: left unscored, counted apart.
    unknown_text_rows: int = 0
    positive_rows: int = 0
    # Rows labelled "uncertain" (score inside the abstain band); not counted positive.
    uncertain_rows: int = 0
    score_sum: float = 0.0
    word_tokens: int = 0
    oov_tokens: int = 0
    score_histogram: np.ndarray = field(
        default_factory=lambda: np.zeros(SCORE_BINS, dtype=np.int64)
    )
    length_histogram: np.ndarray = field(
        default_factory=lambda: np.zeros(LENGTH_BINS + 1, dtype=np.int64)
    )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TextProfile) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable counts

    @property
    def scored_rows(self) -> int:
        return self.rows - self.null_text_rows - self.unknown_text_rows

    @property
    def oov_rate(self) -> float | None:
        return self.oov_tokens / self.word_tokens if self.word_tokens else None

    @property
    def positive_share(self) -> float | None:
        return self.positive_rows / self.scored_rows if self.scored_rows else None

    @property
    def mean_score(self) -> float | None:
        return self.score_sum / self.scored_rows if self.scored_rows else None

    def length_quantile(self, quantile: float) -> float | None:
        """Approximate review length (words) at ``quantile``, to the bin's resolution."""
        total = int(self.length_histogram.sum())
        if total == 0:
            return None
        cumulative = np.cumsum(self.length_histogram)
        index = int(np.searchsorted(cumulative, quantile * total, side="left"))
        return float(min(index, LENGTH_BINS) * LENGTH_BIN_WIDTH)

    def add_texts(
        self, valid: np.ndarray, lengths: np.ndarray, tokens: int, oov_tokens: int
    ) -> None:
        """Count a batch's rows, null texts, lengths (valid rows) and word tokens."""
        self.rows += int(valid.size)
        self.null_text_rows += int(valid.size - np.count_nonzero(valid))
        bins = np.minimum(lengths[valid] // LENGTH_BIN_WIDTH, LENGTH_BINS)
        self.length_histogram += np.bincount(bins, minlength=LENGTH_BINS + 1)
        self.word_tokens += int(tokens)
        self.oov_tokens += int(oov_tokens)

    def add_scores(
        self,
        scores: np.ndarray,
        threshold: float,
        uncertain: tuple[float, float] | None = None,
    ) -> None:
        """Count the valid rows' scores (no NaN); those inside the ``uncertain`` band
        count as uncertain, not positive."""
        if scores.size == 0:
            return
        positive = scores >= threshold
        if uncertain is not None:
            band = (scores >= uncertain[0]) & (scores <= uncertain[1])
            self.uncertain_rows += int(np.count_nonzero(band))
            positive &= ~band
        self.positive_rows += int(np.count_nonzero(positive))
        self.score_sum += float(scores.sum(dtype=np.float64))
        bins = np.minimum((scores * SCORE_BINS).astype(np.int64), SCORE_BINS - 1)
        self.score_histogram += np.bincount(np.maximum(bins, 0), minlength=SCORE_BINS)

    def merge(self, other: TextProfile) -> None:
        """Add another profile's counts to this one."""
        self.rows += other.rows
        self.null_text_rows += other.null_text_rows
        self.unknown_text_rows += other.unknown_text_rows
        self.positive_rows += other.positive_rows
        self.uncertain_rows += other.uncertain_rows
        self.score_sum += other.score_sum
        self.word_tokens += other.word_tokens
        self.oov_tokens += other.oov_tokens
        self.score_histogram += other.score_histogram
        self.length_histogram += other.length_histogram

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable counts (histograms as lists)."""
        return {
            "rows": self.rows,
            "null_text_rows": self.null_text_rows,
            "unknown_text_rows": self.unknown_text_rows,
            "positive_rows": self.positive_rows,
            "uncertain_rows": self.uncertain_rows,
            "score_sum": self.score_sum,
            "word_tokens": self.word_tokens,
            "oov_tokens": self.oov_tokens,
            "score_histogram": self.score_histogram.tolist(),
            "length_histogram": self.length_histogram.tolist(),
        }

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> TextProfile:
        """Rebuild a profile written by :meth:`to_dict`."""
        return cls(
            rows=int(payload["rows"]),
            null_text_rows=int(payload["null_text_rows"]),
            # Profiles written before unknown-word rows were counted apart have none.
            unknown_text_rows=int(payload.get("unknown_text_rows", 0)),
            positive_rows=int(payload["positive_rows"]),
            uncertain_rows=int(payload.get("uncertain_rows", 0)),
            score_sum=float(payload["score_sum"]),
            word_tokens=int(payload["word_tokens"]),
            oov_tokens=int(payload["oov_tokens"]),
            score_histogram=np.asarray(payload["score_histogram"], dtype=np.int64),
            length_histogram=np.asarray(payload["length_histogram"], dtype=np.int64),
        )


def profile_texts(
    text_batches: Iterable[pa.Array | pa.ChunkedArray], encoder: TokenEncoder
) -> TextProfile:
    """Profile review texts (no scores) as scoring sees them: the same tokens, lengths
    in words before truncation, and out-of-vocabulary counts of ``encoder``.

    Args:
        text_batches: Text columns, batch by batch.
        encoder: The bundle's vectorizer.

    Returns:
        The texts' rows, null texts, length histogram and word/OOV token counts.
    """
    profile = TextProfile()
    for column in text_batches:
        valid = has_text(column)
        lengths = np.zeros(valid.size, dtype=np.int64)
        tokens = oov_tokens = 0
        if valid.any():
            lists = encoder.token_lists(string_column(column).filter(arrow_array(valid)))
            _, stats = encoder.encode_token_lists(lists)
            lengths[valid] = token_counts(lists)
            tokens, oov_tokens = stats.tokens, stats.oov_tokens
        profile.add_texts(valid, lengths, tokens, oov_tokens)
    return profile


def _text_batches(paths: Sequence[Path]) -> Iterator[pa.Array | pa.ChunkedArray]:
    for path in paths:
        parquet = pq.ParquetFile(path)
        for batch in parquet.iter_batches(batch_size=_PROFILE_BATCH_ROWS, columns=["text"]):
            yield batch.column("text")


def profile_training_data(paths: Sequence[Path], encoder: TokenEncoder) -> TextProfile:
    """Profile the ``text`` column of the raw files a model is trained on.

    Args:
        paths: The raw Parquet files, e.g. the IMDB training split and the labelled
            batches' training portions.
        encoder: The vectorizer the model is trained with.

    Returns:
        Their texts' profile.
    """
    return profile_texts(_text_batches(paths), encoder)

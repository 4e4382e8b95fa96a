"""Monitoring of a scoring run: text and score profiles, drift figures, the run summary.

A :class:`TextProfile` holds running counts (rows, null texts, score and length
histograms, out-of-vocabulary tokens) that merge across batches and files; comparing a
dump's profile with the training data's is the cheap drift signal the summary reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sentiment.scoring import FileResult, FileStatus

FAILED_FILE = "failed.jsonl"
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
    positive_rows: int = 0
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
        return self.rows - self.null_text_rows

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

    def add_scores(self, scores: np.ndarray, threshold: float) -> None:
        """Count the valid rows' scores (no NaN)."""
        if scores.size == 0:
            return
        self.positive_rows += int(np.count_nonzero(scores >= threshold))
        self.score_sum += float(scores.sum(dtype=np.float64))
        bins = np.minimum((scores * SCORE_BINS).astype(np.int64), SCORE_BINS - 1)
        self.score_histogram += np.bincount(np.maximum(bins, 0), minlength=SCORE_BINS)

    def merge(self, other: TextProfile) -> None:
        """Add another profile's counts to this one."""
        self.rows += other.rows
        self.null_text_rows += other.null_text_rows
        self.positive_rows += other.positive_rows
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
            "positive_rows": self.positive_rows,
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
            positive_rows=int(payload["positive_rows"]),
            score_sum=float(payload["score_sum"]),
            word_tokens=int(payload["word_tokens"]),
            oov_tokens=int(payload["oov_tokens"]),
            score_histogram=np.asarray(payload["score_histogram"], dtype=np.int64),
            length_histogram=np.asarray(payload["length_histogram"], dtype=np.int64),
        )


@dataclass(frozen=True)
class ScoringSummary:
    """Everything a run did, for the summary artifact and the flow's return value."""

    model_version: str
    threshold: float
    output_dir: str
    results: tuple[FileResult, ...]
    seconds: float
    reference: TextProfile | None = None

    def _count(self, status: FileStatus) -> int:
        return sum(1 for result in self.results if result.status == status)

    @property
    def files_scored(self) -> int:
        return self._count("scored")

    @property
    def files_skipped(self) -> int:
        return self._count("skipped")

    @property
    def files_failed(self) -> int:
        return self._count("failed")

    @property
    def rows_scored(self) -> int:
        return sum(result.rows for result in self.results if result.status == "scored")

    @property
    def scoring_seconds(self) -> float:
        return sum(result.seconds for result in self.results if result.status == "scored")

    @property
    def profile(self) -> TextProfile:
        """Counts over every output of this run (scored and skipped)."""
        total = TextProfile()
        for result in self.results:
            if result.profile is not None:
                total.merge(result.profile)
        return total

    def failure_message(self) -> str:
        """One sentence for a run with failures."""
        return (
            f"{self.files_failed} of {len(self.results)} input(s) failed to score "
            f"(see {Path(self.output_dir) / FAILED_FILE}); the other "
            f"{self.files_scored + self.files_skipped} were scored or already up to date."
        )

    def to_dict(self) -> dict[str, Any]:
        """A small JSON-serializable summary (no per-row data)."""
        profile = self.profile
        reference = self.reference
        rows_per_second = self.rows_scored / self.scoring_seconds if self.scoring_seconds else None
        return {
            "model_version": self.model_version,
            "threshold": self.threshold,
            "output_dir": self.output_dir,
            "files_scored": self.files_scored,
            "files_skipped": self.files_skipped,
            "files_failed": self.files_failed,
            "rows": profile.rows,
            "rows_scored": self.rows_scored,
            "null_text_rows": profile.null_text_rows,
            "positive_share": profile.positive_share,
            "rows_per_second": rows_per_second,
            "seconds": self.seconds,
            "oov_rate": profile.oov_rate,
            "training_oov_rate": reference.oov_rate if reference else None,
            "length_quantiles": _quantiles(profile),
            "training_length_quantiles": _quantiles(reference) if reference else None,
            "score_histogram": profile.score_histogram.tolist(),
            "outputs": [r.output_path for r in self.results if r.output_path is not None],
            "failed": [
                {"path": r.input_path, "reason": r.reason}
                for r in self.results
                if r.status == "failed"
            ],
        }

    def to_markdown(self) -> str:
        """The summary artifact: counts, histogram, drift against training, failures."""
        summary = self.to_dict()
        profile = self.profile
        lines = [
            f"# Scoring summary — model `{self.model_version}`",
            "",
            f"Output: `{self.output_dir}` · threshold {self.threshold:g}",
            "",
            "| files scored | skipped | failed | rows | null-text rows | reviews/s | "
            "predicted positive |",
            "|---:|---:|---:|---:|---:|---:|---:|",
            f"| {self.files_scored} | {self.files_skipped} | {self.files_failed} | "
            f"{profile.rows:,} | {profile.null_text_rows:,} | "
            f"{_number(summary['rows_per_second'], '{:,.0f}')} | "
            f"{_number(profile.positive_share, '{:.1%}')} |",
            "",
            "## Score histogram",
            "",
            "| score | reviews | |",
            "|---|---:|---|",
        ]
        peak = max(1, int(profile.score_histogram.max(initial=0)))
        for index, count in enumerate(profile.score_histogram.tolist()):
            low, high = index / SCORE_BINS, (index + 1) / SCORE_BINS
            bar = "█" * round(30 * count / peak)
            lines.append(f"| {low:.2f}–{high:.2f} | {count:,} | {bar} |")
        reference = self.reference
        training_oov = reference.oov_rate if reference else None
        lines += [
            "",
            "## Drift against the training data",
            "",
            "| measure | training | this run |",
            "|---|---:|---:|",
            f"| out-of-vocabulary rate | {_number(training_oov, '{:.2%}')} "
            f"| {_number(profile.oov_rate, '{:.2%}')} |",
        ]
        ours, theirs = _quantiles(profile), _quantiles(reference) if reference else {}
        for name in ("p10", "p50", "p90", "p99"):
            lines.append(
                f"| review length {name} (words) | {_number(theirs.get(name), '{:,.0f}')} "
                f"| {_number(ours.get(name), '{:,.0f}')} |"
            )
        if reference is None:
            lines += ["", "No training reference was available (raw training split missing)."]
        failures = [result for result in self.results if result.status == "failed"]
        if failures:
            lines += ["", "## Failed inputs", "", "| input | reason |", "|---|---|"]
            for result in failures:
                reason = (result.reason or "").replace("|", "\\|")
                lines.append(f"| `{result.input_path}` | {reason} |")
        return "\n".join(lines) + "\n"


def _quantiles(profile: TextProfile | None) -> dict[str, float | None]:
    if profile is None:
        return {}
    return {f"p{round(q * 100)}": profile.length_quantile(q) for q in (0.1, 0.5, 0.9, 0.99)}


def _number(value: float | None, template: str) -> str:
    return "—" if value is None else template.format(value)

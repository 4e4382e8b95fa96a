"""The summary of a scoring run: counts, throughput, drift figures and its Markdown."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sentiment.core import storage
from sentiment.modeling.profile import NO_PROFILE_REASON, SCORE_BINS, TextProfile
from sentiment.modeling.resolved_bundle import ResolvedBundle
from sentiment.scoring.outputs import write_failures
from sentiment.scoring.results import FAILED_FILE, FileResult, FileStatus


@dataclass(frozen=True)
class ScoringSummary:
    """Everything a run did, for the summary artifact and the flow's return value."""

    model_version: str
    threshold: float
    output_dir: str
    results: tuple[FileResult, ...]
    seconds: float
    reference: TextProfile | None = None
    failed_file: str | None = None
    bundle_directory: str | None = None
    # "registry" (the champion or --model) or "path" (an explicit --bundle).
    model_source: str = "registry"

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
        where = self.failed_file or str(
            storage.join(storage.location(self.output_dir), FAILED_FILE)
        )
        return (
            f"{self.files_failed} of {len(self.results)} input(s) failed to score "
            f"(see {where}); the other "
            f"{self.files_scored + self.files_skipped} were scored or already up to date."
        )

    def to_dict(self) -> dict[str, Any]:
        """A small JSON-serializable summary (no per-row data)."""
        profile = self.profile
        reference = self.reference
        rows_per_second = self.rows_scored / self.scoring_seconds if self.scoring_seconds else None
        return {
            "model_version": self.model_version,
            "model_source": self.model_source,
            "bundle_directory": self.bundle_directory,
            "threshold": self.threshold,
            "output_dir": self.output_dir,
            "files_scored": self.files_scored,
            "files_skipped": self.files_skipped,
            "files_failed": self.files_failed,
            "rows": profile.rows,
            "rows_scored": self.rows_scored,
            "null_text_rows": profile.null_text_rows,
            "unknown_text_rows": profile.unknown_text_rows,
            "positive_share": profile.positive_share,
            "uncertain_rows": profile.uncertain_rows,
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
            "failed_file": self.failed_file,
            "failure_message": self.failure_message() if self.files_failed else None,
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
            f"Bundle: `{self.bundle_directory}` · "
            + (
                "an explicit path (--bundle), not the registry's champion"
                if self.model_source == "path"
                else "from the home's registry"
            ),
            "",
            "| files scored | skipped | failed | rows | null-text rows | no known word | "
            "reviews/s | predicted positive | uncertain |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            f"| {self.files_scored} | {self.files_skipped} | {self.files_failed} | "
            f"{profile.rows:,} | {profile.null_text_rows:,} | {profile.unknown_text_rows:,} | "
            f"{_number(summary['rows_per_second'], '{:,.0f}')} | "
            f"{_number(profile.positive_share, '{:.1%}')} | {profile.uncertain_rows:,} |",
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
            lines += ["", NO_PROFILE_REASON]
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


def summarize_scoring(
    results: Sequence[FileResult],
    output_dir: Path,
    bundle: ResolvedBundle,
    threshold: float | None,
    seconds: float,
) -> ScoringSummary:
    """Summarize a run: write ``failed.jsonl`` and compare the outputs with training.

    The drift reference is the bundle's own: the profile of the reviews it was trained
    on, saved in the bundle by training (none for a bundle saved before).

    Args:
        results: Every input's outcome, failures included.
        output_dir: The run's output directory.
        bundle: The bundle that scored, as the run resolved it.
        threshold: The labelling threshold used; None: the bundle's own.
        seconds: The run's wall time.

    Returns:
        The summary, with the path of ``failed.jsonl`` when anything failed.
    """
    results = tuple(results)
    failed_path = write_failures(storage.location(output_dir), results)
    return ScoringSummary(
        model_version=bundle.version,
        threshold=bundle.threshold if threshold is None else threshold,
        output_dir=str(output_dir),
        results=results,
        seconds=seconds,
        reference=bundle.profile,
        failed_file=str(failed_path) if failed_path else None,
        bundle_directory=str(bundle.directory),
        model_source=bundle.source,
    )

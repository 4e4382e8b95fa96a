"""Deciding whether a scored batch drifted from the training data.

Pure: reads the figures a scoring summary already holds (its ``to_dict()``), so the
flows, the run report and the tests judge drift the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sentiment.modeling.profile import NO_PROFILE_REASON
from sentiment.scoring.config import DriftThresholds

DriftStatus = Literal["drift", "no drift", "not judged"]


@dataclass(frozen=True)
class DriftCheck:
    """One measure: its value, training's, the limit and whether it was exceeded."""

    measure: str
    batch: float | None
    training: float | None
    limit: str
    exceeded: bool


@dataclass(frozen=True)
class DriftReport:
    """The verdict over every measure, with one sentence saying why."""

    status: DriftStatus
    reason: str
    checks: tuple[DriftCheck, ...]

    @property
    def drifted(self) -> bool:
        return self.status == "drift"

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable verdict (what tasks return and events carry)."""
        return {
            "status": self.status,
            "reason": self.reason,
            "checks": [check.__dict__ for check in self.checks],
        }

    def to_markdown(self) -> str:
        """A table of the measures, for artifacts."""
        lines = [
            f"**Drift: {self.status}** — {self.reason}",
            "",
            "| measure | training | this batch | limit | exceeded |",
            "|---|---:|---:|---|---|",
        ]
        for check in self.checks:
            lines.append(
                f"| {check.measure} | {_figure(check.training)} | {_figure(check.batch)} "
                f"| {check.limit} | {'yes' if check.exceeded else 'no'} |"
            )
        return "\n".join(lines) + "\n"


def _figure(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def detect_drift(summary: Mapping[str, Any], thresholds: DriftThresholds) -> DriftReport:
    """Judge a scoring summary's figures against the training reference (the profile
    of the data the bundle was trained on, which the bundle carries).

    Args:
        summary: A :meth:`ScoringSummary.to_dict` payload (``rows_scored``,
            ``oov_rate``, ``training_oov_rate``, ``length_quantiles``,
            ``training_length_quantiles``, ``positive_share``).
        thresholds: The limits.

    Returns:
        ``not judged`` for a batch under ``minimum_rows`` or a bundle without a
        training profile; otherwise ``drift`` if any measure exceeds its limit.
    """
    rows = int(summary.get("rows") or 0) - int(summary.get("null_text_rows") or 0)
    if rows < thresholds.minimum_rows:
        return DriftReport(
            "not judged",
            f"{rows} scored row(s) is fewer than the {thresholds.minimum_rows} needed to judge.",
            (),
        )
    training_oov = summary.get("training_oov_rate")
    if training_oov is None:
        return DriftReport("not judged", NO_PROFILE_REASON, ())
    checks: list[DriftCheck] = []
    oov = summary.get("oov_rate")
    checks.append(
        DriftCheck(
            "out-of-vocabulary rate",
            oov,
            training_oov,
            f"rise ≤ {thresholds.maximum_oov_increase:g}",
            oov is not None and oov - training_oov > thresholds.maximum_oov_increase,
        )
    )
    median = (summary.get("length_quantiles") or {}).get("p50")
    training_median = (summary.get("training_length_quantiles") or {}).get("p50")
    ratio_exceeded = False
    if median is not None and training_median is not None:
        # Quantiles are bin floors (0 for reviews under 10 words): compare bin centres.
        low, high = sorted((median + 5.0, training_median + 5.0))
        ratio_exceeded = high / low > thresholds.maximum_length_ratio
    checks.append(
        DriftCheck(
            "median review length (words)",
            median,
            training_median,
            f"ratio ≤ {thresholds.maximum_length_ratio:g}",
            ratio_exceeded,
        )
    )
    share = summary.get("positive_share")
    checks.append(
        DriftCheck(
            "predicted positive share",
            share,
            thresholds.expected_positive_share,
            f"distance ≤ {thresholds.maximum_positive_share_shift:g}",
            share is not None
            and abs(share - thresholds.expected_positive_share)
            > thresholds.maximum_positive_share_shift,
        )
    )
    exceeded = [check.measure for check in checks if check.exceeded]
    if exceeded:
        return DriftReport(
            "drift", f"{', '.join(exceeded)} past the limit over {rows:,} rows.", tuple(checks)
        )
    return DriftReport(
        "no drift", f"Every measure within its limit over {rows:,} rows.", tuple(checks)
    )

"""The gate's rules, one verdict each: absolute floors, calibration, and the paired
comparisons with the champion (overall, per source slice, on the same data snapshot,
and by a configured margin). ``sentiment.release.gate`` decides which rules apply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from sentiment.release.config import GatePolicy
from sentiment.release.paired_test import (
    PairedComparison,
    binomial_half_upper_tail_mid_p,
    paired_comparison,
)

Outcome = Literal["pass", "fail", "not applicable"]

PASS: Outcome = "pass"
FAIL: Outcome = "fail"
NOT_APPLICABLE: Outcome = "not applicable"


@dataclass(frozen=True)
class Candidate:
    """One evaluated model as the gate sees it.

    Attributes:
        version: The bundle version.
        evaluation: The bundle's ``evaluation.json`` content.
        review_ids: Test review ids in file order (from ``test_predictions.parquet``).
        labels: Their labels.
        scores: The model's scores for them.
        sources: Each test review's source (``imdb`` or a labelled batch's), if recorded.
        settings: The training settings its bundle records (metadata ``model``), if any.
    """

    version: str
    evaluation: dict[str, Any]
    review_ids: list[str]
    labels: np.ndarray
    scores: np.ndarray
    sources: list[str] | None = None
    settings: dict[str, Any] | None = None

    @property
    def training_snapshot(self) -> str | None:
        """The data snapshot the model was trained on, when its evaluation recorded it."""
        snapshot = self.evaluation.get("training_snapshot")
        return snapshot if isinstance(snapshot, str) and snapshot else None

    @property
    def metrics(self) -> dict[str, Any]:
        return self.evaluation["metrics"]

    @property
    def threshold(self) -> float:
        return float(self.metrics.get("threshold", 0.5))

    def correct(self) -> np.ndarray:
        """One boolean per test review: did this model classify it right."""
        return (self.scores >= self.threshold).astype(np.int8) == self.labels


@dataclass(frozen=True)
class RuleVerdict:
    """The outcome of one gate rule.

    Attributes:
        rule: The rule's name, e.g. ``minimum_accuracy``.
        outcome: ``pass``, ``fail`` or ``not applicable``.
        observed: What was measured, in words.
        required: What the rule requires, in words.
        detail: One sentence explaining the outcome.
    """

    rule: str
    outcome: Outcome
    observed: str
    required: str
    detail: str


def floor_verdict(rule: str, label: str, value: float, floor: float) -> RuleVerdict:
    passed = value >= floor
    return RuleVerdict(
        rule=rule,
        outcome=PASS if passed else FAIL,
        observed=f"{value:.4f}",
        required=f">= {floor:.4f}",
        detail=(
            f"{label} {value:.4f} meets the floor {floor:.4f}"
            if passed
            else f"{label} {value:.4f} is below the floor {floor:.4f}"
        ),
    )


def ece_verdict(metrics: dict[str, Any], ceiling: float) -> RuleVerdict:
    value = metrics.get("ece")
    if not isinstance(value, int | float):
        # An evaluation written before ECE was reported: fail closed, say how to fix.
        return RuleVerdict(
            rule="maximum_ece",
            outcome=FAIL,
            observed="-",
            required=f"<= {ceiling:.4f}",
            detail="the evaluation reports no calibration error; re-evaluate the bundle",
        )
    passed = value <= ceiling
    return RuleVerdict(
        rule="maximum_ece",
        outcome=PASS if passed else FAIL,
        observed=f"{value:.4f}",
        required=f"<= {ceiling:.4f}",
        detail=(
            f"expected calibration error {value:.4f} is within the ceiling {ceiling:.4f}"
            if passed
            else f"expected calibration error {value:.4f} exceeds the ceiling {ceiling:.4f}"
        ),
    )


def not_applicable(rule: str, required: str, detail: str) -> RuleVerdict:
    return RuleVerdict(
        rule=rule, outcome=NOT_APPLICABLE, observed="-", required=required, detail=detail
    )


def non_regression_verdict(
    policy: GatePolicy, comparison: PairedComparison, champion_version: str
) -> RuleVerdict:
    worse = comparison.p_value_worse < policy.significance
    observed = (
        f"difference {comparison.accuracy_difference:+.4f}, "
        f"{comparison.champion_only_correct} vs {comparison.challenger_only_correct} "
        f"discordant, mid-p {comparison.p_value_worse:.4g}"
    )
    if worse:
        detail = (
            f"accuracy is significantly worse than champion {champion_version} "
            f"({comparison.accuracy_difference:+.4f}, McNemar mid-p "
            f"{comparison.p_value_worse:.4g} < {policy.significance})"
        )
    else:
        detail = (
            f"not significantly worse than champion {champion_version} "
            f"({comparison.accuracy_difference:+.4f}, McNemar mid-p "
            f"{comparison.p_value_worse:.4g} >= {policy.significance})"
        )
    return RuleVerdict(
        rule="non_regression",
        outcome=FAIL if worse else PASS,
        observed=observed,
        required=f"not worse at p < {policy.significance}",
        detail=detail,
    )


def slice_required(policy: GatePolicy) -> str:
    return (
        f"not worse at p < {policy.significance} on each slice of >= "
        f"{policy.minimum_slice_rows} rows"
    )


def slice_verdict(policy: GatePolicy, challenger: Candidate, champion: Candidate) -> RuleVerdict:
    required = slice_required(policy)
    if challenger.sources is None or champion.sources != challenger.sources:
        return not_applicable(
            "slice_non_regression", required, "the test predictions record no sources"
        )
    sources = np.asarray(challenger.sources, dtype=object)
    challenger_correct, champion_correct = challenger.correct(), champion.correct()
    checked, worse, small = [], [], []
    for source in dict.fromkeys(challenger.sources):
        mask = sources == source
        rows = int(mask.sum())
        if rows < policy.minimum_slice_rows:
            small.append(f"{source} ({rows} rows)")
            continue
        comparison = paired_comparison(challenger_correct[mask], champion_correct[mask])
        note = (
            f"{source}: {comparison.accuracy_difference:+.4f}, mid-p "
            f"{comparison.p_value_worse:.4g}, {rows} rows"
        )
        checked.append(note)
        if comparison.p_value_worse < policy.significance:
            worse.append(note)
    too_small = f"; not gated (too few rows): {', '.join(small)}" if small else ""
    if worse:
        return RuleVerdict(
            rule="slice_non_regression",
            outcome=FAIL,
            observed="; ".join(checked),
            required=required,
            detail=f"significantly worse than champion {champion.version} on slice "
            f"{'; '.join(worse)}{too_small}",
        )
    return RuleVerdict(
        rule="slice_non_regression",
        outcome=PASS if checked else NOT_APPLICABLE,
        observed="; ".join(checked) or "-",
        required=required,
        detail=(
            f"not significantly worse on any slice ({'; '.join(checked)}){too_small}"
            if checked
            else f"no slice has {policy.minimum_slice_rows} test rows{too_small}"
        ),
    )


# Recorded with the settings but not part of the recipe.
_DESCRIPTIVE_SETTINGS = frozenset({"description"})


def changed_settings(ours: dict[str, Any] | None, theirs: dict[str, Any] | None) -> str:
    """The training settings two bundles differ in, as ``name: ours vs theirs``; empty
    where they agree or either bundle records none."""
    if ours is None or theirs is None:
        return ""
    names = sorted((ours.keys() | theirs.keys()) - _DESCRIPTIVE_SETTINGS)
    return "; ".join(
        f"{name}: {ours.get(name, 'unset')} vs {theirs.get(name, 'unset')}"
        for name in names
        if ours.get(name) != theirs.get(name)
    )


def same_snapshot_required(policy: GatePolicy) -> str:
    return f"significantly better at p < {policy.significance} when trained on the same data"


def same_snapshot_verdict(
    policy: GatePolicy,
    challenger: Candidate,
    champion: Candidate,
    comparison: PairedComparison,
) -> RuleVerdict:
    required = same_snapshot_required(policy)
    ours, theirs = challenger.training_snapshot, champion.training_snapshot
    if ours is None or theirs is None:
        return not_applicable(
            "same_snapshot_improvement", required, "a training snapshot is not recorded"
        )
    if ours != theirs:
        return not_applicable(
            "same_snapshot_improvement",
            required,
            f"trained on snapshot {ours}, newer data than champion {champion.version}'s {theirs}",
        )
    changed = changed_settings(challenger.settings, champion.settings)
    if changed:
        # The rule stops churn: the same recipe retrained on the same data. A new recipe
        # (a new default, say) is judged by the non-regression rules alone.
        return not_applicable(
            "same_snapshot_improvement",
            required,
            f"trained with other settings than champion {champion.version} ({changed})",
        )
    discordant = comparison.champion_only_correct + comparison.challenger_only_correct
    p_better = (
        1.0
        if discordant == 0
        else binomial_half_upper_tail_mid_p(comparison.challenger_only_correct, discordant)
    )
    better = p_better < policy.significance
    observed = f"difference {comparison.accuracy_difference:+.4f}, mid-p better {p_better:.4g}"
    return RuleVerdict(
        rule="same_snapshot_improvement",
        outcome=PASS if better else FAIL,
        observed=observed,
        required=required,
        detail=(
            f"trained on champion {champion.version}'s snapshot {ours} and significantly "
            f"better ({comparison.accuracy_difference:+.4f}, McNemar mid-p {p_better:.4g})"
            if better
            else f"trained on champion {champion.version}'s snapshot {ours} but not "
            f"significantly better ({comparison.accuracy_difference:+.4f}, McNemar mid-p "
            f"{p_better:.4g} >= {policy.significance})"
        ),
    )


def improvement_verdict(
    policy: GatePolicy, comparison: PairedComparison, champion_version: str
) -> RuleVerdict:
    required = f"accuracy gain >= {policy.minimum_improvement:.4f}"
    if policy.minimum_improvement <= 0:
        return not_applicable(
            "minimum_improvement", "no margin configured", "no improvement margin is configured"
        )
    # A small tolerance, so a gain exactly equal to the margin passes despite
    # floating-point rounding of counts divided by the row count.
    difference = comparison.accuracy_difference
    passed = difference >= policy.minimum_improvement - 1e-12
    return RuleVerdict(
        rule="minimum_improvement",
        outcome=PASS if passed else FAIL,
        observed=f"{difference:+.4f}",
        required=required,
        detail=(
            f"accuracy gain {difference:+.4f} over champion {champion_version} meets the "
            f"margin {policy.minimum_improvement:.4f}"
            if passed
            else f"accuracy gain {difference:+.4f} over champion {champion_version} is "
            f"below the margin {policy.minimum_improvement:.4f}"
        ),
    )

"""The promotion gate: may a newly evaluated model replace the champion?

A challenger is promoted only if it clears the absolute floors and is not significantly
worse than the champion on the very same test reviews (a one-sided exact McNemar mid-p
test on per-review correctness), overall and on every source's slice with enough rows,
and, when a margin is configured, beats the champion's accuracy by that margin. A
challenger trained on the very data snapshot the champion was trained on must moreover
be significantly better: the same data gives no other reason to replace a champion.
Every rule's verdict is kept so the decision can be explained.

The gate fails closed: a champion whose evaluation cannot be read, or that was evaluated
on different test rows, means the challenger is rejected with that reason, never waved
through.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
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
    """

    version: str
    evaluation: dict[str, Any]
    review_ids: list[str]
    labels: np.ndarray
    scores: np.ndarray
    sources: list[str] | None = None

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


@dataclass(frozen=True)
class GateDecision:
    """The gate's decision with every rule's verdict.

    Attributes:
        challenger: The evaluated version.
        champion: The champion it was compared with, if any.
        promoted: Whether the challenger becomes the champion.
        verdicts: Each rule's outcome, in evaluation order.
        comparison: The paired comparison, when one was made.
        summary: The decision in one sentence.
        policy: The thresholds applied.
    """

    challenger: str
    champion: str | None
    promoted: bool
    verdicts: tuple[RuleVerdict, ...]
    comparison: PairedComparison | None
    summary: str
    policy: GatePolicy = field(default_factory=GatePolicy)

    @property
    def decision(self) -> Literal["promoted", "rejected"]:
        return "promoted" if self.promoted else "rejected"

    @property
    def reasons(self) -> list[str]:
        """The detail of every failed rule."""
        return [verdict.detail for verdict in self.verdicts if verdict.outcome == FAIL]

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-serializable view (for the ledger and artifacts)."""
        return {
            "challenger": self.challenger,
            "champion": self.champion,
            "decision": self.decision,
            "promoted": self.promoted,
            "summary": self.summary,
            "reasons": self.reasons,
            "verdicts": [asdict(verdict) for verdict in self.verdicts],
            "comparison": asdict(self.comparison) if self.comparison else None,
            "policy": self.policy.as_dict(),
        }


# --- the decision --------------------------------------------------------------------


def _floor_verdict(rule: str, label: str, value: float, floor: float) -> RuleVerdict:
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


def _ece_verdict(metrics: dict[str, Any], ceiling: float) -> RuleVerdict:
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


def _not_applicable(rule: str, required: str, detail: str) -> RuleVerdict:
    return RuleVerdict(
        rule=rule, outcome=NOT_APPLICABLE, observed="-", required=required, detail=detail
    )


def _same_rows(challenger: Candidate, champion: Candidate) -> str | None:
    """Why the two candidates' predictions are not on identical rows, or None."""
    first = challenger.evaluation.get("test_data", {})
    second = champion.evaluation.get("test_data", {})
    if first.get("rows") != second.get("rows") or first.get("rows_sha256") != second.get(
        "rows_sha256"
    ):
        return (
            f"{challenger.version} was evaluated on {first.get('rows')} test rows "
            f"({str(first.get('rows_sha256'))[:19]}) but champion {champion.version} on "
            f"{second.get('rows')} ({str(second.get('rows_sha256'))[:19]})"
        )
    if challenger.review_ids != champion.review_ids or not np.array_equal(
        challenger.labels, champion.labels
    ):
        return (
            f"the stored test predictions of {challenger.version} and {champion.version} "
            "list different reviews or labels"
        )
    return None


def decide(
    policy: GatePolicy,
    challenger: Candidate,
    champion: Candidate | None = None,
    champion_version: str | None = None,
    champion_problem: str | None = None,
) -> GateDecision:
    """Apply the gate to a challenger.

    Args:
        policy: The thresholds.
        challenger: The newly evaluated model.
        champion: The current champion, loaded, or None.
        champion_version: The champion's version; defaults to ``champion.version``.
            Give it with ``champion_problem`` when the champion could not be loaded.
        champion_problem: Why the champion could not be loaded (bundle missing,
            evaluation unreadable); the gate then fails closed.

    Returns:
        The decision with every rule's verdict.
    """
    champion_version = champion.version if champion else champion_version
    metrics = challenger.metrics
    verdicts: list[RuleVerdict] = [
        _floor_verdict(
            "minimum_accuracy", "accuracy", float(metrics["accuracy"]), policy.minimum_accuracy
        ),
        _floor_verdict(
            "minimum_roc_auc", "ROC AUC", float(metrics["roc_auc"]), policy.minimum_roc_auc
        ),
    ]
    if policy.maximum_ece is not None:
        verdicts.append(_ece_verdict(metrics, policy.maximum_ece))
    comparison: PairedComparison | None = None
    margin_required = (
        f"accuracy gain >= {policy.minimum_improvement:.4f}"
        if policy.minimum_improvement > 0
        else "no margin configured"
    )
    # The rules that compare with a champion, and what each requires.
    comparison_rules = (
        ("champion_available", "readable champion"),
        ("same_test_data", "identical test rows"),
        ("non_regression", f"not worse at p < {policy.significance}"),
        ("slice_non_regression", _slice_required(policy)),
        ("same_snapshot_improvement", _same_snapshot_required(policy)),
        ("minimum_improvement", margin_required),
    )
    if champion_version is None:
        context = "first model: floors only"
        for rule, required in comparison_rules:
            verdicts.append(_not_applicable(rule, required, "there is no champion yet"))
    elif champion_version == challenger.version:
        context = "it is the current champion"
        for rule, required in comparison_rules:
            verdicts.append(
                _not_applicable(rule, required, f"{challenger.version} is the current champion")
            )
    elif champion is None or champion_problem:
        context = f"champion {champion_version} cannot be read"
        verdicts.append(
            RuleVerdict(
                rule="champion_available",
                outcome=FAIL,
                observed="unreadable",
                required="readable champion",
                detail=(
                    f"champion {champion_version} cannot be read "
                    f"({champion_problem or 'not loaded'}), so the gate fails closed; "
                    "re-evaluate it, roll back, or promote with --force"
                ),
            )
        )
        for rule, required in comparison_rules[1:]:
            verdicts.append(_not_applicable(rule, required, "no readable champion to compare"))
    else:
        context = f"compared with champion {champion_version}"
        verdicts.append(
            RuleVerdict(
                rule="champion_available",
                outcome=PASS,
                observed="readable",
                required="readable champion",
                detail=f"champion {champion_version} and its test predictions are readable",
            )
        )
        mismatch = _same_rows(challenger, champion)
        if mismatch:
            verdicts.append(
                RuleVerdict(
                    rule="same_test_data",
                    outcome=FAIL,
                    observed="different rows",
                    required="identical test rows",
                    detail=(
                        f"refusing to compare: {mismatch}; re-evaluate the champion with "
                        f"`sentiment evaluate {champion_version}` first"
                    ),
                )
            )
            for rule, required in comparison_rules[2:]:
                verdicts.append(_not_applicable(rule, required, "test data differ"))
        else:
            verdicts.append(
                RuleVerdict(
                    rule="same_test_data",
                    outcome=PASS,
                    observed=f"{len(challenger.review_ids)} rows",
                    required="identical test rows",
                    detail="both models were evaluated on the same test rows",
                )
            )
            comparison = paired_comparison(challenger.correct(), champion.correct())
            verdicts.append(_non_regression_verdict(policy, comparison, champion_version))
            verdicts.append(_slice_verdict(policy, challenger, champion))
            verdicts.append(_same_snapshot_verdict(policy, challenger, champion, comparison))
            verdicts.append(_improvement_verdict(policy, comparison, champion_version))
    promoted = all(verdict.outcome != FAIL for verdict in verdicts)
    return GateDecision(
        challenger=challenger.version,
        champion=champion_version,
        promoted=promoted,
        verdicts=tuple(verdicts),
        comparison=comparison,
        summary=_summary(challenger.version, promoted, verdicts, context),
        policy=policy,
    )


def _non_regression_verdict(
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


def _slice_required(policy: GatePolicy) -> str:
    return (
        f"not worse at p < {policy.significance} on each slice of >= "
        f"{policy.minimum_slice_rows} rows"
    )


def _slice_verdict(policy: GatePolicy, challenger: Candidate, champion: Candidate) -> RuleVerdict:
    required = _slice_required(policy)
    if challenger.sources is None or champion.sources != challenger.sources:
        return _not_applicable(
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


def _same_snapshot_required(policy: GatePolicy) -> str:
    return f"significantly better at p < {policy.significance} when trained on the same data"


def _same_snapshot_verdict(
    policy: GatePolicy,
    challenger: Candidate,
    champion: Candidate,
    comparison: PairedComparison,
) -> RuleVerdict:
    required = _same_snapshot_required(policy)
    ours, theirs = challenger.training_snapshot, champion.training_snapshot
    if ours is None or theirs is None:
        return _not_applicable(
            "same_snapshot_improvement", required, "a training snapshot is not recorded"
        )
    if ours != theirs:
        return _not_applicable(
            "same_snapshot_improvement",
            required,
            f"trained on snapshot {ours}, newer data than champion {champion.version}'s {theirs}",
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


def _improvement_verdict(
    policy: GatePolicy, comparison: PairedComparison, champion_version: str
) -> RuleVerdict:
    required = f"accuracy gain >= {policy.minimum_improvement:.4f}"
    if policy.minimum_improvement <= 0:
        return _not_applicable(
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


def _summary(version: str, promoted: bool, verdicts: list[RuleVerdict], context: str) -> str:
    if promoted:
        return f"Promoted {version}: it passes every gate rule ({context})."
    failures = "; ".join(verdict.detail for verdict in verdicts if verdict.outcome == FAIL)
    return f"Rejected {version}: {failures}."

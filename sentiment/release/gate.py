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
from sentiment.release.gate_rules import (
    FAIL,
    PASS,
    Candidate,
    RuleVerdict,
    ece_verdict,
    floor_verdict,
    improvement_verdict,
    non_regression_verdict,
    not_applicable,
    same_snapshot_required,
    same_snapshot_verdict,
    slice_required,
    slice_verdict,
)
from sentiment.release.paired_test import PairedComparison, paired_comparison


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

    def event_payload(self) -> dict[str, Any]:
        """What an event about this decision carries: the summary, reasons, champion and
        each rule's observed value against what it required."""
        return {
            "summary": self.summary,
            "reasons": self.reasons,
            "champion": self.champion,
            "rules": [
                {
                    "rule": verdict.rule,
                    "outcome": verdict.outcome,
                    "observed": verdict.observed,
                    "required": verdict.required,
                }
                for verdict in self.verdicts
            ],
        }


# --- the decision --------------------------------------------------------------------


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
        floor_verdict(
            "minimum_accuracy", "accuracy", float(metrics["accuracy"]), policy.minimum_accuracy
        ),
        floor_verdict(
            "minimum_roc_auc", "ROC AUC", float(metrics["roc_auc"]), policy.minimum_roc_auc
        ),
    ]
    if policy.maximum_ece is not None:
        verdicts.append(ece_verdict(metrics, policy.maximum_ece))
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
        ("slice_non_regression", slice_required(policy)),
        ("same_snapshot_improvement", same_snapshot_required(policy)),
        ("minimum_improvement", margin_required),
    )
    if champion_version is None:
        context = "first model: floors only"
        for rule, required in comparison_rules:
            verdicts.append(not_applicable(rule, required, "there is no champion yet"))
    elif champion_version == challenger.version:
        context = "it is the current champion"
        for rule, required in comparison_rules:
            verdicts.append(
                not_applicable(rule, required, f"{challenger.version} is the current champion")
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
            verdicts.append(not_applicable(rule, required, "no readable champion to compare"))
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
                verdicts.append(not_applicable(rule, required, "test data differ"))
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
            verdicts.append(non_regression_verdict(policy, comparison, champion_version))
            verdicts.append(slice_verdict(policy, challenger, champion))
            verdicts.append(same_snapshot_verdict(policy, challenger, champion, comparison))
            verdicts.append(improvement_verdict(policy, comparison, champion_version))
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


def _summary(version: str, promoted: bool, verdicts: list[RuleVerdict], context: str) -> str:
    if promoted:
        return f"Promoted {version}: it passes every gate rule ({context})."
    failures = "; ".join(verdict.detail for verdict in verdicts if verdict.outcome == FAIL)
    return f"Rejected {version}: {failures}."

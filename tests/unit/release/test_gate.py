"""Gate decisions over a table of cases."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from sentiment.core.errors import ConfigError
from sentiment.release.config import GatePolicy
from sentiment.release.gate import decide
from sentiment.release.gate_rules import FAIL, NOT_APPLICABLE, PASS, Candidate

ROWS = 2000
LABELS = (np.arange(ROWS) % 2).astype(np.int8)
REVIEW_IDS = [f"test/{index}" for index in range(ROWS)]


def candidate(
    version: str,
    correct: np.ndarray,
    roc_auc: float = 0.95,
    rows_sha256: str = "sha256:same",
) -> Candidate:
    """A candidate whose per-review correctness is ``correct``."""
    scores = np.where(correct, LABELS, 1 - LABELS).astype(np.float64) * 0.8 + 0.1
    evaluation = {
        "metrics": {"accuracy": float(correct.mean()), "roc_auc": roc_auc, "threshold": 0.5},
        "test_data": {"rows": ROWS, "rows_sha256": rows_sha256},
    }
    return Candidate(version, evaluation, REVIEW_IDS, LABELS, scores)


def correctness(wrong: range | list[int]) -> np.ndarray:
    correct = np.ones(ROWS, dtype=bool)
    correct[list(wrong)] = False
    return correct


# The champion gets reviews 0..199 wrong: accuracy 0.90.
CHAMPION = candidate("champion", correctness(range(200)))


@dataclass(frozen=True)
class Case:
    name: str
    challenger: Candidate
    champion: Candidate | None
    promoted: bool
    failed_rules: tuple[str, ...]
    policy: GatePolicy = field(default_factory=GatePolicy)
    champion_problem: str | None = None


CASES = [
    # Right on 20 of the champion's errors, wrong on nothing new: accuracy 0.91.
    Case("better", candidate("c", correctness(range(20, 200))), CHAMPION, True, ()),
    Case("equal", candidate("c", correctness(range(200))), CHAMPION, True, ()),
    # 12 reviews lost, 8 gained: 0.898, mid-p about 0.19.
    Case(
        "slightly worse, not significant",
        candidate("c", correctness([*range(8, 200), *range(1000, 1012)])),
        CHAMPION,
        True,
        (),
    ),
    # 40 lost, 10 gained: 0.885, still above the floor but clearly worse.
    Case(
        "significantly worse",
        candidate("c", correctness([*range(10, 200), *range(1000, 1040)])),
        CHAMPION,
        False,
        ("non_regression",),
    ),
    Case(
        "below the accuracy floor",
        candidate("c", correctness(range(300))),
        None,
        False,
        ("minimum_accuracy",),
    ),
    Case(
        "below the ROC AUC floor",
        candidate("c", correctness(range(100)), roc_auc=0.9),
        None,
        False,
        ("minimum_roc_auc",),
    ),
    Case("first model", candidate("c", correctness(range(200))), None, True, ()),
    Case(
        "different test data",
        candidate("c", correctness(range(20, 200)), rows_sha256="sha256:other"),
        CHAMPION,
        False,
        ("same_test_data",),
    ),
    Case(
        "better but below the improvement margin",
        candidate("c", correctness(range(4, 200))),
        CHAMPION,
        False,
        ("minimum_improvement",),
        GatePolicy(minimum_improvement=0.005),
    ),
    Case(
        "better by the improvement margin",
        candidate("c", correctness(range(10, 200))),
        CHAMPION,
        True,
        (),
        GatePolicy(minimum_improvement=0.005),
    ),
    Case(
        "significantly worse passes a looser significance",
        candidate("c", correctness([*range(10, 200), *range(1000, 1020)])),
        CHAMPION,
        True,
        (),
        GatePolicy(significance=0.001),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_gate_decisions(case: Case) -> None:
    decision = decide(case.policy, case.challenger, case.champion, None, case.champion_problem)
    failed = tuple(verdict.rule for verdict in decision.verdicts if verdict.outcome == FAIL)
    assert decision.promoted is case.promoted
    assert failed == case.failed_rules
    assert decision.summary.startswith("Promoted" if case.promoted else "Rejected")
    assert len(decision.reasons) == len(case.failed_rules)
    # Every rule is always reported, applicable or not.
    assert [verdict.rule for verdict in decision.verdicts] == [
        "minimum_accuracy",
        "minimum_roc_auc",
        "champion_available",
        "same_test_data",
        "non_regression",
        "slice_non_regression",
        "same_snapshot_improvement",
        "minimum_improvement",
    ]


def test_first_model_is_judged_on_floors_only() -> None:
    decision = decide(GatePolicy(), candidate("c", correctness(range(200))))
    outcomes = {verdict.rule: verdict.outcome for verdict in decision.verdicts}
    assert outcomes["minimum_accuracy"] == PASS
    assert outcomes["non_regression"] == NOT_APPLICABLE
    assert decision.champion is None
    assert "first model" in decision.summary


def test_unreadable_champion_fails_closed() -> None:
    decision = decide(
        GatePolicy(),
        candidate("c", correctness(range(20, 200))),
        None,
        champion_version="old",
        champion_problem="models/old/evaluation.json is corrupt",
    )
    assert not decision.promoted
    assert decision.champion == "old"
    assert "fails closed" in decision.summary
    assert "evaluation.json is corrupt" in decision.summary


def test_different_test_data_refuses_to_compare() -> None:
    decision = decide(
        GatePolicy(),
        candidate("c", correctness(range(20, 200)), rows_sha256="sha256:other"),
        CHAMPION,
    )
    assert decision.comparison is None
    assert "refusing to compare" in decision.summary
    assert "sentiment evaluate champion" in decision.summary


def test_reevaluated_champion_is_not_compared_with_itself() -> None:
    decision = decide(GatePolicy(), CHAMPION, CHAMPION)
    assert decision.promoted
    assert decision.comparison is None


def test_decision_records_the_rejection_metric_by_metric() -> None:
    decision = decide(GatePolicy(), candidate("c", correctness(range(300)), roc_auc=0.9))
    record = decision.as_dict()
    assert record["decision"] == "rejected"
    assert record["reasons"] == [
        "accuracy 0.8500 is below the floor 0.8750",
        "ROC AUC 0.9000 is below the floor 0.9300",
    ]
    assert record["policy"]["minimum_accuracy"] == 0.875


@pytest.mark.parametrize(
    "settings",
    [
        {"minimum_accuracy": 1.5},
        {"minimum_roc_auc": -0.1},
        {"significance": 0.0},
        {"significance": 1.0},
        {"minimum_improvement": -0.01},
    ],
)
def test_policy_rejects_out_of_range_settings(settings: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match=next(iter(settings))):
        GatePolicy(**settings)


@pytest.mark.parametrize(("ece", "outcome"), [(0.015, PASS), (0.03, FAIL), (None, FAIL)])
def test_maximum_ece_is_a_rule_only_when_set(ece: float | None, outcome: str) -> None:
    challenger = candidate("c", correctness(range(100)))
    if ece is not None:
        challenger.evaluation["metrics"]["ece"] = ece
    unset = decide(GatePolicy(), challenger)
    assert "maximum_ece" not in [verdict.rule for verdict in unset.verdicts]
    decision = decide(GatePolicy(maximum_ece=0.02), challenger)
    (verdict,) = [verdict for verdict in decision.verdicts if verdict.rule == "maximum_ece"]
    assert verdict.outcome == outcome
    assert decision.decision == ("promoted" if outcome == PASS else "rejected")
    with pytest.raises(ConfigError, match="maximum_ece"):
        GatePolicy(maximum_ece=1.5)


def _with(
    base: Candidate,
    *,
    snapshot: str | None = None,
    sources: list[str] | None = None,
    settings: dict[str, object] | None = None,
) -> Candidate:
    evaluation = {**base.evaluation, "training_snapshot": snapshot}
    return Candidate(
        base.version, evaluation, base.review_ids, base.labels, base.scores, sources, settings
    )


def test_a_challenger_on_the_champions_snapshot_must_be_significantly_better() -> None:
    champion = _with(CHAMPION, snapshot="snap-a")
    same = _with(candidate("same", correctness(range(200))), snapshot="snap-a")
    better = _with(candidate("better", correctness(range(100))), snapshot="snap-a")
    newer = _with(candidate("newer", correctness(range(200))), snapshot="snap-b")

    rejected = decide(GatePolicy(), same, champion)
    assert not rejected.promoted
    assert [v.rule for v in rejected.verdicts if v.outcome == FAIL] == ["same_snapshot_improvement"]
    assert "not significantly better" in rejected.summary
    assert decide(GatePolicy(), better, champion).promoted
    promoted = decide(GatePolicy(), newer, champion)
    assert promoted.promoted
    (verdict,) = [v for v in promoted.verdicts if v.rule == "same_snapshot_improvement"]
    assert verdict.outcome == NOT_APPLICABLE and "newer data" in verdict.detail


def test_a_new_recipe_on_the_champions_snapshot_is_judged_by_non_regression_alone() -> None:
    settings = {"name": "nbsvm", "description": "NBSVM", "seed": 42}
    champion = _with(CHAMPION, snapshot="snap-a", settings=settings)
    recipe = {**settings, "description": "NBSVM, reworded", "short_text_prior": 0.3}
    new_recipe = _with(
        candidate("new", correctness(range(200))), snapshot="snap-a", settings=recipe
    )
    retrained = _with(
        candidate("again", correctness(range(200))),
        snapshot="snap-a",
        settings={**settings, "description": "NBSVM, reworded"},
    )

    decision = decide(GatePolicy(), new_recipe, champion)
    assert decision.promoted
    (verdict,) = [v for v in decision.verdicts if v.rule == "same_snapshot_improvement"]
    assert verdict.outcome == NOT_APPLICABLE
    assert "other settings" in verdict.detail and "short_text_prior: 0.3 vs unset" in verdict.detail
    # A wording change alone is the same recipe: it must still be significantly better.
    assert not decide(GatePolicy(), retrained, champion).promoted


def test_a_challenger_significantly_worse_on_a_large_slice_is_rejected() -> None:
    # Rows 0..299 are the "critics" slice; the challenger loses 60 of them to the champion
    # and gains 60 elsewhere, so overall it is even.
    sources = ["critics" if index < 300 else "imdb" for index in range(ROWS)]
    champion = _with(candidate("champion", correctness(list(range(300, 360)))), sources=sources)
    challenger = _with(candidate("challenger", correctness(list(range(60)))), sources=sources)

    decision = decide(GatePolicy(minimum_slice_rows=200), challenger, champion)
    assert not decision.promoted
    assert [v.rule for v in decision.verdicts if v.outcome == FAIL] == ["slice_non_regression"]
    assert "slice critics" in decision.summary
    # Below the slice size the slice is reported, not gated.
    small = decide(GatePolicy(minimum_slice_rows=500), challenger, champion)
    assert small.promoted
    (verdict,) = [v for v in small.verdicts if v.rule == "slice_non_regression"]
    assert "critics (300 rows)" in verdict.detail


def _with_short_texts(candidate: Candidate, accuracy: float) -> Candidate:
    development = {"name": "dev", "rows": 10, "accuracy": accuracy, "data": {"rows_sha256": "x"}}
    evaluation = {**candidate.evaluation, "short_texts": development}
    return Candidate(candidate.version, evaluation, REVIEW_IDS, LABELS, candidate.scores)


def test_the_short_text_development_set_never_gates() -> None:
    challenger = candidate("c", correctness(range(20, 200)))
    worse = candidate("c", correctness([*range(10, 200), *range(1000, 1040)]))
    for case, champion in ((challenger, CHAMPION), (worse, CHAMPION), (challenger, None)):
        plain = decide(GatePolicy(), case, champion)
        # A challenger far worse (or far better) on the development set than the champion.
        for ours, theirs in ((0.1, 0.99), (0.99, 0.1)):
            reported = decide(
                GatePolicy(),
                _with_short_texts(case, ours),
                _with_short_texts(champion, theirs) if champion else None,
            )
            assert reported.promoted == plain.promoted
            assert reported.verdicts == plain.verdicts

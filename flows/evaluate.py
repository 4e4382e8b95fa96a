"""The ``evaluate`` flow: evaluate a bundle on the test split, gate it, record the decision.

The flow run's final state is named ``Promoted`` or ``Rejected``: a rejection is the
gate doing its job, not a crash, so both are Completed states.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow
from prefect.states import Completed, State

from sentiment.release.config import GatePolicy
from sentiment.release.registry import resolve_version
from tasks.evaluate import evaluate_bundle_task, gate_model_task

_DEFAULT_POLICY = GatePolicy()


@flow(name="evaluate")
def evaluate_flow(
    home: str = "data",
    version: str = "latest",
    minimum_accuracy: float = _DEFAULT_POLICY.minimum_accuracy,
    minimum_roc_auc: float = _DEFAULT_POLICY.minimum_roc_auc,
    significance: float = _DEFAULT_POLICY.significance,
    minimum_improvement: float = _DEFAULT_POLICY.minimum_improvement,
) -> State[dict[str, Any]]:
    """Evaluate ``models/<version>``, gate it against the champion and record the outcome.

    Args:
        home: The pipeline home.
        version: The bundle's version, or ``latest`` for the newest bundle.
        minimum_accuracy: Test-accuracy floor.
        minimum_roc_auc: Test ROC AUC floor.
        significance: Reject a challenger significantly worse than the champion at
            this level (one-sided McNemar mid-p on the same test reviews).
        minimum_improvement: If above 0, the accuracy gain over the champion required.

    Returns:
        A Completed state named ``Promoted`` or ``Rejected`` whose result is the
        decision (``decision``, ``summary``, ``reasons``, ``verdicts``, ``champion``...)
        plus the evaluation's headline metrics under ``evaluation``.
    """
    # Built first, so a bad setting fails before any work is done.
    policy = GatePolicy(
        minimum_accuracy=minimum_accuracy,
        minimum_roc_auc=minimum_roc_auc,
        significance=significance,
        minimum_improvement=minimum_improvement,
    )
    version = resolve_version(Path(home), version)
    evaluation = evaluate_bundle_task(home, version)
    decision = gate_model_task(home, version, policy)
    result = {**decision, "version": version, "evaluation": evaluation}
    return Completed(
        name="Promoted" if decision["promoted"] else "Rejected",
        message=decision["summary"],
        data=result,
    )

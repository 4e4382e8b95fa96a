"""The ``evaluate`` flow: evaluate a bundle on the test split, gate it, record the decision.

The run ends Completed whether the challenger is promoted or rejected: a rejection is
the gate doing its job, not a crash. The decision is in the state message and result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow
from prefect.states import Completed, State

from flows.errors import one_sentence_failures
from flows.run_names import mark_run
from sentiment.core.paths import resolve_home
from sentiment.release.champion import resolve_version
from sentiment.release.config import GatePolicy
from tasks.evaluate import evaluate_bundle_task, gate_model_task, publish_champion_task
from tasks.labels import reevaluate_champion_task


@flow(name="evaluate", flow_run_name="evaluate-{version}")
@one_sentence_failures
def evaluate_flow(
    home: str | None = None,
    version: str = "latest",
    gate: GatePolicy = GatePolicy(),  # noqa: B008 (frozen: one shared default is safe)
) -> State[dict[str, Any]]:
    """Evaluate ``models/<version>``, gate it against the champion and record the outcome.

    Args:
        home: The pipeline home (default: ``$SENTIMENT_HOME``, else the user's data
            directory).
        version: The bundle's version, or ``latest`` for the newest bundle.
        gate: The promotion gate's thresholds (see ``GatePolicy``).

    Returns:
        A Completed state whose message is the decision's summary and whose result is
        the decision (``decision``, ``promoted``, ``summary``, ``reasons``, ``verdicts``,
        ``champion``...) plus the evaluation's headline metrics under ``evaluation``.
    """
    home = str(resolve_home(home))
    version = resolve_version(Path(home), version)
    evaluation = evaluate_bundle_task(home, version)
    # Like with like: a champion tested on an older snapshot's rows is scored on these.
    reevaluated = reevaluate_champion_task(home, version)
    decision = gate_model_task(home, version, gate)
    publish_champion_task(home)
    mark_run(decision["decision"])
    return Completed(
        message=decision["summary"],
        data={
            **decision,
            "version": version,
            "evaluation": evaluation,
            "champion_reevaluated": reevaluated,
        },
    )

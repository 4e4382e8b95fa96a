"""The main job: ingest, take in labelled files, train, evaluate and gate, then score.

This is what ``make run`` and the scheduled ``retrain`` deployment execute. Each stage
is its own subflow, so the Prefect UI shows the chain as a table of contents.

A retrain holds the home's retrain lock from ingest to the gate's decision, so two at
once never both promote: the second waits, then finds the champion up to date. When the
champion was trained on the current data snapshot with the same settings and code, it
trains nothing (unless ``force``).
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, tags
from prefect.states import Completed, State

from flows.errors import one_sentence_failures
from flows.evaluate import evaluate_flow
from flows.ingest import ingest_flow
from flows.run_names import mark_run, retrain_run_name
from flows.score import score_flow
from flows.train import train_flow
from sentiment.core.locks import exclusive_lock
from sentiment.core.paths import HomeLayout
from sentiment.data.config import ArchiveConfig
from sentiment.modeling.config import TrainConfig
from sentiment.release.config import GatePolicy, RetrainConfig
from tasks.evaluate import champion_task
from tasks.labels import champion_up_to_date_task, take_in_labels_task
from tasks.queue import queue_outcome_task
from tasks.report import run_report_task
from tasks.trends import record_trends_task


@flow(name="retrain", flow_run_name=retrain_run_name)
@one_sentence_failures
def retrain_flow(
    home: str | None = None,
    archive: ArchiveConfig = ArchiveConfig(),  # noqa: B008 (frozen: one shared default is safe)
    training: TrainConfig = TrainConfig(),  # noqa: B008 (frozen: one shared default is safe)
    gate: GatePolicy = GatePolicy(),  # noqa: B008
    score_inputs: list[str] | None = None,
    score_output: str | None = None,
    retrain: RetrainConfig = RetrainConfig(),  # noqa: B008
) -> State[dict[str, Any]]:
    """Retrain ``training.model``, promote it only if it earns it, and score a review dump.

    Args:
        home: The pipeline home (default: ``$SENTIMENT_HOME``, else the user's data
            directory).
        archive: Where the IMDB archive comes from and its expected hash (see
            ``ArchiveConfig``).
        training: The training settings (see ``TrainConfig``).
        gate: The promotion gate's thresholds (see ``GatePolicy``).
        score_inputs: Review files to score (default: the 50,000 unlabeled IMDB reviews,
            standing in for a dump of new reviews).
        score_output: Where scored files go (default: ``<home>/scores``).
        retrain: Where labelled reviews come from and whether to train when the
            champion is up to date (see ``RetrainConfig``).

    Returns:
        A Completed state whose message is the gate's decision and whose result holds
        each stage's manifest.
    """
    layout = HomeLayout.of(home)
    home = str(layout.home)
    scoring = {
        "inputs": score_inputs or [str(layout.raw_split("unsup"))],
        "output": score_output or str(layout.scores_dir),
        "home": home,
    }
    with exclusive_lock(layout.retrain_lock, "another retrain of this home"):
        with tags("retrain", "ingest"):
            ingestion = ingest_flow(home=home, archive=archive)
        intake = take_in_labels_task(home, retrain.labelled_inbox or str(layout.labelled_inbox_dir))
        summary: dict[str, Any] = {
            "ingestion": ingestion,
            "intake": intake,
            "snapshot": (intake or {}).get("snapshot"),
        }
        up_to_date = None if retrain.force else champion_up_to_date_task(home, training)
        if up_to_date:
            # Nothing new to train on: the champion scores, with the lock still held.
            return _score_and_finish(
                home,
                summary | {"up_to_date": True, "decision": up_to_date, "promoted": False},
                "up-to-date",
                scoring,
            )
        summary |= _train_and_gate(home, training, gate)
        summary["queue_labels"] = queue_outcome_task(home, summary["gate"])
    # Outside the lock: scoring is keyed on the champion's version, and files already
    # scored by it are skipped.
    return _score_and_finish(home, summary, summary["gate"]["decision"], scoring)


def _score_and_finish(
    home: str, summary: dict[str, Any], outcome: str, scoring: dict[str, Any]
) -> State[dict[str, Any]]:
    """Score with the champion, report, and end the run named by its ``outcome``."""
    if champion_task(home) is None:
        get_run_logger().warning("No model has been promoted yet, so there is nothing to score.")
        return _finish(home, summary, outcome)
    with tags("retrain", "score"):
        summary["scoring"] = score_flow(**scoring)
    return _finish(home, summary, outcome)


def _finish(home: str, summary: dict[str, Any], outcome: str) -> State[dict[str, Any]]:
    run_report_task(summary)
    mark_run(outcome)
    # The champion's row; the unlabelled dump it scored is not the inbox's traffic.
    record_trends_task(home)
    return Completed(message=summary["decision"], data=summary)


def _train_and_gate(home: str, training: TrainConfig, gate: GatePolicy) -> dict[str, Any]:
    """Train a challenger and gate it: the retrain summary's training and gate entries."""
    with tags("retrain", "train", training.model):
        trained = train_flow(home=home, training=training)
    with tags("retrain", "evaluate", training.model):
        decision = evaluate_flow(home=home, version=trained["version"], gate=gate)
    return {
        "up_to_date": False,
        "training": trained,
        "decision": decision["summary"],
        "promoted": decision["promoted"],
        "gate": decision,
    }

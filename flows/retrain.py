"""The main job: ingest, take in labelled files, train, evaluate and gate, then score.

This is what ``make run`` and the scheduled ``retrain`` deployment execute. Each stage
is its own subflow, so the Prefect UI shows the chain as a table of contents.

A retrain holds the home's retrain lock from ingest to the gate's decision, so two at
once never both promote: the second waits, then finds the champion up to date. When the
champion was trained on the current data snapshot with the same settings and code, it
trains nothing (unless ``force``).
"""

from __future__ import annotations

import datetime
from typing import Any

from prefect import flow, get_run_logger, tags
from prefect.runtime import flow_run
from prefect.states import Completed, State

from flows.evaluate import evaluate_flow
from flows.ingest import ingest_flow
from flows.models import ModelName
from flows.score import score_flow
from flows.train import train_flow
from sentiment.core.locks import exclusive_lock
from sentiment.core.paths import HomeLayout
from sentiment.modeling.config import DEFAULT_MODEL, ThresholdRule, TrainConfig
from sentiment.release.config import GatePolicy
from tasks.evaluate import champion_task
from tasks.labels import champion_up_to_date_task, take_in_labels_task
from tasks.report import run_report_task


def retrain_run_name() -> str:
    """``retrain-nbsvm-2026-12-07``: the model and the (UTC) day it ran."""
    model = (flow_run.parameters or {}).get("model") or DEFAULT_MODEL
    return f"retrain-{model}-{datetime.datetime.now(datetime.UTC).date().isoformat()}"


@flow(name="retrain", flow_run_name=retrain_run_name)
def retrain_flow(
    home: str | None = None,
    source: str | None = None,
    sha256: str | None = None,
    model: ModelName = DEFAULT_MODEL,
    epochs: int | None = TrainConfig.epochs,
    training_seed: int = TrainConfig.seed,
    folds: int = TrainConfig.folds,
    decision_threshold: ThresholdRule = TrainConfig.decision_threshold,
    minimum_accuracy: float = GatePolicy.minimum_accuracy,
    minimum_roc_auc: float = GatePolicy.minimum_roc_auc,
    score_inputs: list[str] | None = None,
    score_output: str | None = None,
    labelled_inbox: str | None = None,
    force: bool = False,
    minimum_slice_rows: int = GatePolicy.minimum_slice_rows,
) -> State[dict[str, Any]]:
    """Retrain ``model``, promote it only if it earns it, and score a review dump.

    Args:
        home: The pipeline home (default: ``$SENTIMENT_HOME``, else the user's data
            directory).
        source: Where to fetch aclImdb_v1.tar.gz (default: ``$SENTIMENT_IMDB_SOURCE``,
            else the official address).
        sha256: Expected archive hash (default: any known IMDB archive).
        model: The zoo model to retrain.
        epochs: Maximum epochs (default: the model's own).
        training_seed: Seed of the initial weights and shuffling.
        folds: Fold models to average (nbsvm only; 1: one model on the train portion).
        decision_threshold: ``calibrated`` (0.5 of the calibrated score) or
            ``max-accuracy`` (the score that maximizes held-out accuracy).
        minimum_accuracy: The gate's test-accuracy floor.
        minimum_roc_auc: The gate's ROC AUC floor.
        score_inputs: Review files to score (default: the 50,000 unlabeled IMDB reviews,
            standing in for a dump of new reviews).
        score_output: Where scored files go (default: ``<home>/scores``).
        labelled_inbox: Folder of labelled review files taken in first (default:
            ``<home>/labelled-inbox``; a sub-folder's name is its files' source).
        force: Train even when the champion is up to date.
        minimum_slice_rows: Source slices with at least this many test rows are gated
            like the whole test set.

    Returns:
        A Completed state whose message is the gate's decision and whose result holds
        each stage's manifest.
    """
    layout = HomeLayout.of(home)
    home = str(layout.home)
    config = TrainConfig(
        model=model,
        epochs=epochs,
        seed=training_seed,
        folds=folds,
        decision_threshold=decision_threshold,
    )
    with exclusive_lock(layout.retrain_lock, "another retrain of this home"):
        with tags("retrain", "ingest"):
            ingestion = ingest_flow(home=home, source=source, sha256=sha256)
        intake = take_in_labels_task(home, labelled_inbox or str(layout.labelled_inbox_dir))
        up_to_date = None if force else champion_up_to_date_task(home, config)
        summary: dict[str, Any] = {"ingestion": ingestion, "intake": intake}
        if up_to_date:
            message = up_to_date
            summary |= {"up_to_date": True, "decision": up_to_date, "promoted": False}
        else:
            with tags("retrain", "train", model):
                training = train_flow(
                    home=home,
                    model=model,
                    epochs=epochs,
                    training_seed=training_seed,
                    folds=folds,
                    decision_threshold=decision_threshold,
                )
            with tags("retrain", "evaluate", model):
                decision = evaluate_flow(
                    home=home,
                    version=training["version"],
                    minimum_accuracy=minimum_accuracy,
                    minimum_roc_auc=minimum_roc_auc,
                    minimum_slice_rows=minimum_slice_rows,
                )
            message = decision["summary"]
            summary |= {
                "up_to_date": False,
                "training": training,
                "decision": decision["summary"],
                "promoted": decision["promoted"],
                "gate": decision,
            }
    summary["snapshot"] = (intake or {}).get("snapshot")
    if champion_task(home) is None:
        get_run_logger().warning("No model has been promoted yet, so there is nothing to score.")
        run_report_task(summary)
        return Completed(message=message, data=summary)
    # Outside the lock: scoring is keyed on the champion's version, and files already
    # scored by it are skipped.
    with tags("retrain", "score"):
        summary["scoring"] = score_flow(
            inputs=score_inputs or [str(layout.raw_split("unsup"))],
            output=score_output or str(layout.scores_dir),
            home=home,
        )
    run_report_task(summary)
    return Completed(message=message, data=summary)

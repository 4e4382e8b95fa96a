"""The main job: ingest, train, evaluate and gate, then score the newest review dump.

This is what ``make run`` and the scheduled ``retrain`` deployment execute. Each stage
is its own subflow, so the Prefect UI shows the chain as a table of contents.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.states import Completed, State

from flows.download import download_flow
from flows.evaluate import evaluate_flow
from flows.score import score_flow
from flows.train import ModelName, train_flow
from sentiment.core.paths import HomeLayout
from sentiment.modeling.config import DEFAULT_MODEL
from sentiment.release.config import GatePolicy
from sentiment.release.registry import champion_version

_DEFAULT_POLICY = GatePolicy()


@flow(name="retrain-and-score")
def retrain_flow(
    home: str = "data",
    source: str | None = None,
    sha256: str | None = None,
    model: ModelName = DEFAULT_MODEL,
    epochs: int | None = None,
    seed: int = 42,
    minimum_accuracy: float = _DEFAULT_POLICY.minimum_accuracy,
    minimum_roc_auc: float = _DEFAULT_POLICY.minimum_roc_auc,
    score_inputs: list[str] | None = None,
    score_output: str | None = None,
) -> State[dict[str, Any]]:
    """Retrain ``model``, promote it only if it earns it, and score a review dump.

    Args:
        home: The pipeline home.
        source: Where to fetch aclImdb_v1.tar.gz (default: ``$SENTIMENT_IMDB_SOURCE``,
            else the official address).
        sha256: Expected archive hash (default: any known IMDB archive).
        model: The zoo model to retrain.
        epochs: Maximum epochs (default: the model's own).
        seed: Training seed.
        minimum_accuracy: The gate's test-accuracy floor.
        minimum_roc_auc: The gate's ROC AUC floor.
        score_inputs: Review files to score (default: the 50,000 unlabeled IMDB reviews,
            standing in for a dump of new reviews).
        score_output: Where scored files go (default: ``<home>/scores``).

    Returns:
        A Completed state named after the gate's decision, whose result holds each
        stage's manifest.
    """
    logger = get_run_logger()
    layout = HomeLayout(Path(home))
    ingestion = download_flow(home=home, source=source, sha256=sha256)
    training = train_flow(home=home, model=model, epochs=epochs, seed=seed)
    gate_state = evaluate_flow(
        home=home,
        version=training["version"],
        minimum_accuracy=minimum_accuracy,
        minimum_roc_auc=minimum_roc_auc,
        return_state=True,
    )
    decision = gate_state.result()
    summary: dict[str, Any] = {
        "ingestion": ingestion,
        "training": training,
        "decision": decision["summary"],
        "promoted": decision["promoted"],
    }
    if champion_version(layout.home) is None:
        logger.warning("No model has been promoted yet, so there is nothing to score with.")
        return Completed(name=gate_state.name, message=decision["summary"], data=summary)
    summary["scoring"] = score_flow(
        inputs=score_inputs or [str(layout.raw_split("unsup"))],
        output=score_output or str(layout.home / "scores"),
        home=home,
    )
    return Completed(name=gate_state.name, message=decision["summary"], data=summary)

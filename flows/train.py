"""The ``train`` flow: train one zoo model on processed data and write a model bundle."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.errors import one_sentence_failures
from flows.preprocess import preprocess_flow
from flows.run_names import model_run_name
from sentiment.core.paths import resolve_home
from sentiment.modeling.config import TrainConfig
from tasks.train import train_model_task


@flow(name="train", flow_run_name=model_run_name("train"))
@one_sentence_failures
def train_flow(
    home: str | None = None,
    training: TrainConfig = TrainConfig(),  # noqa: B008 (frozen: one shared default is safe)
) -> dict[str, Any]:
    """Train ``training.model`` and write ``models/<version>/`` under ``home``.

    Args:
        home: The pipeline home (default: ``$SENTIMENT_HOME``, else the user's data
            directory).
        training: The training settings (see ``TrainConfig``; unset ones are the
            model's own).

    Returns:
        The bundle's version and path, validation metrics, epochs and wall time.
    """
    home = str(resolve_home(home))
    if training.preprocess:
        # A cache hit when the processed data exists: the stage decides, not the flow.
        preprocess_flow(home=home, training=training)
    return train_model_task(home, training)

"""Prefect task that trains one zoo model and publishes its progress and curves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE

from sentiment.core.quiet import import_tensorflow_quietly
from sentiment.modeling.config import TrainConfig
from sentiment.modeling.training import train
from sentiment.modeling.training_outputs import CURVE_FILE
from tasks.images import png_markdown


@task(name="train-model", cache_policy=NO_CACHE)
def train_model_task(home: str, config: TrainConfig) -> dict[str, Any]:
    """Train ``config.model`` and write its bundle; no retries (nothing here is flaky I/O).

    Returns:
        A small manifest: version, bundle path, validation metrics, epochs, seconds.
    """
    logger = get_run_logger()
    logger.info("Training %s: loading TensorFlow.", config.model)  # seconds on a busy machine
    import_tensorflow_quietly()
    epochs = config.resolved_epochs
    progress_id = create_progress_artifact(
        progress=0.0,
        key=f"training-progress-{config.model}",
        description=f"Epochs of `{config.model}` done, out of at most {epochs * config.folds}.",
    )

    def on_epoch_end(epoch: int, metrics: dict[str, float]) -> None:
        fold = int(metrics.get("fold", 1))
        logger.info(
            "%sEpoch %d/%d: loss %.4f, accuracy %.4f, val_loss %.4f, val_accuracy %.4f (%.1f s)",
            f"Fold {fold}/{config.folds}, " if config.folds > 1 else "",
            epoch,
            epochs,
            metrics.get("loss", float("nan")),
            metrics.get("accuracy", float("nan")),
            metrics.get("val_loss", float("nan")),
            metrics.get("val_accuracy", float("nan")),
            metrics.get("seconds", float("nan")),
        )
        done = (fold - 1) * epochs + epoch
        update_progress_artifact(progress_id, progress=100.0 * done / (epochs * config.folds))

    result = train(Path(home), config, on_epoch_end=on_epoch_end)
    update_progress_artifact(progress_id, progress=100.0)
    create_table_artifact(
        key=f"training-curve-{config.model}",
        table=result.curve_rows(),
        description=f"Per-epoch loss and accuracy of `{result.version}`.",
    )
    create_markdown_artifact(
        key=f"training-summary-{config.model}",
        markdown=result.to_markdown(config)
        + "\n\n## Training curve\n\n"
        + png_markdown(Path(result.directory) / CURVE_FILE, "Training curve"),
        description=f"Training run `{result.version}`.",
    )
    return result.to_manifest(config)

"""The training loop: one Keras model fitted with early stopping on a held-out split,
keeping the best epoch's weights, each epoch's metrics and wall time recorded, and a
non-finite loss stopping the run (:func:`fit_model`); seeding for reproducible runs.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sentiment.core.errors import SentimentError
from sentiment.core.progress import PROGRESS_SECONDS, Progress
from sentiment.modeling.config import TrainConfig

if TYPE_CHECKING:
    import keras

EpochHook = Callable[[int, dict[str, float]], None]

logger = logging.getLogger(__name__)


class TrainingDivergedError(SentimentError):
    """The loss became NaN or infinite; nothing was saved."""


def _make_epoch_recorder(on_epoch_end: EpochHook | None) -> keras.callbacks.Callback:
    import keras

    class EpochRecorder(keras.callbacks.Callback):
        """Records per-epoch metrics and wall time, stops on a non-finite loss.

        Epoch hooks only: a NaN batch makes the epoch's mean loss NaN anyway.
        """

        def __init__(self) -> None:
            super().__init__()
            self.history: list[dict[str, float]] = []
            self.diverged = False
            self._started = 0.0

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self._started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            row = {"epoch": epoch + 1}
            row.update({key: float(value) for key, value in (logs or {}).items()})
            row["seconds"] = time.perf_counter() - self._started
            self.history.append(row)
            if not math.isfinite(row.get("loss", 0.0)):
                self.diverged = True
                self.model.stop_training = True
            if on_epoch_end is not None:
                on_epoch_end(epoch + 1, dict(row))

    return EpochRecorder()


def _make_batch_progress(phase: str, epochs: int, seconds: float) -> keras.callbacks.Callback:
    import keras

    class BatchProgress(keras.callbacks.Callback):
        """Says which epoch is under way and, at most every ``seconds``, how many of its
        batches are done (an epoch of a large model takes minutes)."""

        # Not ``async_safe``: called in the training thread, whose context tells Prefect's
        # log handler which run the line belongs to (Keras's own threads have none).

        def __init__(self) -> None:
            super().__init__()
            self._progress: Progress | None = None

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            steps = self.params.get("steps") if self.params else None
            self._progress = Progress(
                logger, f"{phase}, epoch {epoch + 1}/{epochs}", steps, "batches", seconds
            )

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            if self._progress is not None:
                self._progress.update(batch + 1)

    return BatchProgress()


def set_reproducible(seed: int) -> None:
    """Seed Python, numpy and TensorFlow so the same seed gives the same run.

    TensorFlow's seed fixes the shuffling; the initial weights are seeded by
    :func:`sentiment.modeling.zoo.build_model` itself, safe from other threads' draws. On CPU
    the kernels these models use are deterministic already (the unit tests check it); on
    a GPU, op determinism is switched on too. That switch is process-wide and
    cannot be undone, so it is not flipped where it is not needed.
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if tf.config.list_physical_devices("GPU"):
        tf.config.experimental.enable_op_determinism()


def fit_model(
    model: keras.Model,
    train_data: Any,
    validation_data: Any,
    config: TrainConfig,
    on_epoch_end: EpochHook | None,
    phase: str | None = None,
    progress_seconds: float = PROGRESS_SECONDS,
) -> tuple[list[dict[str, float]], int]:
    """Fit with early stopping on ``validation_data``'s loss; keep the best epoch's weights.

    Each epoch is logged as it starts, and the batches done at most every
    ``progress_seconds``, as ``phase`` (default ``Training <model>``).

    Returns:
        The per-epoch history and the best epoch's index in it.

    Raises:
        TrainingDivergedError: If the loss became NaN or infinite.
    """
    import keras

    recorder = _make_epoch_recorder(on_epoch_end)
    epochs = config.resolved_epochs
    callbacks: list[keras.callbacks.Callback] = [
        recorder,
        _make_batch_progress(phase or f"Training {config.model}", epochs, progress_seconds),
    ]
    early_stopping = None
    if epochs > 2:
        early_stopping = keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=config.patience, restore_best_weights=True
        )
        callbacks.append(early_stopping)
    model.fit(
        train_data,
        validation_data=validation_data,
        epochs=epochs,
        callbacks=callbacks,
        # The dataset shuffles itself, seeded, each epoch.
        shuffle=False,
        verbose=0,
    )
    history = recorder.history
    if recorder.diverged or any(
        not math.isfinite(value) for row in history for value in row.values()
    ):
        raise TrainingDivergedError(
            f"Training '{config.model}' diverged (the loss became NaN or infinite) after "
            f"{len(history)} epoch(s); nothing was saved; lower setting 'learning_rate' "
            f"(now {config.resolved_learning_rate})."
        )
    if early_stopping is not None and early_stopping.best_weights is not None:
        return history, int(early_stopping.best_epoch)
    return history, len(history) - 1

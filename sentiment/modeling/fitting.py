"""The training loop: one Keras model fitted with early stopping on a held-out split,
keeping the best epoch's weights, each epoch's metrics and wall time recorded, and a
non-finite loss stopping the run (:func:`fit_model`); seeding for reproducible runs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sentiment.core.errors import SentimentError
from sentiment.modeling.config import TrainConfig

if TYPE_CHECKING:
    import keras

EpochHook = Callable[[int, dict[str, float]], None]


class TrainingDivergedError(SentimentError):
    """The loss became NaN or infinite; nothing was saved."""


def _make_epoch_recorder(on_epoch_end: EpochHook | None) -> keras.callbacks.Callback:
    import keras

    class EpochRecorder(keras.callbacks.Callback):
        """Records per-epoch metrics and wall time, stops on a non-finite loss.

        Only epoch hooks: a per-batch hook would make Keras fetch the loss after every
        step, and a NaN batch makes the epoch's mean loss NaN anyway.
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
) -> tuple[list[dict[str, float]], int]:
    """Fit with early stopping on ``validation_data``'s loss; keep the best epoch's weights.

    Returns:
        The per-epoch history and the best epoch's index in it.

    Raises:
        TrainingDivergedError: If the loss became NaN or infinite.
    """
    import keras

    recorder = _make_epoch_recorder(on_epoch_end)
    callbacks: list[keras.callbacks.Callback] = [recorder]
    early_stopping = None
    epochs = config.resolved_epochs
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

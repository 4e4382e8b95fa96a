"""What a training run produces besides its bundle's model: the run's summary
(:class:`TrainResult`, its Markdown and manifest), the training-curve plot and the
environment a bundle records.
"""

from __future__ import annotations

import io
import math
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentiment.modeling.config import TrainConfig

CURVE_FILE = "training_curve.png"


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced.

    Attributes:
        version: The bundle's version.
        directory: The bundle's directory.
        validation_metrics: ``loss`` and ``accuracy`` of the kept weights on validation.
        history: One dict per epoch run (``epoch``, ``loss``, ``accuracy``, ``val_loss``,
            ``val_accuracy``, ``seconds``).
        best_epoch: The 1-based epoch whose weights were kept.
        seconds: Wall time of the whole run.
        parameter_count: Total, trainable and frozen parameters.
        preprocessing_key: The processed data the model was trained on.
    """

    version: str
    directory: Path
    validation_metrics: dict[str, float]
    history: list[dict[str, float]]
    best_epoch: int
    seconds: float
    parameter_count: dict[str, int]
    preprocessing_key: str
    metadata: dict[str, Any] = field(repr=False, default_factory=dict)

    def to_markdown(self, config: TrainConfig) -> str:
        """The run summary: settings, epochs, parameters, validation metrics."""
        metrics = self.validation_metrics
        counts = self.parameter_count
        held_out = "out-of-fold" if config.folds > 1 else "validation"
        lines = [
            f"# Trained `{config.model}` → `{self.version}`",
            "",
            "| setting | value |",
            "|---|---|",
            f"| bundle | `{self.directory}` |",
            f"| preprocessing key | `{self.preprocessing_key}` |",
            f"| epochs run / kept | {len(self.history)} / {self.best_epoch} |",
            *([f"| folds (models averaged) | {config.folds} |"] if config.folds > 1 else []),
            f"| batch size | {config.resolved_batch_size} |",
            f"| learning rate | {config.resolved_learning_rate} |",
            f"| seed | {config.seed} |",
            f"| parameters (trainable) | {counts['total']:,} ({counts['trainable']:,}) |",
            f"| {held_out} accuracy | {metrics['accuracy']:.4f} |",
            f"| {held_out} loss | {metrics['loss']:.4f} |",
            f"| wall time | {self.seconds:.1f} s |",
            "",
            f"Training curve plot: `{Path(self.directory) / CURVE_FILE}`",
        ]
        return "\n".join(lines)

    def curve_rows(self) -> list[dict[str, Any]]:
        """The per-epoch history as table rows, figures rounded to five places."""
        return [
            {
                key: round(value, 5) if isinstance(value, float) else value
                for key, value in row.items()
            }
            for row in self.history
        ]

    def to_manifest(self, config: TrainConfig) -> dict[str, Any]:
        """A small JSON-serializable manifest: version, bundle path, validation metrics,
        epochs and wall time."""
        return {
            "version": self.version,
            "bundle": str(self.directory),
            "model": config.model,
            "folds": config.folds,
            "validation_metrics": self.validation_metrics,
            "best_epoch": self.best_epoch,
            "epochs_run": len(self.history),
            "seconds": round(self.seconds, 3),
            "preprocessing_key": self.preprocessing_key,
        }


def training_curve_png(history: list[dict[str, float]], title: str) -> bytes:
    """Plot loss and accuracy per epoch (train and validation) as PNG bytes.

    A fold ensemble's rows carry their ``fold``: each fold gets its own pair of lines,
    in the same two colours (its validation is its held-out fold).
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 3.5))
    folds = sorted({int(row.get("fold", 0)) for row in history})
    epochs = sorted({row["epoch"] for row in history})
    names = ("train", "validation") if folds == [0] else ("train, each fold", "held-out fold")
    for axis, metric in zip(figure.subplots(1, 2), ("loss", "accuracy"), strict=True):
        for fold in folds:
            rows = [row for row in history if int(row.get("fold", 0)) == fold]
            for key, name, colour in ((metric, names[0], "C0"), (f"val_{metric}", names[1], "C1")):
                axis.plot(
                    [row["epoch"] for row in rows],
                    [row.get(key, math.nan) for row in rows],
                    "o-",
                    color=colour,
                    label=name if fold == folds[0] else None,
                )
        axis.set_xlabel("epoch")
        axis.set_ylabel(metric)
        axis.set_xticks(epochs)
        axis.legend()
    figure.suptitle(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def environment() -> dict[str, str]:
    import keras
    import numpy as np
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
    }

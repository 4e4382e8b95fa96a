"""Settings of the release stage: the promotion gate's policy, and the retrain loop's own.

Imports nothing heavy, so the CLI can build its options from it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from sentiment.core.errors import ConfigError
from sentiment.core.settings import described


@dataclass(frozen=True)
class GatePolicy:
    """Thresholds of the promotion gate.

    Attributes:
        minimum_accuracy: Floor for test accuracy (the tutorial CNN's 87.5%).
        minimum_roc_auc: Floor for test ROC AUC.
        significance: A challenger whose one-sided McNemar mid-p value of being worse
            than the champion is below this is rejected.
        minimum_improvement: If above 0, the challenger's accuracy must exceed the
            champion's by at least this much (absolute, e.g. 0.005 = half a point).
        maximum_ece: If set, the challenger's expected calibration error on the test
            split (15 equal-width bins) must not exceed it; None: no such rule.
        minimum_slice_rows: The non-regression test is repeated on every source's slice
            (``imdb`` and each labelled batch's source) with at least this many test
            rows; smaller slices are reported, not gated.
    """

    minimum_accuracy: float = field(default=0.875, metadata=described("Test-accuracy floor."))
    minimum_roc_auc: float = field(default=0.93, metadata=described("Test ROC AUC floor."))
    significance: float = field(
        default=0.05,
        metadata=described(
            "Reject a challenger significantly worse than the champion at this level "
            "(one-sided McNemar mid-p)."
        ),
    )
    minimum_improvement: float = field(
        default=0.0,
        metadata=described("Accuracy gain over the champion required, e.g. 0.005 (0: none)."),
    )
    minimum_slice_rows: int = field(
        default=200,
        metadata=described(
            "Reject a challenger significantly worse than the champion on any source's "
            "slice of at least this many test rows."
        ),
    )

    maximum_ece: float | None = field(
        default=None,
        metadata=described(
            "Ceiling for the test expected calibration error, e.g. 0.02 (default: no rule)."
        ),
    )

    def __post_init__(self) -> None:
        if self.maximum_ece is not None and not 0.0 <= self.maximum_ece <= 1.0:
            raise ConfigError(
                f"Gate setting maximum_ece={self.maximum_ece} is out of range; use 0 to 1, "
                "e.g. 0.02, or leave it unset."
            )
        for name in ("minimum_accuracy", "minimum_roc_auc"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"Gate setting {name}={value} is out of range; use 0 to 1.")
        if not 0.0 < self.significance < 1.0:
            raise ConfigError(
                f"Gate setting significance={self.significance} is out of range; "
                "use a value strictly between 0 and 1, e.g. 0.05."
            )
        if not 0.0 <= self.minimum_improvement < 1.0:
            raise ConfigError(
                f"Gate setting minimum_improvement={self.minimum_improvement} is out of "
                "range; use 0 (no margin) up to below 1."
            )

        if (
            isinstance(self.minimum_slice_rows, bool)
            or not isinstance(self.minimum_slice_rows, int)
            or self.minimum_slice_rows < 1
        ):
            raise ConfigError(
                f"Gate setting minimum_slice_rows={self.minimum_slice_rows!r} is out of range; "
                "use a positive whole number, e.g. 200."
            )

    def as_dict(self) -> dict[str, float | int | None]:
        """Return the policy's settings."""
        return asdict(self)


@dataclass(frozen=True)
class RetrainConfig:
    """The weekly retrain's own settings, besides training and the gate.

    Attributes:
        labelled_inbox: Folder of labelled review files taken in before training; None
            means ``<home>/labelled-inbox``. A sub-folder's name is its files' source.
        force: Train even when the champion was trained on the current data snapshot
            with the same settings and code (otherwise such a retrain trains nothing).
    """

    labelled_inbox: str | None = field(
        default=None,
        metadata=described(
            "Folder of labelled review files taken in first (default: "
            "<home>/labelled-inbox; a sub-folder's name is its files' source)."
        ),
    )
    force: bool = field(
        default=False,
        metadata=described(
            "Train even when the champion was trained on the current data snapshot with "
            "the same settings and code."
        ),
    )

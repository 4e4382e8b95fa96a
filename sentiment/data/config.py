"""Settings of the data stage: ingesting IMDB and preprocessing it.

Imports nothing heavy, so the CLI can build its options from these dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentiment.core.errors import ConfigError
from sentiment.encoding.config import VectorizerConfig

# Tokenizing processes by default: one, this process. With the compiled tokenizer the
# main process's own work (counting, padding, writing) sets the pace; a second process
# gains little for much more CPU (docs/benchmarks.md, "Preprocessing").
DEFAULT_TOKENIZE_WORKERS = 1


@dataclass(frozen=True)
class PreprocessConfig:
    """Settings of the preprocessing stage.

    Attributes:
        vectorizer: How texts become ids.
        validation_fraction: Share of train held out for validation, in (0, 0.5].
        seed: Seed of the stratified validation split.
    """

    vectorizer: VectorizerConfig = field(default_factory=VectorizerConfig)
    validation_fraction: float = field(
        default=0.1, metadata={"help": "Share of train held out for validation, in (0, 0.5]."}
    )
    seed: int = field(
        default=42,
        metadata={"help": "Seed of the train/validation split.", "flag": "--split-seed"},
    )

    def __post_init__(self) -> None:
        if not isinstance(self.vectorizer, VectorizerConfig):
            raise ConfigError(
                f"Setting 'vectorizer' must be a VectorizerConfig, got {self.vectorizer!r}."
            )
        fraction = self.validation_fraction
        if (
            isinstance(fraction, bool)
            or not isinstance(fraction, int | float)
            or not 0 < fraction <= 0.5
        ):
            raise ConfigError(
                f"Setting 'validation_fraction' must be in (0, 0.5], got {fraction!r}; pass "
                "--validation-fraction 0.1 for example."
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(
                f"Setting 'seed' must be a non-negative integer, got {self.seed!r}; pass "
                "--seed 42 for example."
            )

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-serializable dict."""
        return {
            "vectorizer": self.vectorizer.to_dict(),
            "validation_fraction": float(self.validation_fraction),
            "seed": self.seed,
        }

    def command(self, home: Path) -> str:
        """The ``sentiment preprocess`` command line that produces this output."""
        parts = [f"sentiment --home {home} preprocess"]
        for name, value in self.vectorizer.to_dict().items():
            flag = "--" + name.replace("_", "-")
            if isinstance(value, bool):
                parts.append(flag if value else f"--no-{flag[2:]}")
            else:
                parts.append(f"{flag} {value}")
        parts += [
            f"--validation-fraction {self.validation_fraction}",
            f"--split-seed {self.seed}",
        ]
        return " ".join(parts)

"""Settings of the data stage: ingesting IMDB and preprocessing it.

Imports nothing heavy, so the CLI can build its options from these dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentiment.core.errors import ConfigError
from sentiment.core.settings import described
from sentiment.encoding.config import VectorizerConfig

# Tokenizing processes by default: one, this process. With the compiled tokenizer the
# main process's own work (counting, padding, writing) sets the pace; a second process
# gains little for much more CPU (docs/decisions/0007-compiled-tokenizer-one-process.md).
DEFAULT_TOKENIZE_WORKERS = 1


@dataclass(frozen=True)
class ArchiveConfig:
    """Where the IMDB archive comes from and what it must hash to, and where the
    short-text development set comes from (ingest, retrain).

    Attributes:
        source: An http(s) URL, ``file://`` URL or local path of the archive; None reads
            ``$SENTIMENT_IMDB_SOURCE``, else the official address.
        sha256: The archive's expected sha256; None reads ``$SENTIMENT_IMDB_SHA256``,
            else accepts any known IMDB archive.
        short_texts_source: An http(s) URL, ``file://`` URL or local path of a Parquet
            file of short labelled texts (``text``, ``label`` 0/1), evaluated beside the
            test split and reported only; None reads ``$SENTIMENT_SHORT_TEXTS_SOURCE``,
            else there is none.
    """

    source: str | None = field(
        default=None,
        metadata=described(
            "http(s) URL, file:// URL or local path of aclImdb_v1.tar.gz "
            "(default: $SENTIMENT_IMDB_SOURCE, else the official Stanford address)."
        ),
    )
    sha256: str | None = field(
        default=None,
        metadata=described(
            "Expected sha256 of the archive (default: $SENTIMENT_IMDB_SHA256, else any "
            "known IMDB archive: the official one or the documented re-packed mirror)."
        ),
    )
    short_texts_source: str | None = field(
        default=None,
        metadata=described(
            "http(s) URL, file:// URL or local path of a Parquet file of short labelled "
            "texts (columns text, label 0/1), evaluated beside the test split and reported "
            "only (default: $SENTIMENT_SHORT_TEXTS_SOURCE, else none)."
        ),
    )


@dataclass(frozen=True)
class TokenizingConfig:
    """How preprocessing runs; not part of its output's key.

    Attributes:
        tokenize_workers: Tokenizing processes; any count gives the same bytes.
    """

    tokenize_workers: int = field(
        default=DEFAULT_TOKENIZE_WORKERS,
        metadata=described("Tokenizing processes; the output is the same for any count."),
    )


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
        default=0.1, metadata=described("Share of train held out for validation, in (0, 0.5].")
    )
    seed: int = field(
        default=42,
        metadata=described("Seed of the train/validation split.", flag="--split-seed"),
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


# The slice name of the IMDB reviews; a labelled batch's source may not take it.
IMDB_SOURCE = "imdb"
# The source of a labelled file taken in without --source (or straight from the inbox).
DEFAULT_LABELLED_SOURCE = "labelled"
# The column a labelling queue's file names its queue in (sentiment.labelling.queue): in
# a file that has it, a row whose label is still empty is not yet labelled, not refused.
QUEUE_COLUMN = "queue"


@dataclass(frozen=True)
class LabelsConfig:
    """Settings of labelled-data intake.

    Attributes:
        source: The slice the rows are reported under (lower-case letters, digits,
            ``-`` and ``_``; ``imdb`` is taken).
        text_column: The column holding the review text.
        label_column: The column holding the label (0/1, true/false, pos/neg,
            positive/negative, any case).
        test_share: Share of the accepted rows that go to the test portion, chosen by a
            hash of the normalized text, so the same review always lands on the same side.
    """

    source: str = field(
        default=DEFAULT_LABELLED_SOURCE,
        metadata=described("Slice name of these reviews in evaluations (not 'imdb')."),
    )
    text_column: str = field(default="text", metadata=described("Column holding the text."))
    label_column: str = field(default="label", metadata=described("Column holding the label."))
    test_share: float = field(
        default=0.2,
        metadata=described("Share of accepted rows held out for testing, by text hash, in (0, 1)."),
    )

    def __post_init__(self) -> None:
        source = self.source
        if (
            not isinstance(source, str)
            or not source
            or len(source) > 64
            or not all(
                character.isascii() and (character.isalnum() or character in "-_")
                for character in source
            )
            or source != source.lower()
        ):
            raise ConfigError(
                f"Setting 'source' must be lower-case letters, digits, '-' or '_', got "
                f"{source!r}; pass --source critics for example."
            )
        if source == IMDB_SOURCE:
            raise ConfigError(
                f"Setting 'source' may not be '{IMDB_SOURCE}', the name of the IMDB reviews' "
                "slice; pass another name, e.g. --source imdb-extra."
            )
        for name in ("text_column", "label_column"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ConfigError(
                    f"Setting '{name}' must be a column name; pass --{name.replace('_', '-')} NAME."
                )
        share = self.test_share
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share < 1:
            raise ConfigError(
                f"Setting 'test_share' must be in (0, 1), got {share!r}; pass --test-share 0.2 "
                "for example."
            )

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-serializable dict."""
        return {
            "source": self.source,
            "text_column": self.text_column,
            "label_column": self.label_column,
            "test_share": float(self.test_share),
        }

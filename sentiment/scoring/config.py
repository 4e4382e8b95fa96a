"""Settings of the scoring stage.

Imports nothing heavy, so the CLI can build its options from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sentiment.core.errors import ConfigError
from sentiment.core.settings import described


@dataclass(frozen=True)
class ScoringConfig:
    """How to score.

    Attributes:
        text_column: The column holding the review text; None auto-detects ``text`` or
            ``review``.
        threshold: Scores at or above it are labelled ``positive``; None means the
            bundle's own threshold, chosen on the validation split at training (0.5 for
            bundles that record none).
        batch_size: Reviews per model forward pass.
        read_rows: Rows per record batch read, encoded and written as one row group.
        task_bytes: Input bytes one scoring task takes on (small files share a task).
        task_files: Files one scoring task takes on at most.
        shard_bytes: A Parquet, plain CSV or plain JSON-lines input of more bytes is
            split into shards of about this size, scored in parallel and joined into its
            one output.
        force: Rescore inputs whose output is already up to date.
        encode_threads: Threads that encode upcoming batches while the model scores the
            current one; 0 encodes in the calling thread, one step after the other. On
            2 cores more than two gain nothing; where the model leaves cores idle, more
            may help a cheap model (nbsvm) whose n-gram encoding outweighs predicting.
        explain: With K > 0, add a ``sentiment_reasons`` column: per review the K
            n-grams with the largest positive contributions to its logit and the K most
            negative, each with its contribution. Linear bundles (nbsvm) only. A word
            with a leading ``_`` was negated ("not _good": see
            ``sentiment.encoding.negation``).
        uncertain: A ``(low, high)`` score band: scores inside it (bounds included) are
            labelled ``uncertain`` instead of positive or negative.
        bundle_path: The directory of an explicit bundle (``--bundle PATH``, possibly
            outside the home's registry) the run scores with, recorded in each output's
            metadata; None when the bundle comes from the registry (``--model`` or the
            champion). The flow sets it; it is no option of its own.
    """

    text_column: str | None = field(
        default=None, metadata=described("Review-text column (default: 'text' or 'review').")
    )
    threshold: float | None = field(
        default=None,
        metadata=described(
            "Scores at or above it are labelled positive (default: the bundle's "
            "threshold, chosen on validation)."
        ),
    )
    batch_size: int = field(default=1024, metadata=described("Reviews per model forward pass."))
    read_rows: int = 8192
    # Small files are scored several to a task (see readers.task_groups): a task's own
    # cost (~50 ms) would otherwise outweigh a one-row file's scoring many times.
    task_bytes: int = 32 << 20
    task_files: int = 250
    # A Parquet input larger than this is scored as several shards (row ranges) that
    # run in parallel and are joined into its one output (see scoring.shards).
    shard_bytes: int = 64 << 20
    force: bool = field(default=False, metadata=described("Rescore up-to-date outputs too."))
    encode_threads: int = field(
        default=2,
        metadata=described(
            "Threads per file that encode ahead of the model (0: none); more help a "
            "cheap model such as nbsvm where cores are idle."
        ),
    )

    explain: int = field(
        default=0,
        metadata=described(
            "Add a sentiment_reasons column with the K most positive and K most "
            "negative n-grams of each review (linear models such as nbsvm only; 0: off; "
            "'_good' is 'good' after a negator)."
        ),
    )
    uncertain: tuple[float, float] | None = field(
        default=None,
        metadata=described(
            "A LOW HIGH score band whose reviews are labelled 'uncertain' (default: none).",
            metavar=("LOW", "HIGH"),
        ),
    )

    bundle_path: str | None = None

    def __post_init__(self) -> None:
        if self.threshold is not None and (
            not 0.0 <= self.threshold <= 1.0 or math.isnan(self.threshold)
        ):
            raise ConfigError(
                f"threshold is {self.threshold}; set --threshold to a probability between 0 and 1."
            )
        if isinstance(self.explain, bool) or not isinstance(self.explain, int) or self.explain < 0:
            raise ConfigError(f"explain is {self.explain!r}; set --explain to 0 or more.")
        if self.uncertain is not None:
            band = tuple(self.uncertain)
            if (
                len(band) != 2
                or not all(isinstance(value, int | float) for value in band)
                or not 0.0 <= band[0] <= band[1] <= 1.0
            ):
                raise ConfigError(
                    f"uncertain is {self.uncertain!r}; set --uncertain to two probabilities "
                    "LOW HIGH with 0 <= LOW <= HIGH <= 1, e.g. --uncertain 0.4 0.6."
                )
            object.__setattr__(self, "uncertain", (float(band[0]), float(band[1])))
        if self.batch_size < 1:
            raise ConfigError(f"batch_size is {self.batch_size}; set --batch-size to 1 or more.")
        if self.read_rows < 1:
            raise ConfigError(f"read_rows is {self.read_rows}; set it to 1 or more.")
        if self.task_bytes < 1 or self.task_files < 1 or self.shard_bytes < 1:
            raise ConfigError("task_bytes, task_files and shard_bytes must be 1 or more.")
        if self.encode_threads < 0:
            raise ConfigError(f"encode_threads is {self.encode_threads}; set it to 0 or more.")
        if self.text_column is not None and not self.text_column.strip():
            raise ConfigError("text_column is empty; name a column or leave it unset.")


@dataclass(frozen=True)
class DriftThresholds:
    """When a scored batch counts as drifted from the training data.

    Each measure compares the batch's profile with the training reference (the raw
    training split profiled with the bundle's own vectorizer); one measure past its
    threshold is drift.

    Attributes:
        maximum_oov_increase: Largest tolerated rise of the out-of-vocabulary rate over
            training's, in absolute terms (0.05: from 2% to 7%).
        maximum_length_ratio: Largest tolerated ratio, either way, between the batch's
            and training's median review length in words.
        expected_positive_share: The share of positive reviews in the training labels.
        maximum_positive_share_shift: Largest tolerated distance between the share the
            model predicts positive and ``expected_positive_share``.
        minimum_rows: Batches with fewer scored rows are too small to judge.
    """

    maximum_oov_increase: float = field(
        default=0.05,
        metadata=described("Drift when the OOV rate rises more than this over training's."),
    )
    maximum_length_ratio: float = field(
        default=2.0,
        metadata=described(
            "Drift when median review length differs from training's by more than this factor."
        ),
    )
    expected_positive_share: float = field(
        default=0.5, metadata=described("Share of positive reviews in the training labels.")
    )
    maximum_positive_share_shift: float = field(
        default=0.25,
        metadata=described(
            "Drift when the predicted positive share is further than this from "
            "the training labels' share."
        ),
    )
    minimum_rows: int = field(
        default=100, metadata=described("Batches with fewer scored rows are not judged.")
    )

    def __post_init__(self) -> None:
        for name in ("maximum_oov_increase", "maximum_positive_share_shift"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0 or math.isnan(value):
                raise ConfigError(f"{name} is {value}; set it between 0 and 1.")
        if not 0.0 <= self.expected_positive_share <= 1.0:
            raise ConfigError(
                f"expected_positive_share is {self.expected_positive_share}; "
                "set it between 0 and 1."
            )
        if not self.maximum_length_ratio >= 1.0:
            raise ConfigError(
                f"maximum_length_ratio is {self.maximum_length_ratio}; set it to 1 or more."
            )
        if self.minimum_rows < 1:
            raise ConfigError(f"minimum_rows is {self.minimum_rows}; set it to 1 or more.")


# Where the CLI reads the scheduler's address from when --dask-address is not given.
DASK_ADDRESS_VARIABLE = "SENTIMENT_DASK_ADDRESS"


@dataclass(frozen=True)
class ClusterConfig:
    """Where a scoring run's tasks run: in the flow's process, or on a Dask cluster.

    Attributes:
        workers: Processes of a local Dask cluster started for the run; 0 scores in the
            flow's own process, one file after another.
        address: An existing Dask scheduler's address (``tcp://host:8786``); wins over
            ``workers``.
    """

    workers: int = field(
        default=0,
        metadata=described(
            "Processes of a local Dask cluster to score files on (0: none, in this process).",
            flag="--dask-workers",
        ),
    )
    address: str | None = field(
        default=None,
        metadata=described(
            "An existing Dask scheduler to score files on, tcp://host:8786 "
            f"(default: ${DASK_ADDRESS_VARIABLE}).",
            flag="--dask-address",
        ),
    )

    def __post_init__(self) -> None:
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 0:
            raise ConfigError(f"workers is {self.workers!r}; set --dask-workers to 0 or more.")

    @property
    def parallel(self) -> bool:
        """Whether tasks run side by side on Dask, so that large files gain by shards."""
        return bool(self.workers or self.address)

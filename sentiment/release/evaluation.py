"""Evaluation of a model bundle on the raw test split.

The test set is the current data snapshot's: raw IMDB test, then the test portion of
every accepted labelled batch (``sentiment.data.snapshot``); no batch row is in any train
portion, so a model trained on an older snapshot is tested on unseen rows too. Metrics
are computed overall and per source (``metrics.slices.<source>``: ``imdb`` and each
batch's source), each with its confidence interval.

Every bundle is scored on the same test reviews through its own vectorizer
(``predict_texts``), so models with different vectorizers are compared on identical
rows. The result is written into the bundle as ``evaluation.json`` plus the per-review
scores in ``test_predictions.parquet`` that the gate's paired test needs. A bundle's
completeness never depends on these two files: they are written after it, atomically,
and ``evaluation.json`` last, so its presence means the evaluation is complete.

The test split is for evaluation only: nothing here feeds back into training or model
choice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sentiment.core.atomic import atomic_path, file_sha256, write_json
from sentiment.core.errors import DataError, SentimentError, StageOutputMissingError
from sentiment.core.paths import HomeLayout
from sentiment.data.config import IMDB_SOURCE
from sentiment.data.snapshot import current_snapshot
from sentiment.modeling.calibration import (
    DEFAULT_THRESHOLD,
    ECE_BINS,
    brier_score,
    expected_calibration_error,
    reliability_bins,
)

logger = logging.getLogger(__name__)

EVALUATION_FILE = "evaluation.json"
PREDICTIONS_FILE = "test_predictions.parquet"
RELIABILITY_FILE = "reliability_diagram.png"
EVALUATION_SCHEMA_VERSION = 1
DEFAULT_BOOTSTRAP_RESAMPLES = 10_000
DEFAULT_CONFIDENCE = 0.95
DEFAULT_BOOTSTRAP_SEED = 20_240_601
# Scores are clipped away from 0 and 1 so one confidently wrong review gives a large,
# finite log loss instead of infinity (the same convention as scikit-learn's).
LOG_LOSS_EPSILON = 1e-7

PREDICTIONS_SCHEMA = pa.schema(
    [
        pa.field("review_id", pa.string(), nullable=False),
        pa.field("label", pa.int8(), nullable=False),
        pa.field("score", pa.float32(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
    ]
)


class EvaluationError(SentimentError):
    """A bundle cannot be evaluated, or its stored evaluation cannot be read."""


class TextScorer(Protocol):
    """What evaluation needs from a model bundle (``sentiment.modeling.bundle.ModelBundle``)."""

    def predict_texts(self, texts: Sequence[str | None], batch_size: int = ...) -> np.ndarray:
        """Return one float32 score in [0, 1] per text (NaN where it has no text)."""
        ...


# --- metrics -----------------------------------------------------------------------


@dataclass(frozen=True)
class ConfusionMatrix:
    """Counts of a binary classifier's outcomes (positive = label 1)."""

    true_negative: int
    false_positive: int
    false_negative: int
    true_positive: int

    def as_dict(self) -> dict[str, int]:
        """Return the counts keyed by outcome name."""
        return {
            "true_negative": self.true_negative,
            "false_positive": self.false_positive,
            "false_negative": self.false_negative,
            "true_positive": self.true_positive,
        }


def _as_labels(labels: np.ndarray) -> np.ndarray:
    array = np.asarray(labels)
    if array.ndim != 1 or not np.isin(array, (0, 1)).all():
        raise ValueError("labels must be a one-dimensional array of 0 and 1")
    return array.astype(np.int8, copy=False)


def _as_scores(scores: np.ndarray, size: int) -> np.ndarray:
    array = np.asarray(scores, dtype=np.float64)
    if array.shape != (size,):
        raise ValueError(f"expected {size} scores, got shape {array.shape}")
    if not np.isfinite(array).all() or (array < 0).any() or (array > 1).any():
        raise ValueError("scores must be finite numbers in [0, 1]")
    return array


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray) -> ConfusionMatrix:
    """Count true/false negatives/positives.

    Args:
        labels: True labels, 0 or 1.
        predictions: Predicted labels, 0 or 1.

    Returns:
        The confusion matrix.
    """
    labels = _as_labels(labels).astype(bool)
    predictions = _as_labels(predictions).astype(bool)
    return ConfusionMatrix(
        true_negative=int(np.count_nonzero(~labels & ~predictions)),
        false_positive=int(np.count_nonzero(~labels & predictions)),
        false_negative=int(np.count_nonzero(labels & ~predictions)),
        true_positive=int(np.count_nonzero(labels & predictions)),
    )


def _ratio(numerator: int, denominator: int) -> float:
    # An empty denominator (no predicted or no actual positives) is scored 0, not NaN,
    # so the value stays valid JSON and a degenerate model fails every floor.
    return numerator / denominator if denominator else 0.0


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve, as the Mann-Whitney U statistic with tied ranks averaged.

    Args:
        labels: True labels, 0 or 1; both classes must be present.
        scores: Scores in [0, 1], higher meaning more positive.

    Returns:
        The probability that a random positive scores above a random negative (ties
        count one half).

    Raises:
        ValueError: If only one class is present.
    """
    labels = _as_labels(labels)
    scores = _as_scores(scores, labels.size)
    positives = int(labels.sum())
    negatives = labels.size - positives
    if positives == 0 or negatives == 0:
        raise ValueError("ROC AUC needs both positive and negative labels")
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(labels.size, dtype=np.float64)
    # Average the 1-based ranks within each run of equal scores.
    boundaries = np.flatnonzero(np.diff(sorted_scores)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [labels.size]))
    average_ranks = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(average_ranks, ends - starts)
    positive_rank_sum = float(ranks[labels == 1].sum())
    u_statistic = positive_rank_sum - positives * (positives + 1) / 2.0
    return u_statistic / (positives * negatives)


def log_loss(labels: np.ndarray, scores: np.ndarray) -> float:
    """Mean binary cross-entropy in nats, with scores clipped to [1e-7, 1 - 1e-7].

    Args:
        labels: True labels, 0 or 1.
        scores: Predicted probabilities of label 1.

    Returns:
        The mean negative log-likelihood.
    """
    labels = _as_labels(labels)
    scores = np.clip(_as_scores(scores, labels.size), LOG_LOSS_EPSILON, 1 - LOG_LOSS_EPSILON)
    likelihood = np.where(labels == 1, scores, 1.0 - scores)
    return float(-np.mean(np.log(likelihood)))


def bootstrap_accuracy_interval(
    correct: np.ndarray,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_BOOTSTRAP_RESAMPLES,
    seed: int = DEFAULT_BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval for accuracy.

    Resampling n reviews with replacement from a 0/1 correctness vector with k ones
    draws the number correct from Binomial(n, k/n) exactly, so the resamples are drawn
    from that distribution directly instead of materializing n indices each time.

    Args:
        correct: One boolean per review: was the prediction right.
        confidence: Coverage of the interval, e.g. 0.95.
        resamples: Number of bootstrap resamples.
        seed: Seed of the random generator, so the interval is reproducible.

    Returns:
        ``(lower, upper)`` accuracy bounds.
    """
    correct = np.asarray(correct, dtype=bool)
    if correct.size == 0:
        raise ValueError("cannot bootstrap an empty sample")
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be between 0 and 1")
    if resamples < 1:
        raise ValueError("resamples must be at least 1")
    size = correct.size
    generator = np.random.default_rng(seed)
    accuracies = generator.binomial(size, correct.mean(), size=resamples) / size
    tail = (1.0 - confidence) / 2.0
    lower, upper = np.quantile(accuracies, [tail, 1.0 - tail])
    return float(lower), float(upper)


def compute_metrics(
    labels: np.ndarray,
    scores: np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
    confidence: float = DEFAULT_CONFIDENCE,
    bootstrap_resamples: int = DEFAULT_BOOTSTRAP_RESAMPLES,
    seed: int = DEFAULT_BOOTSTRAP_SEED,
) -> dict[str, Any]:
    """Every evaluation metric for one set of scores.

    Args:
        labels: True labels, 0 or 1.
        scores: Predicted probabilities of label 1, in [0, 1].
        threshold: A score at or above it predicts label 1.
        confidence: Coverage of the accuracy interval.
        bootstrap_resamples: Resamples for the accuracy interval.
        seed: Seed of the bootstrap.

    Returns:
        ``accuracy``, ``precision``, ``recall``, ``f1``, ``roc_auc``, ``log_loss``,
        ``accuracy_interval`` (lower, upper, confidence, resamples, method),
        ``confusion_matrix``, ``count``, ``ece`` (expected calibration error over 15
        equal-width bins), ``brier`` and ``reliability`` (the bins).
    """
    labels = _as_labels(labels)
    scores = _as_scores(scores, labels.size)
    predictions = (scores >= threshold).astype(np.int8)
    matrix = confusion_matrix(labels, predictions)
    precision = _ratio(matrix.true_positive, matrix.true_positive + matrix.false_positive)
    recall = _ratio(matrix.true_positive, matrix.true_positive + matrix.false_negative)
    f1 = _ratio(
        2 * matrix.true_positive,
        2 * matrix.true_positive + matrix.false_positive + matrix.false_negative,
    )
    correct = predictions == labels
    lower, upper = bootstrap_accuracy_interval(correct, confidence, bootstrap_resamples, seed)
    return {
        "count": int(labels.size),
        "threshold": threshold,
        "accuracy": float(correct.mean()),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "roc_auc": roc_auc(labels, scores),
        "log_loss": log_loss(labels, scores),
        "ece": expected_calibration_error(labels, scores, ECE_BINS),
        "brier": brier_score(labels, scores),
        "reliability": {
            "bins": ECE_BINS,
            "rows": [
                {
                    key: (None if isinstance(value, float) and math.isnan(value) else value)
                    for key, value in row.items()
                }
                for row in reliability_bins(labels, scores, ECE_BINS)
            ],
        },
        "accuracy_interval": {
            "lower": lower,
            "upper": upper,
            "confidence": confidence,
            "resamples": bootstrap_resamples,
            "method": "percentile bootstrap",
        },
        "confusion_matrix": matrix.as_dict(),
    }


def reliability_png(metrics: dict[str, Any], title: str) -> bytes:
    """The reliability diagram of :func:`compute_metrics`' bins as PNG bytes."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    rows = [row for row in metrics["reliability"]["rows"] if row["count"]]
    figure = Figure(figsize=(5, 5))
    axis = figure.subplots()
    axis.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    axis.plot(
        [row["mean_score"] for row in rows],
        [row["positive_share"] for row in rows],
        "o-",
        label="model",
    )
    axis.set_xlabel("mean predicted probability (bin)")
    axis.set_ylabel("share of positive reviews")
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1)
    axis.set_title(f"{title}: ECE {metrics['ece']:.4f}, Brier {metrics['brier']:.4f}")
    axis.legend(loc="upper left")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


# --- the test split ------------------------------------------------------------------


@dataclass(frozen=True)
class TestSplit:
    """The raw test reviews with a fingerprint identifying exactly these rows."""

    review_ids: list[str]
    texts: list[str | None]
    labels: np.ndarray
    fingerprint: dict[str, Any]
    sources: list[str] | None = None

    @property
    def row_sources(self) -> list[str]:
        """Each row's source (``imdb`` where none was given)."""
        return self.sources or [IMDB_SOURCE] * len(self.review_ids)


def rows_fingerprint(review_ids: Sequence[str], labels: np.ndarray, texts: Sequence[Any]) -> str:
    """Hash the rows' ids, labels and texts in order.

    Two evaluations are comparable review by review exactly when this hash matches,
    whatever the Parquet encoding of the file they came from.

    Args:
        review_ids: Review ids in file order.
        labels: Labels in the same order.
        texts: Texts in the same order (None allowed).

    Returns:
        ``sha256:`` plus the hex digest.
    """
    digest = hashlib.sha256()
    for column in (review_ids, texts):
        encoded = [value.encode("utf-8") if isinstance(value, str) else b"" for value in column]
        # Each value's byte length (-1 for a missing one) precedes the concatenated bytes,
        # so no two different columns hash alike.
        lengths = [
            len(value) if isinstance(original, str) else -1
            for value, original in zip(encoded, column, strict=True)
        ]
        digest.update(np.asarray(lengths, dtype="<i8").tobytes())
        digest.update(b"".join(encoded))
    digest.update(np.asarray(labels, dtype=np.int8).tobytes())
    return "sha256:" + digest.hexdigest()


def load_test_split(home: Path) -> TestSplit:
    """Read ``raw/imdb/test.parquet`` and fingerprint it.

    Args:
        home: The pipeline home.

    Returns:
        The test reviews, labels and fingerprint.

    Raises:
        StageOutputMissingError: If the split has not been ingested.
        DataError: If the file cannot be read or lacks ``review_id``, ``text`` or
            ``label``, or a label is not 0/1.
    """
    layout = HomeLayout(Path(home))
    path = layout.raw_split("test")
    if not path.exists():
        raise StageOutputMissingError(
            f"The raw test split {path} does not exist; run `sentiment ingest` first."
        )
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as error:
        raise DataError(
            f"The raw test split {path} cannot be read ({error}); rerun `sentiment ingest`."
        ) from error
    missing = [name for name in ("review_id", "text", "label") if name not in table.column_names]
    if missing:
        raise DataError(
            f"The raw test split {path} lacks the column(s) {', '.join(missing)}; "
            "rerun `sentiment ingest`."
        )
    review_ids = table.column("review_id").to_pylist()
    texts = table.column("text").to_pylist()
    label_column = table.column("label")
    if label_column.null_count:
        raise DataError(
            f"The raw test split {path} has {label_column.null_count} rows without a label "
            "in field 'label'; rerun `sentiment ingest`."
        )
    labels = label_column.to_numpy().astype(np.int8)
    if not np.isin(labels, (0, 1)).all():
        raise DataError(
            f"The raw test split {path} has labels other than 0 and 1 in field 'label'; "
            "rerun `sentiment ingest`."
        )
    if len(set(review_ids)) != len(review_ids):
        raise DataError(
            f"The raw test split {path} repeats review ids in field 'review_id'; "
            "rerun `sentiment ingest`."
        )
    fingerprint: dict[str, Any] = {
        "path": str(path.relative_to(layout.home))
        if path.is_relative_to(layout.home)
        else str(path),
        "file_sha256": file_sha256(path),
        "rows": len(review_ids),
        "rows_sha256": rows_fingerprint(review_ids, labels, texts),
    }
    manifest = layout.raw_dir / "manifest.json"
    try:
        archive = json.loads(manifest.read_text(encoding="utf-8")).get("archive_sha256")
    except (OSError, ValueError, AttributeError):
        archive = None
    if archive:
        fingerprint["archive_sha256"] = archive
    sources = [IMDB_SOURCE] * len(review_ids)
    try:
        snapshot = current_snapshot(home)
    except StageOutputMissingError:
        snapshot = None  # a home holding only the test split: nothing but IMDB to test
    fingerprint["data_snapshot"] = snapshot.id if snapshot else None
    if snapshot is not None and snapshot.batches:
        # The batches' rows follow IMDB's, so an IMDB-only snapshot keeps the very
        # rows_sha256 it had before batches existed.
        for path in snapshot.portion_paths(home, "test"):
            try:
                batch = pq.read_table(path, columns=["review_id", "text", "label", "source"])
            except (OSError, pa.ArrowException) as error:
                raise DataError(
                    f"Labelled batch file {path} cannot be read ({error}); restore the batch "
                    "directory from a backup."
                ) from error
            review_ids += batch.column("review_id").to_pylist()
            texts += batch.column("text").to_pylist()
            sources += batch.column("source").to_pylist()
            labels = np.concatenate([labels, batch.column("label").to_numpy().astype(np.int8)])
        fingerprint["rows"] = len(review_ids)
        fingerprint["rows_sha256"] = rows_fingerprint(review_ids, labels, texts)
        fingerprint["batches"] = list(snapshot.batches)
    return TestSplit(
        review_ids=review_ids,
        texts=texts,
        labels=labels,
        fingerprint=fingerprint,
        sources=sources,
    )


def slice_metrics(
    labels: np.ndarray,
    scores: np.ndarray,
    sources: Sequence[str],
    threshold: float = DEFAULT_THRESHOLD,
    bootstrap_resamples: int = DEFAULT_BOOTSTRAP_RESAMPLES,
) -> dict[str, dict[str, Any]]:
    """Metrics of each source's rows: ``rows``, ``accuracy``, ``accuracy_interval``,
    ``roc_auc`` (None where the slice holds one class only), ``f1`` and ``log_loss``."""
    source_array = np.asarray(sources, dtype=object)
    slices: dict[str, dict[str, Any]] = {}
    for source in dict.fromkeys(sources):
        mask = source_array == source
        slice_labels, slice_scores = labels[mask], scores[mask]
        predictions = (slice_scores >= threshold).astype(np.int8)
        correct = predictions == slice_labels
        lower, upper = bootstrap_accuracy_interval(correct, resamples=bootstrap_resamples)
        both_classes = 0 < int(slice_labels.sum()) < slice_labels.size
        matrix = confusion_matrix(slice_labels, predictions)
        slices[source] = {
            "rows": int(mask.sum()),
            "accuracy": float(correct.mean()),
            "accuracy_interval": {
                "lower": lower,
                "upper": upper,
                "confidence": DEFAULT_CONFIDENCE,
                "resamples": bootstrap_resamples,
                "method": "percentile bootstrap",
            },
            "roc_auc": roc_auc(slice_labels, slice_scores) if both_classes else None,
            "f1": _ratio(
                2 * matrix.true_positive,
                2 * matrix.true_positive + matrix.false_positive + matrix.false_negative,
            ),
            "log_loss": log_loss(slice_labels, slice_scores),
        }
    return slices


def same_test_data(first: dict[str, Any], second: dict[str, Any]) -> bool:
    """Whether two evaluation fingerprints describe the very same test rows."""
    keys = ("rows", "rows_sha256")
    return all(first.get(key) is not None and first.get(key) == second.get(key) for key in keys)


# --- evaluating a bundle -------------------------------------------------------------


def evaluate_scorer(
    scorer: TextScorer,
    test_split: TestSplit,
    directory: Path,
    *,
    version: str,
    model_name: str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    bootstrap_resamples: int = DEFAULT_BOOTSTRAP_RESAMPLES,
    batch_size: int = 1024,
    training_snapshot: str | None = None,
) -> dict[str, Any]:
    """Score the test split with ``scorer`` and write the evaluation into ``directory``.

    Writes ``test_predictions.parquet`` then ``evaluation.json``, each atomically, so a
    crash leaves either no evaluation or a complete one.

    Args:
        scorer: Anything with ``predict_texts`` (a ``ModelBundle``).
        test_split: The raw test reviews from :func:`load_test_split`.
        directory: The bundle directory to write into.
        version: The bundle's version, recorded in the evaluation.
        model_name: The model's name (e.g. ``cnn``), recorded in the evaluation.
        threshold: A score at or above it predicts positive.
        bootstrap_resamples: Resamples for the accuracy interval.
        batch_size: Reviews per prediction batch.
        training_snapshot: The data snapshot the model was trained on, recorded.

    Returns:
        The evaluation as written to ``evaluation.json``.

    Raises:
        EvaluationError: If the scorer returns the wrong number of scores or a score
            that is not a number in [0, 1].
    """
    started = time.perf_counter()
    scores = np.asarray(scorer.predict_texts(test_split.texts, batch_size=batch_size))
    seconds_predicting = time.perf_counter() - started
    if scores.shape != (len(test_split.review_ids),):
        raise EvaluationError(
            f"Bundle {version} returned {scores.shape} scores for "
            f"{len(test_split.review_ids)} test reviews; retrain it with `sentiment train`."
        )
    unusable = int(np.count_nonzero(~np.isfinite(scores) | (scores < 0) | (scores > 1)))
    if unusable:
        raise EvaluationError(
            f"Bundle {version} gave {unusable} of {scores.size} test reviews no score in "
            "[0, 1] (empty text or a diverged model); check the test split and retrain."
        )
    metrics = compute_metrics(
        test_split.labels, scores, threshold=threshold, bootstrap_resamples=bootstrap_resamples
    )
    sources = test_split.row_sources
    metrics["slices"] = slice_metrics(
        test_split.labels, scores, sources, threshold, bootstrap_resamples
    )
    directory = Path(directory)
    predictions = pa.table(
        {
            "review_id": pa.array(test_split.review_ids, pa.string()),
            "label": pa.array(test_split.labels, pa.int8()),
            "score": pa.array(scores.astype(np.float32), pa.float32()),
            "source": pa.array(sources, pa.string()),
        },
        schema=PREDICTIONS_SCHEMA,
    )
    predictions_path = directory / PREDICTIONS_FILE
    with atomic_path(predictions_path) as temporary:
        pq.write_table(predictions, temporary)
    evaluation = {
        "schema_version": EVALUATION_SCHEMA_VERSION,
        "version": version,
        "model": model_name,
        "evaluated_at": utc_timestamp(),
        "test_data": test_split.fingerprint,
        "training_snapshot": training_snapshot,
        "metrics": metrics,
        "predictions": {
            "file": PREDICTIONS_FILE,
            "sha256": file_sha256(predictions_path),
            "columns": list(PREDICTIONS_SCHEMA.names),
        },
        "seconds": {
            "predicting": round(seconds_predicting, 3),
            "total": round(time.perf_counter() - started, 3),
        },
    }
    with atomic_path(directory / RELIABILITY_FILE) as temporary:
        temporary.write_bytes(reliability_png(metrics, version))
    write_json(directory / EVALUATION_FILE, evaluation)
    logger.info(
        "Evaluated %s on %d test reviews: accuracy %.4f (95%% CI %.4f-%.4f), ROC AUC %.4f",
        version,
        metrics["count"],
        metrics["accuracy"],
        metrics["accuracy_interval"]["lower"],
        metrics["accuracy_interval"]["upper"],
        metrics["roc_auc"],
    )
    return evaluation


def bundle_model_name(metadata: dict[str, Any]) -> str | None:
    """The model's name (e.g. ``cnn``) from a bundle's metadata, whatever its nesting."""
    model = metadata.get("model")
    if isinstance(model, str):
        return model
    if isinstance(model, dict) and isinstance(model.get("name"), str):
        return model["name"]
    name = metadata.get("model_name")
    return name if isinstance(name, str) else None


def evaluate_version(
    home: Path,
    version: str,
    *,
    threshold: float | None = None,
    bootstrap_resamples: int = DEFAULT_BOOTSTRAP_RESAMPLES,
) -> dict[str, Any]:
    """Load bundle ``models/<version>`` and evaluate it on the raw test split.

    Args:
        home: The pipeline home.
        version: The bundle's version.
        threshold: A score at or above it predicts positive; None: the bundle's own
            (chosen on validation at training, 0.5 for bundles without one).
        bootstrap_resamples: Resamples for the accuracy interval.

    Returns:
        The evaluation as written to ``evaluation.json``.

    Raises:
        EvaluationError: If the version is unknown.
        DataError: If the bundle or the test split is unreadable.
    """
    from sentiment.modeling.bundle import (
        load_bundle,  # Keras loads only when a bundle is evaluated.
    )

    directory = bundle_directory(home, version)
    test_split = load_test_split(home)
    bundle = load_bundle(directory)
    return evaluate_scorer(
        bundle,
        test_split,
        directory,
        version=version,
        model_name=bundle_model_name(bundle.metadata),
        threshold=bundle.threshold if threshold is None else threshold,
        bootstrap_resamples=bootstrap_resamples,
        training_snapshot=bundle.metadata.get("data_snapshot"),
    )


# --- reading stored evaluations ------------------------------------------------------


def bundle_directory(home: Path, version: str) -> Path:
    """Return ``models/<version>`` after checking the version names an existing bundle.

    Raises:
        EvaluationError: If the version is malformed or no such bundle exists.
    """
    layout = HomeLayout(Path(home))
    if not version or "/" in version or "\\" in version or version.startswith("."):
        raise EvaluationError(
            f"'{version}' is not a model version; run `sentiment models` to list them."
        )
    directory = layout.bundle(version)
    if not directory.is_dir():
        raise EvaluationError(
            f"Unknown model version '{version}': {directory} does not exist; "
            "run `sentiment models` to list the versions."
        )
    return directory


def read_evaluation(directory: Path) -> dict[str, Any]:
    """Read and check a bundle's ``evaluation.json``.

    Args:
        directory: The bundle directory.

    Returns:
        The evaluation.

    Raises:
        EvaluationError: If the bundle was never evaluated, or the file is not valid
            JSON with the fields the gate needs.
    """
    path = Path(directory) / EVALUATION_FILE
    if not path.exists():
        raise EvaluationError(
            f"Model {Path(directory).name} has not been evaluated ({path} is missing); "
            f"run `sentiment evaluate {Path(directory).name}`."
        )
    try:
        evaluation = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise EvaluationError(
            f"{path} is corrupt ({error}); run `sentiment evaluate {Path(directory).name}` "
            "to rewrite it."
        ) from error
    problem = _evaluation_problem(evaluation)
    if problem:
        raise EvaluationError(
            f"{path} is corrupt ({problem}); run `sentiment evaluate {Path(directory).name}` "
            "to rewrite it."
        )
    return evaluation


def _evaluation_problem(evaluation: Any) -> str | None:
    if not isinstance(evaluation, dict):
        return "not a JSON object"
    metrics = evaluation.get("metrics")
    if not isinstance(metrics, dict):
        return "field 'metrics' is missing"
    for name in ("accuracy", "roc_auc"):
        value = metrics.get(name)
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not (math.isfinite(value) and 0.0 <= value <= 1.0)
        ):
            return f"field 'metrics.{name}' is not a number in [0, 1]"
    test_data = evaluation.get("test_data")
    if not isinstance(test_data, dict) or not test_data.get("rows_sha256"):
        return "field 'test_data.rows_sha256' is missing"
    return None


def read_prediction_sources(directory: Path) -> list[str] | None:
    """Each stored test prediction's source, or None for predictions written before
    sources were recorded (all IMDB then)."""
    path = Path(directory) / PREDICTIONS_FILE
    try:
        schema = pq.read_schema(path)
        if "source" not in schema.names:
            return None
        return pq.read_table(path, columns=["source"]).column("source").to_pylist()
    except (OSError, pa.ArrowException) as error:
        raise EvaluationError(
            f"The test predictions {path} cannot be read ({error}); "
            f"run `sentiment evaluate {Path(directory).name}`."
        ) from error


def read_predictions(directory: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Read a bundle's per-review test predictions.

    Args:
        directory: The bundle directory.

    Returns:
        ``(review_ids, labels, scores)`` in test-file order.

    Raises:
        EvaluationError: If the file is missing, unreadable or malformed.
    """
    path = Path(directory) / PREDICTIONS_FILE
    version = Path(directory).name
    try:
        table = pq.read_table(path)
        review_ids = table.column("review_id").to_pylist()
        labels = table.column("label").to_numpy().astype(np.int8)
        scores = table.column("score").to_numpy().astype(np.float64)
    except (OSError, KeyError, pa.ArrowException) as error:
        raise EvaluationError(
            f"The test predictions {path} cannot be read ({error}); "
            f"run `sentiment evaluate {version}`."
        ) from error
    if not np.isfinite(scores).all():
        raise EvaluationError(
            f"The test predictions {path} have non-finite values in field 'score'; "
            f"run `sentiment evaluate {version}`."
        )
    return review_ids, labels, scores


def utc_timestamp(now: datetime | None = None) -> str:
    """Return an ISO-8601 UTC timestamp with a ``Z`` suffix, to the microsecond."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

"""A bundle's evaluation on the test split: computing it, writing it, reading it back.

Every bundle is scored on the same test reviews (``sentiment.release.test_split``)
through its own vectorizer (``predict_texts``), so models with different vectorizers are
compared on identical rows. Metrics are computed overall and per source
(``metrics.slices.<source>``: ``imdb`` and each batch's source), each with its confidence
interval, and per length in words (``metrics.lengths``). Where the home holds the
short-text development set (``sentiment.data.short_texts``), it is scored too, at the
same threshold, into ``short_texts``: reported only, never read by the gate. The result
is written into the bundle as ``evaluation.json`` plus the per-review scores in
``test_predictions.parquet`` that the gate's paired test needs. A bundle's completeness
never depends on these two files: they are written after it, atomically, and
``evaluation.json`` last, so its presence means the evaluation is complete.

The test split is for evaluation only: nothing here feeds back into training or model
choice.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sentiment.core.atomic import atomic_path, file_sha256, write_json
from sentiment.core.paths import HomeLayout
from sentiment.core.progress import PROGRESS_SECONDS, Progress
from sentiment.data.short_texts import ShortTexts, read_short_texts
from sentiment.encoding.text import tokenize
from sentiment.modeling.calibration import DEFAULT_THRESHOLD
from sentiment.release.champion import bundle_directory
from sentiment.release.errors import EvaluationError
from sentiment.release.ledger import utc_timestamp
from sentiment.release.metrics import (
    DEFAULT_BOOTSTRAP_RESAMPLES,
    compute_metrics,
    length_metrics,
    reliability_png,
    slice_metrics,
)
from sentiment.release.test_split import TestSplit, load_test_split, rows_fingerprint

logger = logging.getLogger(__name__)

EVALUATION_FILE = "evaluation.json"
PREDICTIONS_FILE = "test_predictions.parquet"
RELIABILITY_FILE = "reliability_diagram.png"
EVALUATION_SCHEMA_VERSION = 1
# Test reviews are scored this many prediction batches at a time, counted as they go.
_BATCHES_PER_PROGRESS = 4

PREDICTIONS_SCHEMA = pa.schema(
    [
        pa.field("review_id", pa.string(), nullable=False),
        pa.field("label", pa.int8(), nullable=False),
        pa.field("score", pa.float32(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
    ]
)


class TextScorer(Protocol):
    """What evaluation needs from a model bundle (``sentiment.modeling.bundle.ModelBundle``)."""

    def predict_texts(self, texts: Sequence[str | None], batch_size: int = ...) -> np.ndarray:
        """Return one float32 score in [0, 1] per text (NaN where it has no text)."""
        ...


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
    progress_seconds: float = PROGRESS_SECONDS,
    short_texts: ShortTexts | None = None,
) -> dict[str, Any]:
    """Score the test split with ``scorer`` and write the evaluation into ``directory``.

    Writes ``test_predictions.parquet`` then ``evaluation.json``, each atomically, so a
    crash leaves either no evaluation or a complete one. Each step is logged as it
    starts, and the reviews scored at most every ``progress_seconds``.

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
        progress_seconds: The least time between two progress lines.
        short_texts: The short-text development set, scored and reported beside the
            test split (see :func:`short_texts_entry`), or None.

    Returns:
        The evaluation as written to ``evaluation.json``.

    Raises:
        EvaluationError: If the scorer returns the wrong number of scores or a score
            that is not a number in [0, 1].
    """
    started = time.perf_counter()
    progress = Progress(
        logger, f"Evaluating {version}", len(test_split.texts), "test reviews", progress_seconds
    )
    scores = _predict(scorer, test_split.texts, batch_size, progress)
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
    progress.step(f"metrics with {bootstrap_resamples:,} bootstrap resamples")
    metrics = compute_metrics(
        test_split.labels, scores, threshold=threshold, bootstrap_resamples=bootstrap_resamples
    )
    sources = test_split.row_sources
    metrics["slices"] = slice_metrics(
        test_split.labels, scores, sources, threshold, bootstrap_resamples
    )
    progress.step("accuracy by length in words")
    metrics["lengths"] = length_metrics(
        test_split.labels, scores, word_counts(test_split.texts), threshold
    )
    reported = None
    if short_texts is not None:
        progress.step(f"the short-text development set {short_texts.name}")
        reported = short_texts_entry(scorer, short_texts, threshold, batch_size)
    progress.step("writing the predictions and the reliability diagram")
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
    if reported is not None:
        evaluation["short_texts"] = reported
    with atomic_path(directory / RELIABILITY_FILE) as temporary:
        temporary.write_bytes(reliability_png(metrics, version))
    write_json(directory / EVALUATION_FILE, evaluation)
    progress.finish()
    logger.info(
        "Evaluated %s on %d test reviews: accuracy %.4f (95%% CI %.4f-%.4f), ROC AUC %.4f",
        version,
        metrics["count"],
        metrics["accuracy"],
        metrics["accuracy_interval"]["lower"],
        metrics["accuracy_interval"]["upper"],
        metrics["roc_auc"],
    )
    if reported is not None and reported["accuracy"] is not None:
        by_length = ", ".join(
            f"{bucket['words']} words {bucket['accuracy']:.4f}"
            for bucket in reported["lengths"]
            if bucket["rows"]
        )
        logger.info(
            "Short-text development set %s: accuracy %.4f on %d texts (%s)",
            reported["name"],
            reported["accuracy"],
            reported["rows"],
            by_length,
        )
    return evaluation


def short_texts_entry(
    scorer: TextScorer, short_texts: ShortTexts, threshold: float, batch_size: int = 1024
) -> dict[str, Any]:
    """The development set's accuracy at ``threshold``, overall and by length in words.

    A text the scorer gives no score (NaN: no text) counts as wrong, and is counted.

    Returns:
        ``name``, ``rows``, ``accuracy``, ``unscored``, ``data`` (the copy's sha256 and
        its rows' fingerprint) and ``lengths`` (the buckets of ``metrics.lengths``).
    """
    scores = np.asarray(scorer.predict_texts(short_texts.texts, batch_size), np.float64)
    labels = short_texts.labels
    unscored = ~np.isfinite(scores)
    # An unscored text takes the score that is wrong for its label, here and by length.
    scores = np.where(unscored, np.where(labels == 1, -np.inf, np.inf), scores)
    correct = (scores >= threshold) == (labels == 1)
    return {
        "name": short_texts.name,
        "rows": len(labels),
        "accuracy": float(correct.mean()) if len(labels) else None,
        "unscored": int(np.count_nonzero(unscored)),
        "data": {
            "file_sha256": short_texts.file_sha256,
            "rows_sha256": rows_fingerprint(short_texts.review_ids, labels, short_texts.texts),
        },
        "lengths": length_metrics(labels, scores, word_counts(short_texts.texts), threshold),
    }


def _predict(
    scorer: TextScorer, texts: Sequence[str | None], batch_size: int, progress: Progress
) -> np.ndarray:
    """Score ``texts`` a whole number of batches at a time, so the batches are those of
    one call, counting the reviews scored on ``progress``."""
    step = batch_size * _BATCHES_PER_PROGRESS
    parts = []
    for start in range(0, len(texts), step):
        parts.append(np.asarray(scorer.predict_texts(texts[start : start + step], batch_size)))
        progress.advance(len(parts[-1]))
    return np.concatenate(parts) if parts else np.asarray(scorer.predict_texts(texts, batch_size))


def word_counts(texts: Sequence[str | None]) -> np.ndarray:
    """Words per text, as the product's tokenizer counts them ("!" and "?" are not words)."""
    return np.asarray(
        [sum(token not in ("!", "?") for token in tokenize(text or "")) for text in texts],
        np.int64,
    )


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
    logger.info("Evaluating %s: loading the test split and the bundle.", version)
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
        short_texts=read_short_texts(home),
    )


# --- reading stored evaluations ------------------------------------------------------


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


def describe_evaluation(version: str, evaluation: dict[str, Any]) -> str:
    """One line: the version, its model and its headline test metrics."""
    metrics = evaluation["metrics"]
    interval = metrics["accuracy_interval"]
    return (
        f"Evaluated {version} ({evaluation.get('model')}) on {metrics['count']} test reviews: "
        f"accuracy {metrics['accuracy']:.4f} (95% CI {interval['lower']:.4f}-"
        f"{interval['upper']:.4f}), ROC AUC {metrics['roc_auc']:.4f}, F1 {metrics['f1']:.4f}, "
        f"log loss {metrics['log_loss']:.4f}"
    )


def evaluation_manifest(home: Path, version: str, evaluation: dict[str, Any]) -> dict[str, Any]:
    """A small JSON-serializable manifest: version, model, headline metrics and the
    evaluation file's path."""
    metrics = evaluation["metrics"]
    interval = metrics["accuracy_interval"]
    return {
        "version": version,
        "model": evaluation.get("model"),
        "accuracy": metrics["accuracy"],
        "accuracy_interval": [interval["lower"], interval["upper"]],
        "roc_auc": metrics["roc_auc"],
        "evaluation": str(HomeLayout(Path(home)).bundle(version) / EVALUATION_FILE),
    }


def _slice_summary(metrics: dict[str, Any]) -> dict[str, Any]:
    slices = metrics.get("slices")
    if not isinstance(slices, dict):
        return {}
    summary = {}
    for source, values in slices.items():
        interval = values.get("accuracy_interval") or {}
        summary[source] = {
            "rows": values.get("rows"),
            "accuracy": values.get("accuracy"),
            "accuracy_lower": interval.get("lower"),
            "accuracy_upper": interval.get("upper"),
            "roc_auc": values.get("roc_auc"),
        }
    return summary


def evaluation_summary(evaluation: dict[str, Any]) -> dict[str, Any]:
    """The headline metrics of an evaluation, as the ledger and the listing record them."""
    metrics = evaluation["metrics"]
    interval = metrics.get("accuracy_interval") or {}
    return {
        "slices": _slice_summary(metrics),
        "accuracy": metrics["accuracy"],
        "accuracy_lower": interval.get("lower"),
        "accuracy_upper": interval.get("upper"),
        "precision": metrics.get("precision"),
        "recall": metrics.get("recall"),
        "f1": metrics.get("f1"),
        "roc_auc": metrics["roc_auc"],
        "log_loss": metrics.get("log_loss"),
        "ece": metrics.get("ece"),
        "brier": metrics.get("brier"),
    }

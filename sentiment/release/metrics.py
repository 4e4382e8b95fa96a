"""Evaluation metrics of binary scores: accuracy with its bootstrap interval, precision,
recall, F1, ROC AUC, log loss and calibration, overall, per source slice and per length.

Pure functions of labels and scores (numpy only); nothing here reads or writes files,
except :func:`reliability_png`, which renders the calibration bins as an image.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sentiment.modeling.calibration import (
    DEFAULT_THRESHOLD,
    ECE_BINS,
    brier_score,
    expected_calibration_error,
    reliability_bins,
)

DEFAULT_BOOTSTRAP_RESAMPLES = 10_000
DEFAULT_CONFIDENCE = 0.95
DEFAULT_BOOTSTRAP_SEED = 20_240_601
# Scores are clipped away from 0 and 1 so one confidently wrong review gives a large,
# finite log loss instead of infinity (the same convention as scikit-learn's).
LOG_LOSS_EPSILON = 1e-7
# Upper bounds (in words) of the length buckets accuracy is reported for; the last bucket
# is open. A one-line review, a paragraph, a typical review, a long one.
LENGTH_BUCKET_BOUNDS = (10, 50, 200)


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


def length_metrics(
    labels: np.ndarray,
    scores: np.ndarray,
    word_counts: np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
    bounds: Sequence[int] = LENGTH_BUCKET_BOUNDS,
) -> list[dict[str, Any]]:
    """Accuracy of the rows in each length bucket (``<= 10``, ``11-50``, ``51-200``,
    ``> 200`` words by default): ``words``, ``rows`` and ``accuracy`` (None where the
    bucket is empty)."""
    counts = np.asarray(word_counts)
    correct = (np.asarray(scores) >= threshold) == (np.asarray(labels) == 1)
    buckets = []
    for lower, upper in zip((0, *bounds), (*bounds, None), strict=True):
        if upper is None:
            name, mask = f"> {lower}", counts > lower
        else:
            name = f"<= {upper}" if lower == 0 else f"{lower + 1}-{upper}"
            mask = (counts > lower) & (counts <= upper)
        rows = int(mask.sum())
        accuracy = float(correct[mask].mean()) if rows else None
        buckets.append({"words": name, "rows": rows, "accuracy": accuracy})
    return buckets

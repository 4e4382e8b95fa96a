"""Calibration and the decision threshold, both chosen on the validation split.

Platt scaling maps a model's logit ``z`` to ``sigmoid(slope * z + intercept)``, fitted
by maximum likelihood on the validation split (never the test split). The decision
threshold is then the calibrated score that maximizes validation accuracy. Both are
stored in the bundle's metadata and applied wherever the bundle scores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

# Scores are labelled positive at or above this where no threshold was chosen on
# validation (bundles saved before thresholds were, and uncalibrated evaluations).
DEFAULT_THRESHOLD = 0.5

# Probabilities are clipped this far from 0 and 1 before taking their logit, so a
# saturated float32 output (exactly 1.0) still has a finite logit.
_PROBABILITY_EPSILON = 1e-7
_NEWTON_STEPS = 100


@dataclass(frozen=True)
class Calibration:
    """Platt scaling: ``p = sigmoid(slope * logit + intercept)``.

    Attributes:
        slope: Multiplies the model's logit.
        intercept: Added to it.
    """

    slope: float = 1.0
    intercept: float = 0.0

    def apply_logits(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated float32 probabilities from float64 logits."""
        return sigmoid(self.slope * np.asarray(logits, np.float64) + self.intercept)

    def apply(self, probabilities: np.ndarray) -> np.ndarray:
        """Calibrated float32 probabilities from the model's probabilities."""
        if self.slope == 1.0 and self.intercept == 0.0:
            return np.asarray(probabilities, np.float32)
        return self.apply_logits(logit(probabilities))

    def to_dict(self) -> dict[str, Any]:
        return {"method": "platt", "slope": self.slope, "intercept": self.intercept}

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any]) -> Calibration:
        """The bundle's calibration; the identity for bundles without one.

        Raises:
            ValueError: If the stored calibration is not a Platt scaling of finite numbers.
        """
        payload = metadata.get("calibration")
        if payload is None:
            return cls()
        if not isinstance(payload, dict) or payload.get("method") != "platt":
            raise ValueError(f"unknown calibration {payload!r}")
        slope, intercept = float(payload["slope"]), float(payload["intercept"])
        if not (math.isfinite(slope) and math.isfinite(intercept)):
            raise ValueError(f"calibration has non-finite parameters {payload!r}")
        return cls(slope, intercept)


def sigmoid(values: np.ndarray) -> np.ndarray:
    """The logistic function in float64, returned as float32 (no overflow warnings)."""
    values = np.asarray(values, np.float64)
    result = np.empty_like(values)
    positive = values >= 0
    result[positive] = 1.0 / (1.0 + np.exp(-values[positive]))
    exponential = np.exp(values[~positive])
    result[~positive] = exponential / (1.0 + exponential)
    return result.astype(np.float32)


def logit(probabilities: np.ndarray) -> np.ndarray:
    """float64 log-odds of probabilities clipped away from 0 and 1."""
    clipped = np.clip(
        np.asarray(probabilities, np.float64), _PROBABILITY_EPSILON, 1 - _PROBABILITY_EPSILON
    )
    return np.log(clipped) - np.log1p(-clipped)


def fit_platt(
    logits: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None
) -> Calibration:
    """Fit Platt scaling by Newton's method on the log loss (two parameters).

    Platt's smoothed targets (``(n+ + 1) / (n+ + 2)`` and ``1 / (n- + 2)``) keep the fit
    finite on separable data.

    Args:
        logits: The model's float64 logits on the validation split.
        labels: Their 0/1 labels.
        weights: Each row's weight in the log loss (default: 1 each); the smoothed
            targets count rows by weight.

    Returns:
        The fitted calibration (the identity when there is nothing to fit).
    """
    logits = np.asarray(logits, np.float64)
    labels = np.asarray(labels).astype(np.float64)
    weights = np.ones_like(logits) if weights is None else np.asarray(weights, np.float64)
    positives = float(weights @ labels)
    negatives = float(weights.sum() - positives)
    if labels.size == 0 or positives == 0 or negatives == 0:
        return Calibration()
    targets = np.where(labels > 0, (positives + 1) / (positives + 2), 1 / (negatives + 2))
    design = np.stack([logits, np.ones_like(logits)], axis=1)
    parameters = np.array([1.0, 0.0])

    def loss(values: np.ndarray) -> float:
        z = design @ values
        # log(1 + e^z) - t z, written stably.
        return float(weights @ (np.logaddexp(0.0, z) - targets * z))

    current = loss(parameters)
    for _ in range(_NEWTON_STEPS):
        probabilities = sigmoid(design @ parameters).astype(np.float64)
        gradient = design.T @ (weights * (probabilities - targets))
        curvature = weights * probabilities * (1 - probabilities)
        hessian = design.T @ (design * curvature[:, None]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        scale = 1.0
        while scale > 1e-6:
            candidate = parameters - scale * step
            value = loss(candidate)
            if value <= current:
                break
            scale /= 2
        else:
            break
        converged = current - value < 1e-12 * max(1.0, abs(current))
        parameters, current = candidate, value
        if converged:
            break
    return Calibration(float(parameters[0]), float(parameters[1]))


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """The threshold that maximizes accuracy of ``score >= threshold`` on these rows.

    The threshold sits halfway between the two scores it separates; among thresholds
    of equal accuracy the one nearest 0.5 wins.

    Args:
        scores: Calibrated validation scores.
        labels: Their 0/1 labels.

    Returns:
        ``(threshold, accuracy)``.
    """
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels).astype(np.int64)
    if scores.size == 0:
        return 0.5, math.nan
    order = np.argsort(scores, kind="stable")
    ordered, ordered_labels = scores[order], labels[order]
    # Cutting before sorted position k predicts positive for positions k..n-1.
    negatives_below = np.concatenate([[0], np.cumsum(1 - ordered_labels)])
    positives_above = ordered_labels.sum() - np.concatenate([[0], np.cumsum(ordered_labels)])
    correct = negatives_below + positives_above
    # Only cuts between distinct scores are realizable.
    cuts = np.concatenate([[True], ordered[1:] != ordered[:-1], [True]])
    candidates = np.concatenate(
        [[0.0], (ordered[1:] + ordered[:-1]) / 2, [min(1.0, float(ordered[-1]) + 1e-6)]]
    )
    candidates[0] = max(0.0, float(ordered[0]) - 1e-6) if ordered.size else 0.0
    eligible = np.flatnonzero(cuts)
    best = correct[eligible].max()
    winners = eligible[correct[eligible] == best]
    choice = winners[np.argmin(np.abs(candidates[winners] - 0.5))]
    return float(candidates[choice]), float(best / scores.size)


ECE_BINS = 15


def reliability_bins(
    labels: np.ndarray, scores: np.ndarray, bins: int = ECE_BINS
) -> list[dict[str, float]]:
    """Per equal-width score bin: its bounds, rows, mean score and share of positives.

    The last bin includes 1.0; empty bins have ``count`` 0 and NaN means.
    """
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels).astype(np.float64)
    index = np.minimum((scores * bins).astype(np.int64), bins - 1)
    index = np.maximum(index, 0)
    counts = np.bincount(index, minlength=bins)
    score_sums = np.bincount(index, weights=scores, minlength=bins)
    label_sums = np.bincount(index, weights=labels, minlength=bins)
    rows = []
    for position in range(bins):
        count = int(counts[position])
        rows.append(
            {
                "lower": position / bins,
                "upper": (position + 1) / bins,
                "count": count,
                "mean_score": float(score_sums[position] / count) if count else math.nan,
                "positive_share": float(label_sums[position] / count) if count else math.nan,
            }
        )
    return rows


def expected_calibration_error(
    labels: np.ndarray, scores: np.ndarray, bins: int = ECE_BINS
) -> float:
    """Expected calibration error: the row-weighted mean, over ``bins`` equal-width
    score bins, of |share of positives - mean score|."""
    total = len(scores)
    if total == 0:
        return math.nan
    return float(
        sum(
            row["count"] / total * abs(row["positive_share"] - row["mean_score"])
            for row in reliability_bins(labels, scores, bins)
            if row["count"]
        )
    )


def brier_score(labels: np.ndarray, scores: np.ndarray) -> float:
    """Mean squared difference between the score and the 0/1 label."""
    scores = np.asarray(scores, np.float64)
    if scores.size == 0:
        return math.nan
    return float(np.mean((scores - np.asarray(labels, np.float64)) ** 2))

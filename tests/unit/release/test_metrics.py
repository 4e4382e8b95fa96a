"""Evaluation metrics against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sentiment.release.metrics import (
    bootstrap_accuracy_interval,
    compute_metrics,
    confusion_matrix,
    length_metrics,
    log_loss,
    roc_auc,
)

LABELS = np.array([1, 1, 0, 0, 1])
SCORES = np.array([0.9, 0.4, 0.3, 0.6, 0.8])


def test_confusion_matrix_counts_each_outcome() -> None:
    matrix = confusion_matrix(LABELS, (SCORES >= 0.5).astype(int))
    assert matrix.as_dict() == {
        "true_negative": 1,
        "false_positive": 1,
        "false_negative": 1,
        "true_positive": 2,
    }


def test_metrics_match_hand_computed_values() -> None:
    metrics = compute_metrics(LABELS, SCORES, bootstrap_resamples=200)
    assert metrics["accuracy"] == pytest.approx(3 / 5)
    assert metrics["precision"] == pytest.approx(2 / 3)
    assert metrics["recall"] == pytest.approx(2 / 3)
    assert metrics["f1"] == pytest.approx(2 / 3)
    # Positives {0.9, 0.4, 0.8} beat negatives {0.3, 0.6} in 5 of 6 pairs.
    assert metrics["roc_auc"] == pytest.approx(5 / 6)
    expected_loss = (
        -(math.log(0.9) + math.log(0.4) + math.log(0.7) + math.log(0.4) + math.log(0.8)) / 5
    )
    assert metrics["log_loss"] == pytest.approx(expected_loss)
    assert metrics["count"] == 5


def test_roc_auc_counts_ties_as_half() -> None:
    # Pairs: 0.5 vs 0.5 tie (1/2), 0.5 > 0.2, 0.7 > 0.5, 0.7 > 0.2.
    assert roc_auc(np.array([1, 0, 1, 0]), np.array([0.5, 0.5, 0.7, 0.2])) == pytest.approx(3.5 / 4)
    assert roc_auc(np.array([1, 0, 1, 0]), np.full(4, 0.3)) == pytest.approx(0.5)
    assert roc_auc(np.array([0, 0, 1, 1]), np.array([0.9, 0.8, 0.1, 0.2])) == 0.0


def test_roc_auc_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="both"):
        roc_auc(np.array([1, 1]), np.array([0.2, 0.9]))


def test_log_loss_stays_finite_for_confidently_wrong_scores() -> None:
    loss = log_loss(np.array([1, 0]), np.array([0.0, 1.0]))
    assert math.isfinite(loss)
    assert loss == pytest.approx(-math.log(1e-7), rel=1e-6)


def test_degenerate_predictions_give_zero_precision_not_nan() -> None:
    metrics = compute_metrics(
        np.array([1, 0, 1]), np.array([0.1, 0.2, 0.3]), bootstrap_resamples=50
    )
    assert metrics["precision"] == 0.0
    assert metrics["recall"] == 0.0
    assert metrics["f1"] == 0.0


def test_metrics_reject_scores_outside_the_unit_interval() -> None:
    with pytest.raises(ValueError, match="finite"):
        compute_metrics(np.array([1, 0]), np.array([0.5, np.nan]))
    with pytest.raises(ValueError, match="labels"):
        compute_metrics(np.array([2, 0]), np.array([0.5, 0.5]))


def test_bootstrap_interval_matches_naive_resampling_and_is_reproducible() -> None:
    generator = np.random.default_rng(0)
    correct = generator.random(2000) < 0.8
    lower, upper = bootstrap_accuracy_interval(correct, resamples=4000, seed=1)
    assert lower < correct.mean() < upper
    assert (lower, upper) == bootstrap_accuracy_interval(correct, resamples=4000, seed=1)
    # Naive bootstrap: resample indices with replacement.
    indices = generator.integers(0, correct.size, size=(2000, correct.size))
    naive = correct[indices].mean(axis=1)
    naive_lower, naive_upper = np.quantile(naive, [0.025, 0.975])
    assert lower == pytest.approx(naive_lower, abs=0.004)
    assert upper == pytest.approx(naive_upper, abs=0.004)
    # Normal approximation: half-width about 1.96 * sqrt(p (1 - p) / n).
    half_width = 1.96 * math.sqrt(0.8 * 0.2 / correct.size)
    assert (upper - lower) / 2 == pytest.approx(half_width, rel=0.1)


def test_ece_and_brier_match_a_hand_computation() -> None:
    # Bin [0.2, 0.267): scores 0.25 x4, one positive -> |0.25 - 0.25| = 0.
    # Bin [0.933, 1]: scores 0.95 x4, two positive -> |0.5 - 0.95| = 0.45, half the rows.
    labels = np.array([1, 0, 0, 0, 1, 1, 0, 0])
    scores = np.array([0.25] * 4 + [0.95] * 4)
    metrics = compute_metrics(labels, scores, bootstrap_resamples=10)
    assert metrics["ece"] == pytest.approx(0.5 * 0.45)
    expected_brier = (0.75**2 + 3 * 0.25**2 + 2 * 0.05**2 + 2 * 0.95**2) / 8
    assert metrics["brier"] == pytest.approx(expected_brier)
    counts = [row["count"] for row in metrics["reliability"]["rows"]]
    assert len(counts) == 15 and counts[3] == 4 and counts[14] == 4 and sum(counts) == 8


def test_length_buckets_count_rows_and_accuracy_by_words() -> None:
    words = np.array([3, 10, 11, 50, 51, 200, 201, 900])
    labels = np.array([1, 0, 1, 0, 1, 0, 1, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.2, 0.6, 0.4, 0.1, 0.9])  # wrong: rows 1, 6, 7
    buckets = length_metrics(labels, scores, words)
    assert buckets == [
        {"words": "<= 10", "rows": 2, "accuracy": 0.5},
        {"words": "11-50", "rows": 2, "accuracy": 1.0},
        {"words": "51-200", "rows": 2, "accuracy": 1.0},
        {"words": "> 200", "rows": 2, "accuracy": 0.0},
    ]
    assert length_metrics(labels[:2], scores[:2], words[:2])[1] == {
        "words": "11-50",
        "rows": 0,
        "accuracy": None,
    }

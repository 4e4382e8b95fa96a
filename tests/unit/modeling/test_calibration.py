"""Platt scaling, the validation threshold and calibration error, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from sentiment.modeling.calibration import (
    Calibration,
    best_threshold,
    expected_calibration_error,
    fit_platt,
    logit,
    sigmoid,
)


def test_platt_recovers_the_scaling_that_generated_the_labels() -> None:
    generator = np.random.default_rng(0)
    logits = generator.normal(scale=3.0, size=200_000)
    labels = generator.random(logits.size) < sigmoid(0.6 * logits + 0.4)
    calibration = fit_platt(logits, labels)
    assert calibration.slope == pytest.approx(0.6, abs=0.02)
    assert calibration.intercept == pytest.approx(0.4, abs=0.02)
    # Calibrated scores of such data are calibrated; the raw ones are not.
    assert expected_calibration_error(labels, calibration.apply_logits(logits)) < 0.01
    assert expected_calibration_error(labels, sigmoid(logits)) > 0.05


def test_calibration_applies_to_probabilities_through_their_logit() -> None:
    calibration = Calibration(slope=2.0, intercept=-1.0)
    probabilities = np.array([0.1, 0.5, 0.9], np.float32)
    expected = sigmoid(2.0 * logit(probabilities) - 1.0)
    np.testing.assert_allclose(calibration.apply(probabilities), expected, atol=1e-7)
    assert Calibration.from_metadata({}) == Calibration()
    with pytest.raises(ValueError, match="unknown calibration"):
        Calibration.from_metadata({"calibration": {"method": "isotonic"}})


def test_best_threshold_maximizes_accuracy_between_two_scores() -> None:
    scores = np.array([0.1, 0.2, 0.3, 0.35, 0.6, 0.7])
    labels = np.array([0, 0, 0, 1, 1, 1])
    threshold, accuracy = best_threshold(scores, labels)
    assert threshold == pytest.approx(0.325) and accuracy == 1.0
    # Ties go to the threshold nearest 0.5.
    threshold, accuracy = best_threshold(np.array([0.2, 0.8]), np.array([0, 1]))
    assert threshold == pytest.approx(0.5) and accuracy == 1.0


def test_platt_weights_rows_as_if_they_were_repeated() -> None:
    generator = np.random.default_rng(1)
    logits = generator.normal(scale=2.0, size=300)
    labels = generator.random(logits.size) < sigmoid(0.8 * logits - 0.3)
    repeats = generator.integers(1, 4, size=logits.size)
    weighted = fit_platt(logits, labels, repeats.astype(np.float64))
    repeated = fit_platt(np.repeat(logits, repeats), np.repeat(labels, repeats))
    assert weighted.slope == pytest.approx(repeated.slope, rel=1e-6)
    assert weighted.intercept == pytest.approx(repeated.intercept, rel=1e-6)
    assert weighted != fit_platt(logits, labels)

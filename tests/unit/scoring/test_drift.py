"""Drift is decided from a scoring summary's figures against configurable limits."""

from __future__ import annotations

from typing import Any

import pytest

from sentiment.core.errors import ConfigError
from sentiment.scoring.config import DriftThresholds
from sentiment.scoring.drift import detect_drift


def summary(**changes: Any) -> dict[str, Any]:
    base = {
        "rows": 1000,
        "null_text_rows": 0,
        "oov_rate": 0.03,
        "training_oov_rate": 0.02,
        "length_quantiles": {"p50": 170.0},
        "training_length_quantiles": {"p50": 170.0},
        "positive_share": 0.52,
    }
    return {**base, **changes}


def test_a_batch_like_training_is_not_drift() -> None:
    report = detect_drift(summary(), DriftThresholds())
    assert report.status == "no drift"
    assert not report.drifted and not any(check.exceeded for check in report.checks)


@pytest.mark.parametrize(
    ("changes", "measure"),
    [
        ({"oov_rate": 0.09}, "out-of-vocabulary rate"),
        ({"length_quantiles": {"p50": 20.0}}, "median review length (words)"),
        ({"length_quantiles": {"p50": 600.0}}, "median review length (words)"),
        ({"positive_share": 0.9}, "predicted positive share"),
    ],
)
def test_each_measure_past_its_limit_is_drift(changes: dict[str, Any], measure: str) -> None:
    report = detect_drift(summary(**changes), DriftThresholds())
    assert report.drifted
    assert [check.measure for check in report.checks if check.exceeded] == [measure]
    assert measure in report.reason
    assert "| yes |" in report.to_markdown()


def test_limits_are_configurable() -> None:
    assert detect_drift(
        summary(oov_rate=0.09), DriftThresholds(maximum_oov_increase=0.1)
    ).status == ("no drift")


def test_small_batches_and_missing_references_are_not_judged() -> None:
    assert detect_drift(summary(rows=10), DriftThresholds()).status == "not judged"
    assert detect_drift(summary(training_oov_rate=None), DriftThresholds()).status == "not judged"


def test_thresholds_refuse_nonsense() -> None:
    with pytest.raises(ConfigError, match="maximum_length_ratio"):
        DriftThresholds(maximum_length_ratio=0.5)

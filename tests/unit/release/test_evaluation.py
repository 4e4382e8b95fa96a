"""Evaluation metrics against hand-computed values, and evaluating a scorer on a split."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sentiment.core.errors import DataError, StageOutputMissingError
from sentiment.release.evaluation import (
    EVALUATION_FILE,
    PREDICTIONS_FILE,
    RELIABILITY_FILE,
    EvaluationError,
    bootstrap_accuracy_interval,
    compute_metrics,
    confusion_matrix,
    evaluate_scorer,
    load_test_split,
    log_loss,
    read_evaluation,
    read_predictions,
    roc_auc,
    same_test_data,
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


# --- evaluating a scorer ---------------------------------------------------------------


class FakeScorer:
    """Scores each review by a fixed table; a stand-in for a model bundle."""

    def __init__(self, scores: dict[str, float]) -> None:
        self.scores = scores
        self.calls = 0

    def predict_texts(self, texts: Sequence[str | None], batch_size: int = 1024) -> np.ndarray:
        self.calls += 1
        return np.array([self.scores.get(text or "", np.nan) for text in texts], np.float32)


def write_raw_test(home: Path, count: int = 40, seed: int = 0) -> dict[str, float]:
    """Write a raw test split of ``count`` reviews; return text -> a plausible score."""
    generator = np.random.default_rng(seed)
    labels = np.arange(count) % 2
    texts = [f"review number {index}" for index in range(count)]
    table = pa.table(
        {
            "review_id": [
                f"test/{'pos' if label else 'neg'}/{index}" for index, label in enumerate(labels)
            ],
            "text": texts,
            "label": pa.array(labels, pa.int8()),
            "rating": pa.array(np.where(labels == 1, 9, 2), pa.int8()),
        }
    )
    path = home / "raw" / "imdb" / "test.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    noise = generator.uniform(0.0, 0.45, size=count)
    scores = np.where(labels == 1, 0.55 + noise, 0.45 - noise)
    scores[:4] = 1.0 - scores[:4]  # four wrong predictions
    return dict(zip(texts, scores.tolist(), strict=True))


def test_load_test_split_fingerprints_the_rows(tmp_path: Path) -> None:
    write_raw_test(tmp_path)
    split = load_test_split(tmp_path)
    assert len(split.review_ids) == 40
    assert split.fingerprint["rows"] == 40
    assert split.fingerprint["path"] == "raw/imdb/test.parquet"
    assert split.fingerprint["rows_sha256"].startswith("sha256:")
    assert same_test_data(split.fingerprint, load_test_split(tmp_path).fingerprint)
    other = tmp_path / "other"
    write_raw_test(other, count=42)
    assert not same_test_data(split.fingerprint, load_test_split(other).fingerprint)


def test_load_test_split_explains_missing_or_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(StageOutputMissingError, match="sentiment ingest"):
        load_test_split(tmp_path)
    path = tmp_path / "raw" / "imdb" / "test.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.table({"review_id": ["a"], "text": ["x"]}), path)
    with pytest.raises(DataError, match="label"):
        load_test_split(tmp_path)
    path.write_bytes(b"not parquet")
    with pytest.raises(DataError, match="cannot be read"):
        load_test_split(tmp_path)


def test_evaluate_scorer_writes_evaluation_and_predictions(tmp_path: Path) -> None:
    scores = write_raw_test(tmp_path)
    bundle = tmp_path / "models" / "v1"
    bundle.mkdir(parents=True)
    evaluation = evaluate_scorer(
        FakeScorer(scores),
        load_test_split(tmp_path),
        bundle,
        version="v1",
        model_name="fake",
        bootstrap_resamples=100,
    )
    assert evaluation["metrics"]["accuracy"] == pytest.approx(36 / 40)
    assert read_evaluation(bundle) == json.loads((bundle / EVALUATION_FILE).read_text())
    assert evaluation["model"] == "fake"
    review_ids, labels, stored = read_predictions(bundle)
    assert review_ids == load_test_split(tmp_path).review_ids
    assert labels.tolist() == (np.arange(40) % 2).tolist()
    assert stored == pytest.approx(np.array(list(scores.values())), abs=1e-6)
    assert sorted(path.name for path in bundle.iterdir()) == sorted(
        [EVALUATION_FILE, PREDICTIONS_FILE, RELIABILITY_FILE]
    )
    assert (bundle / RELIABILITY_FILE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 0 <= evaluation["metrics"]["ece"] <= 1 and 0 <= evaluation["metrics"]["brier"] <= 1


def test_evaluate_scorer_refuses_missing_scores_and_writes_nothing(tmp_path: Path) -> None:
    scores = write_raw_test(tmp_path)
    scores.pop("review number 3")
    bundle = tmp_path / "models" / "v1"
    bundle.mkdir(parents=True)
    with pytest.raises(EvaluationError, match="1 of 40"):
        evaluate_scorer(FakeScorer(scores), load_test_split(tmp_path), bundle, version="v1")
    assert list(bundle.iterdir()) == []


def test_read_evaluation_explains_missing_and_corrupt_files(tmp_path: Path) -> None:
    bundle = tmp_path / "v1"
    bundle.mkdir()
    with pytest.raises(EvaluationError, match="has not been evaluated"):
        read_evaluation(bundle)
    (bundle / EVALUATION_FILE).write_text("{not json")
    with pytest.raises(EvaluationError, match="corrupt"):
        read_evaluation(bundle)
    (bundle / EVALUATION_FILE).write_text(json.dumps({"metrics": {"accuracy": "high"}}))
    with pytest.raises(EvaluationError, match=r"metrics\.accuracy"):
        read_evaluation(bundle)


def test_rows_fingerprint_changes_with_any_id_label_or_text() -> None:
    from sentiment.release.evaluation import rows_fingerprint

    labels = np.array([1, 0])
    base = rows_fingerprint(["a", "b"], labels, ["ab", "c"])
    assert base == rows_fingerprint(["a", "b"], labels.copy(), ["ab", "c"])
    assert base != rows_fingerprint(["a", "b"], labels, ["a", "bc"])
    assert base != rows_fingerprint(["a", "b"], np.array([0, 1]), ["ab", "c"])
    assert base != rows_fingerprint(["b", "a"], labels, ["ab", "c"])
    assert base != rows_fingerprint(["a", "b"], labels, ["ab", None])


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

"""Evaluating a scorer on the test split, and reading the stored evaluation back."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sentiment.core.atomic import file_sha256
from sentiment.data.short_texts import ShortTexts, ingest_short_texts, read_short_texts
from sentiment.release.errors import EvaluationError
from sentiment.release.evaluation import (
    EVALUATION_FILE,
    PREDICTIONS_FILE,
    RELIABILITY_FILE,
    evaluate_scorer,
    read_evaluation,
    read_predictions,
    word_counts,
)
from sentiment.release.test_split import load_test_split
from tests.support.registry import scored_raw_test


class FakeScorer:
    """Scores each review by a fixed table; a stand-in for a model bundle."""

    def __init__(self, scores: dict[str, float]) -> None:
        self.scores = scores
        self.calls = 0

    def predict_texts(self, texts: Sequence[str | None], batch_size: int = 1024) -> np.ndarray:
        self.calls += 1
        return np.array([self.scores.get(text or "", np.nan) for text in texts], np.float32)


def test_evaluate_scorer_writes_evaluation_and_predictions(tmp_path: Path) -> None:
    scores = scored_raw_test(tmp_path)
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
    # Every test review holds 3 words ("review number N"): one bucket holds them all.
    lengths = {bucket["words"]: bucket for bucket in evaluation["metrics"]["lengths"]}
    assert lengths["<= 10"] == {"words": "<= 10", "rows": 40, "accuracy": pytest.approx(36 / 40)}
    assert [lengths[name]["rows"] for name in ("11-50", "51-200", "> 200")] == [0, 0, 0]


def test_evaluate_scorer_refuses_missing_scores_and_writes_nothing(tmp_path: Path) -> None:
    scores = scored_raw_test(tmp_path)
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


def test_words_are_counted_as_the_tokenizer_splits_them() -> None:
    texts = ["Not bad at all!", "It's <br />good... really?", "", None]
    assert word_counts(texts).tolist() == [4, 3, 0, 0]


def test_evaluating_says_how_many_test_reviews_are_scored_as_it_goes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    scores = scored_raw_test(tmp_path)
    bundle = tmp_path / "models" / "v1"
    bundle.mkdir(parents=True)
    scorer = FakeScorer(scores)
    with caplog.at_level(logging.INFO, logger="sentiment.release.evaluation"):
        evaluation = evaluate_scorer(
            scorer,
            load_test_split(tmp_path),
            bundle,
            version="v1",
            bootstrap_resamples=100,
            batch_size=4,
            progress_seconds=0,
        )
    lines = [record.getMessage() for record in caplog.records]
    assert lines[0] == "Evaluating v1 (40 test reviews): started."
    # Scored a whole number of batches at a time (4 batches of 4 reviews), counted.
    assert scorer.calls == 3
    assert [line.split(" after")[0] for line in lines if " of 40 test reviews" in line] == [
        "Evaluating v1: 16 of 40 test reviews (40%)",
        "Evaluating v1: 32 of 40 test reviews (80%)",
        "Evaluating v1: 40 of 40 test reviews (100%)",
    ]
    assert "Evaluating v1: metrics with 100 bootstrap resamples." in lines
    assert any(line.startswith("Evaluating v1: done 40 test reviews in ") for line in lines)
    # The same evaluation as one call scoring every review at once.
    assert evaluation["metrics"]["accuracy"] == pytest.approx(36 / 40)


def _short_texts(home: Path, texts: list[str], labels: list[int]) -> ShortTexts | None:
    """The development set the home holds after ingesting these texts."""
    source = home.parent / "source" / "tiny_dev.parquet"
    source.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"text": texts, "label": pa.array(labels, pa.int64())}), source)
    ingest_short_texts(str(source), home)
    return read_short_texts(home)


def test_the_short_text_development_set_is_reported_by_length_where_the_home_holds_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / "home"
    scores = scored_raw_test(home)
    long_text = " ".join(["word"] * 12)
    texts = ["good", "bad", "fine film", long_text, "   "]
    scores |= {"good": 0.9, "bad": 0.7, "fine film": 0.6, long_text: 0.2}
    bundle = home / "models" / "v1"
    bundle.mkdir(parents=True)
    arguments = {"version": "v1", "bootstrap_resamples": 100, "threshold": 0.65}

    without = evaluate_scorer(FakeScorer(scores), load_test_split(home), bundle, **arguments)
    assert read_short_texts(home) is None
    assert "short_texts" not in without

    development = _short_texts(home, texts, [1, 0, 1, 0, 1])
    with caplog.at_level(logging.INFO, logger="sentiment.release.evaluation"):
        evaluation = evaluate_scorer(
            FakeScorer(scores), load_test_split(home), bundle, short_texts=development, **arguments
        )
    # The run's log says it too, beside the test split's accuracy.
    assert (
        "Short-text development set tiny_dev: accuracy 0.4000 on 5 texts "
        "(<= 10 words 0.3333, 11-50 words 1.0000)" in caplog.text
    )

    entry = read_evaluation(bundle)["short_texts"]
    assert entry == evaluation["short_texts"]
    # At 0.65: good right, bad wrong, fine film wrong, the long one right, the blank one
    # unscored and so wrong.
    assert (entry["name"], entry["rows"], entry["unscored"]) == ("tiny_dev", 5, 1)
    assert entry["accuracy"] == pytest.approx(2 / 5)
    # The blank text has no word, so no length bucket holds it.
    assert entry["lengths"] == [
        {"words": "<= 10", "rows": 3, "accuracy": pytest.approx(1 / 3)},
        {"words": "11-50", "rows": 1, "accuracy": 1.0},
        {"words": "51-200", "rows": 0, "accuracy": None},
        {"words": "> 200", "rows": 0, "accuracy": None},
    ]
    assert entry["data"]["file_sha256"] == file_sha256(home / "raw" / "short-texts" / "dev.parquet")
    # Reported only: the test split's metrics are those of the evaluation without it.
    assert evaluation["metrics"] == without["metrics"]
    assert evaluation["test_data"] == without["test_data"]

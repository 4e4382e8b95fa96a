"""Registry homes for tests: bundles evaluated by a fixed score table, and promoting a
bundle the way a person would (evaluate it, record the evaluation, then promote it past
the gate with a recorded reason, as ``sentiment promote --force`` does)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sentiment.release.config import GatePolicy
from sentiment.release.evaluation import evaluate_scorer, evaluate_version
from sentiment.release.ledger import read_ledger
from sentiment.release.promotion import promote, record_evaluation
from sentiment.release.test_split import TestSplit, load_test_split, rows_fingerprint

FIXTURE_REASON = "test fixture: an untrained model stands in for a trained champion"


def promote_bundle(home: Path, version: str, texts: Sequence[str] | None = None) -> None:
    """Evaluate ``models/<version>``, record it and make it the champion.

    Args:
        home: The pipeline home holding the bundle.
        version: The bundle's version.
        texts: Reviews to evaluate it on (labels alternate 0, 1, ...; at least two), for
            a home without a raw test split; None evaluates it on the home's test split.
    """
    from sentiment.modeling.bundle import load_bundle

    home = Path(home)
    if texts is None:
        evaluate_version(home, version)
    else:
        review_ids = [f"fixture/{index}" for index in range(len(texts))]
        labels = (np.arange(len(texts)) % 2).astype(np.int8)
        fingerprint = {
            "rows": len(texts),
            "rows_sha256": rows_fingerprint(review_ids, labels, list(texts)),
        }
        directory = home / "models" / version
        evaluate_scorer(
            load_bundle(directory),
            TestSplit(review_ids, list(texts), labels, fingerprint),
            directory,
            version=version,
            bootstrap_resamples=200,
        )
    record_evaluation(home, version)
    promote(home, version, reason=FIXTURE_REASON, user="tests")


# --- evaluated bundles with chosen mistakes ---------------------------------------------

ROWS = 400


LENIENT = GatePolicy(minimum_accuracy=0.5, minimum_roc_auc=0.5)


class TableScorer:
    def __init__(self, scores: dict[str, float]) -> None:
        self.scores = scores

    def predict_texts(self, texts: Sequence[str | None], batch_size: int = 1024) -> np.ndarray:
        return np.array([self.scores[text or ""] for text in texts], dtype=np.float32)


def texts_and_labels() -> tuple[list[str], np.ndarray]:
    return [f"review {index}" for index in range(ROWS)], (np.arange(ROWS) % 2).astype(np.int8)


def write_raw_test(home: Path) -> None:
    texts, labels = texts_and_labels()
    path = home / "raw" / "imdb" / "test.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "review_id": [f"test/{index}" for index in range(ROWS)],
            "text": texts,
            "label": pa.array(labels, pa.int8()),
        }
    )
    pq.write_table(table, path)


def make_evaluated(home: Path, version: str, wrong: Sequence[int], model: str = "fake") -> Path:
    """A bundle directory evaluated on the home's test split, wrong on ``wrong``."""
    if not (home / "raw" / "imdb" / "test.parquet").exists():
        write_raw_test(home)
    texts, labels = texts_and_labels()
    scores = np.where(labels == 1, 0.9, 0.1)
    scores[list(wrong)] = np.where(labels[list(wrong)] == 1, 0.4, 0.6)
    directory = home / "models" / version
    directory.mkdir(parents=True)
    (directory / "metadata.json").write_text(json.dumps({"model": {"name": model}}))
    evaluate_scorer(
        TableScorer(dict(zip(texts, scores.tolist(), strict=True))),
        load_test_split(home),
        directory,
        version=version,
        model_name=model,
        bootstrap_resamples=200,
    )
    record_evaluation(home, version)
    return directory


def ledger_bytes(home: Path) -> bytes:
    path = home / "models" / "ledger.jsonl"
    return path.read_bytes() if path.exists() else b""


def events(home: Path) -> list[tuple[str, str]]:
    return [(event["event"], event["version"]) for event in read_ledger(home)]


# --- a raw test split with a plausible score per review ---------------------------------


def scored_raw_test(home: Path, count: int = 40, seed: int = 0) -> dict[str, float]:
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

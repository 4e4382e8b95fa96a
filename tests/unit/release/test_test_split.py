"""Loading and fingerprinting the test split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sentiment.core.errors import DataError, StageOutputMissingError
from sentiment.release.test_split import load_test_split, rows_fingerprint, same_test_data


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


def test_rows_fingerprint_changes_with_any_id_label_or_text() -> None:
    labels = np.array([1, 0])
    base = rows_fingerprint(["a", "b"], labels, ["ab", "c"])
    assert base == rows_fingerprint(["a", "b"], labels.copy(), ["ab", "c"])
    assert base != rows_fingerprint(["a", "b"], labels, ["a", "bc"])
    assert base != rows_fingerprint(["a", "b"], np.array([0, 1]), ["ab", "c"])
    assert base != rows_fingerprint(["b", "a"], labels, ["ab", "c"])
    assert base != rows_fingerprint(["a", "b"], labels, ["ab", None])

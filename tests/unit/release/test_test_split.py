"""Loading and fingerprinting the test split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sentiment.core.errors import DataError, StageOutputMissingError
from sentiment.release.test_split import load_test_split, rows_fingerprint, same_test_data
from tests.support.registry import scored_raw_test


def test_load_test_split_fingerprints_the_rows(tmp_path: Path) -> None:
    scored_raw_test(tmp_path)
    split = load_test_split(tmp_path)
    assert len(split.review_ids) == 40
    assert split.fingerprint["rows"] == 40
    assert split.fingerprint["path"] == "raw/imdb/test.parquet"
    assert split.fingerprint["rows_sha256"].startswith("sha256:")
    assert same_test_data(split.fingerprint, load_test_split(tmp_path).fingerprint)
    other = tmp_path / "other"
    scored_raw_test(other, count=42)
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

"""Preprocessing the real IMDB data with default settings (skips where it is absent)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from sentiment.core.paths import HomeLayout
from sentiment.data.config import PreprocessConfig
from sentiment.data.preprocess import find_processed, preprocess
from sentiment.encoding.text import reference_tokenize, tokenize
from sentiment.encoding.tokens import token_lists
from sentiment.encoding.vectorizer import Vectorizer


def test_splits_have_the_documented_sizes_shapes_and_balance(processed_default: Any) -> None:
    expected_rows = {"train": 22_500, "validation": 2_500, "test": 25_000}
    for split, rows in expected_rows.items():
        path = processed_default.directory / f"{split}.parquet"
        parquet = pq.ParquetFile(path)
        assert parquet.metadata.num_rows == rows
        assert parquet.schema_arrow.field("token_ids").type.list_size == 500
        # Row groups small enough to stream into tf.data.
        assert (
            max(
                parquet.metadata.row_group(index).num_rows
                for index in range(parquet.metadata.num_row_groups)
            )
            <= 8192
        )
        labels = pq.read_table(path, columns=["label"]).column("label").to_numpy()
        assert (labels == 1).sum() == (labels == 0).sum() == rows // 2
    ids = pq.read_table(processed_default.directory / "validation.parquet").column("token_ids")
    values = ids.combine_chunks().flatten().to_numpy()
    assert values.min() == 0 and values.max() == 4999
    manifest = processed_default.manifest
    assert manifest["rows"] == expected_rows
    assert manifest["vocabulary"]["size"] == 5000
    # The 4,998 most frequent words cover the bulk of the text, not all of it.
    assert 0.8 < manifest["vocabulary"]["training_token_coverage"] < 0.99
    assert 0.0 < manifest["splits"]["test"]["oov_rate"] < 0.2


def test_rerun_is_a_cache_hit(imdb_home: Path, processed_default: Any) -> None:
    again = preprocess(imdb_home, PreprocessConfig())
    assert again.cache_hit and again.key == processed_default.key
    assert find_processed(imdb_home, PreprocessConfig()).directory == processed_default.directory


def test_stored_ids_match_the_vectorizer_and_the_tokenizer_definition(
    imdb_home: Path, processed_default: Any
) -> None:
    raw = pq.read_table(HomeLayout(imdb_home).raw_split("test")).slice(0, 3000)
    texts = raw.column("text").to_pylist()
    # Both fast tokenizers agree with the regular-expression definition on real reviews.
    expected = [reference_tokenize(text) for text in texts]
    assert [tokenize(text) for text in texts] == expected
    assert token_lists(raw.column("text")).to_pylist() == expected
    vectorizer = Vectorizer.load(processed_default.directory / "vectorizer.json")
    stored = pq.read_table(processed_default.directory / "test.parquet").slice(0, 3000)
    np.testing.assert_array_equal(
        np.stack(stored.column("token_ids").to_numpy(zero_copy_only=False)),
        vectorizer.encode(texts),
    )

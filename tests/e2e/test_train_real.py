"""The tutorial CNN trained for its 2 epochs on the real IMDB data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from sentiment.core.paths import HomeLayout
from sentiment.modeling import dataset
from sentiment.modeling.bundle import load_bundle


def test_cnn_reaches_the_tutorials_accuracy(
    imdb_home: Path, processed_default: Any, trained_cnn: Any
) -> None:
    # The session fixture trains `cnn` once with its defaults (2 epochs) for every e2e test.
    result = trained_cnn
    assert result.preprocessing_key == processed_default.key
    assert len(result.history) == 2

    bundle = load_bundle(result.directory)
    token_ids, labels = dataset.load_arrays(processed_default.directory / "test.parquet")
    assert len(labels) == 25_000
    scores = bundle.predict_token_ids(token_ids)
    accuracy = float(np.mean((scores >= 0.5) == (labels == 1)))
    assert accuracy >= 0.86, f"test accuracy {accuracy:.4f}"

    # Raw texts through the bundle's own vectorizer score like the processed ids.
    raw = pq.read_table(HomeLayout(imdb_home).raw_split("test"), columns=["review_id", "text"])
    processed_ids = pq.read_table(
        processed_default.directory / "test.parquet", columns=["review_id"]
    ).column("review_id")
    position = {review_id: index for index, review_id in enumerate(processed_ids.to_pylist())}
    sample = raw.slice(0, 300)
    rows = [position[review_id] for review_id in sample.column("review_id").to_pylist()]
    np.testing.assert_allclose(
        bundle.predict_texts(sample.column("text").to_pylist()), scores[rows], atol=1e-5
    )

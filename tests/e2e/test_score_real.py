"""Batch scoring of the real IMDB test reviews with a model trained on the real data."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from sentiment.core.paths import HomeLayout
from sentiment.scoring.config import ScoringConfig
from sentiment.scoring.discovery import discover_inputs
from sentiment.scoring.outputs import LABEL_COLUMN, SCORE_COLUMN
from tests.support.scoring import score_files


@pytest.fixture(scope="module")
def bundle(trained_mlp: Any) -> Any:
    """The tutorial MLP trained on the real training split (shared with other e2e tests)."""
    from sentiment.modeling.bundle import load_bundle

    return load_bundle(trained_mlp.directory)


def test_scores_the_real_test_split_and_a_gzipped_jsonl_dump(
    imdb_home: Path, bundle: Any, tmp_path: Path
) -> None:
    test_split = HomeLayout(imdb_home).raw_split("test")
    original = pq.read_table(test_split)
    sample = original.slice(0, 700).to_pylist()
    dump = tmp_path / "dump.jsonl.gz"
    dump.write_bytes(
        gzip.compress(
            "".join(
                json.dumps({"id": row["review_id"], "review": row["text"]}) + "\n" for row in sample
            ).encode()
        )
    )
    output = tmp_path / "scored"
    inputs = discover_inputs([str(test_split), str(dump)], output_dir=output).inputs
    results = score_files(inputs, output, bundle, ScoringConfig())
    assert [result.status for result in results] == ["scored", "scored"]

    scored = pq.read_table(output / "test.parquet")
    assert scored.num_rows == 25_000
    assert scored.column("review_id").equals(original.column("review_id"))
    labels = np.asarray(original.column("label").to_pylist())
    predicted = np.asarray(scored.column(LABEL_COLUMN).to_pylist()) == "positive"
    assert (predicted == (labels == 1)).mean() >= 0.80

    # Outputs keep the whole input name: dump.jsonl.gz.parquet.
    small = pq.read_table(output / "dump.jsonl.gz.parquet")
    expected = bundle.predict_texts([row["text"] for row in sample])
    np.testing.assert_allclose(
        small.column(SCORE_COLUMN).to_numpy(zero_copy_only=False), expected, rtol=1e-5
    )
    np.testing.assert_allclose(
        small.column(SCORE_COLUMN).to_numpy(zero_copy_only=False),
        scored.column(SCORE_COLUMN).to_numpy(zero_copy_only=False)[:700],
        rtol=1e-5,
    )
    rerun = score_files(inputs, output, bundle, ScoringConfig())
    assert [result.status for result in rerun] == ["skipped", "skipped"]

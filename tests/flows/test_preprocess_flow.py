"""The preprocess flow on a small synthetic raw set, under the session's Prefect server."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
from prefect.artifacts import Artifact

from flows.preprocess import preprocess_flow
from sentiment.data.config import PreprocessConfig
from sentiment.data.preprocess import find_processed
from sentiment.encoding.config import VectorizerConfig
from sentiment.modeling.config import TrainConfig
from tests.support.raw_homes import make_home


def test_preprocess_flow_writes_then_hits_the_cache(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home")
    first = preprocess_flow(
        home=str(home),
        training=TrainConfig(model="mlp", vectorizer=VectorizerConfig(num_words=30, max_length=6)),
    )
    assert not first["cache_hit"]
    assert first["rows"] == {"train": 36, "validation": 4, "test": 20}
    directory = Path(first["directory"])
    table = pq.read_table(directory / "train.parquet")
    assert table.column("token_ids").type.list_size == 6
    config = PreprocessConfig(vectorizer=VectorizerConfig(num_words=30, max_length=6))
    assert find_processed(home, config).key == first["key"]

    second = preprocess_flow(
        home=str(home),
        training=TrainConfig(model="mlp", vectorizer=VectorizerConfig(num_words=30, max_length=6)),
    )
    assert second["cache_hit"] and second["key"] == first["key"]

    # The latest summary artifact describes the rerun: settings, rows, OOV, cache hit.
    artifact = Artifact.get("preprocess-summary")
    assert artifact is not None
    assert f"# Preprocessing `{first['key']}` (cache hit)" in artifact.data
    assert "| num_words | 30 |" in artifact.data
    assert "| validation | 4 |" in artifact.data

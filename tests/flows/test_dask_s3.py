"""A real Dask cluster scoring from and to a real S3-compatible server: the workers read
their shards and the bundle from the bucket and write their parts there, and the driver
joins them in the bucket."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from flows.score import score_flow
from sentiment.modeling.bundle_files import bundle_identity
from sentiment.scoring.config import ClusterConfig, ScoringConfig
from sentiment.scoring.discovery import discover_inputs
from sentiment.scoring.shards import plan_shards
from tests.support.s3_dumps import (
    EXPECTED,
    local_outputs,
    object_keys,
    remote_outputs,
    upload,
    write_dump,
)
from tests.support.s3_server import BUCKET


@pytest.fixture(scope="module")
def bundle_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where this module's processes (the workers too) copy bundles named by URL."""
    directory = tmp_path_factory.mktemp("bundle-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SENTIMENT_BUNDLE_CACHE", str(directory))
        yield directory


@pytest.fixture(scope="module")
def s3_cluster(s3: pafs.S3FileSystem, bundle_cache: Path, cluster: str) -> str:
    """The cluster, started after the server so its workers inherit ``AWS_*``."""
    return cluster


def test_a_dask_cluster_scores_s3_shards_with_a_bundle_from_s3_equal_to_local(
    champion_home: Path,
    s3: pafs.S3FileSystem,
    s3_cluster: str,
    bundle_cache: Path,
    tmp_path: Path,
) -> None:
    write_dump(tmp_path / "dump")
    upload(s3, tmp_path / "dump", "dask-in")
    (bundle,) = [path for path in (champion_home / "models").iterdir() if path.is_dir()]
    upload(s3, bundle, f"models/{bundle.name}")
    score_flow([str(tmp_path / "dump")], str(tmp_path / "local"), home=str(champion_home))
    expected = local_outputs(tmp_path / "local")

    # Small shards: the large Parquet, CSV and JSON-lines objects are scored in parts.
    config = ScoringConfig(shard_bytes=64 << 10)
    settings = {
        "home": str(champion_home),
        "config": config,
        "cluster": ClusterConfig(address=s3_cluster),
    }
    model = f"s3://{BUCKET}/models/{bundle.name}"
    plan = plan_shards(
        discover_inputs([f"s3://{BUCKET}/dask-in/"]).manifests(),
        f"s3://{BUCKET}/dask-out",
        bundle_identity(bundle),
        config,
    )
    parts = Counter(
        shard["file"]["output_name"] for shard in plan.shards if shard["kind"] == "part"
    )
    assert sorted(parts) == ["big.csv.parquet", "big.jsonl.parquet", "big.parquet"], parts
    assert min(parts.values()) >= 2
    summary = score_flow(
        [f"s3://{BUCKET}/dask-in/"], f"s3://{BUCKET}/dask-out", bundle=model, **settings
    )
    assert (summary["files_scored"], summary["files_failed"]) == (len(EXPECTED), 0)
    assert summary["model_version"] == bundle.name
    assert object_keys(s3, "dask-out") == EXPECTED  # no part, temporary or probe left behind
    scored = remote_outputs(s3, "dask-out")
    for name, table in expected.items():
        assert scored[name].equals(table), name
    assert [path.name for path in bundle_cache.glob("*/*")] == [bundle.name]

    again = score_flow(
        [f"s3://{BUCKET}/dask-in/"], f"s3://{BUCKET}/dask-out", bundle=model, **settings
    )
    assert (again["files_scored"], again["files_skipped"]) == (0, len(EXPECTED))

"""The ``score`` flow on a real Dask cluster: a ``dask scheduler`` and two ``dask worker``
processes on loopback, started (and stopped) by the test, as on a multi-host cluster."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.score import score_flow
from sentiment.scoring.config import ClusterConfig, ScoringConfig
from sentiment.scoring.outputs import SCORE_COLUMN
from sentiment.scoring.scorer import ScoringFailedError
from tests.support.bundles import SCORING_TEXTS as TEXTS

distributed = pytest.importorskip("distributed")
pytest.importorskip("prefect_dask")

BIG_ROWS = 120_000
BIG_ROW_GROUP = 10_000


@pytest.fixture(scope="module")
def dump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Several small files of each format and one large multi-row-group Parquet file."""
    directory = tmp_path_factory.mktemp("dump")
    for index in range(4):
        texts = [TEXTS[(index + i) % len(TEXTS)] for i in range(20 + index)]
        pq.write_table(
            pa.table({"id": list(range(len(texts))), "text": texts}),
            directory / f"small-{index}.parquet",
        )
    (directory / "small.csv").write_text("id,review\n1,a great film\n2,boring\n")
    texts = [f"{TEXTS[i % len(TEXTS)]} {i}" for i in range(BIG_ROWS)]
    pq.write_table(
        pa.table({"review_id": list(range(BIG_ROWS)), "text": texts}),
        directory / "big.parquet",
        row_group_size=BIG_ROW_GROUP,
    )
    return directory


def _bad_file(directory: Path) -> Path:
    """A large file whose one row group holds bytes that are not UTF-8 text."""
    values = [f"{TEXTS[i % len(TEXTS)]} {TEXTS[i % 3]} {i}".encode() for i in range(BIG_ROWS // 2)]
    values[BIG_ROWS // 2 - 100] = b"\xff\xfe not text"
    path = directory / "bad.parquet"
    pq.write_table(
        pa.table({"text": pa.array(values, pa.binary())}), path, row_group_size=BIG_ROW_GROUP
    )
    return path


def _bundle_loads() -> int:
    """On a worker: how many times this process has loaded a bundle."""
    import tasks.score

    return tasks.score._bundle.cache_info().misses


def _outputs(directory: Path) -> dict[str, pa.Table]:
    return {path.name: pq.read_table(path) for path in sorted(directory.glob("*.parquet"))}


def test_a_dump_scored_on_two_workers_equals_one_process_and_survives_a_killed_worker(
    champion_home: Path,
    dump: Path,
    cluster: str,
    tmp_path: Path,
) -> None:
    big = (dump / "big.parquet").stat().st_size
    config = ScoringConfig(shard_bytes=big // 6 + 1)
    settings = {"home": str(champion_home), "config": config}
    bad = _bad_file(dump)
    try:
        with pytest.raises(ScoringFailedError, match=r"1 of 7 input\(s\) failed"):
            score_flow([str(dump)], str(tmp_path / "one"), **settings)
        with pytest.raises(ScoringFailedError, match=r"1 of 7 input\(s\) failed"):
            score_flow(
                [str(dump)],
                str(tmp_path / "dask"),
                cluster=ClusterConfig(address=cluster),
                **settings,
            )
        with distributed.Client(cluster) as client:
            bundle_loads = client.run(_bundle_loads)
    finally:
        bad.unlink()

    expected = _outputs(tmp_path / "one")
    assert sorted(expected) == [
        "big.parquet",
        "small-0.parquet",
        "small-1.parquet",
        "small-2.parquet",
        "small-3.parquet",
        "small.csv.parquet",  # outputs keep the whole input name
    ]
    # The bad shard failed its own input only, and left nothing of it behind.
    assert not (tmp_path / "dask" / "bad.parquet").exists()
    assert "bad.parquet" in (tmp_path / "dask" / "failed.jsonl").read_text()
    assert "not UTF-8" in (tmp_path / "dask" / "failed.jsonl").read_text()
    scored = _outputs(tmp_path / "dask")
    assert sorted(scored) == sorted(expected)
    for name, table in expected.items():
        assert scored[name].equals(table), name
    assert expected["big.parquet"].num_rows == BIG_ROWS
    # Both workers scored shards, each loading the bundle once for all of its shards.
    assert sorted(bundle_loads.values()) == [1, 1], bundle_loads

    # A rerun skips everything, the large file included, without scoring a row.
    again = score_flow(
        [str(dump)], str(tmp_path / "dask"), cluster=ClusterConfig(address=cluster), **settings
    )
    assert (again["files_scored"], again["files_skipped"]) == (0, 6)

    # kill -9 one worker process while it holds shards: the run still completes.
    killed: list[int] = []
    with distributed.Client(cluster) as client:
        pids = client.run(os.getpid)

        def kill_when_busy() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not killed:
                for address, keys in client.processing().items():
                    if any(str(key).startswith("score_shard_task") for key in keys):
                        os.kill(pids[address], signal.SIGKILL)
                        killed.append(pids[address])
                        return
                time.sleep(0.02)

        watcher = threading.Thread(target=kill_when_busy)
        watcher.start()
        summary = score_flow(
            [str(dump)],
            str(tmp_path / "killed"),
            home=str(champion_home),
            config=replace(config, force=True),
            cluster=ClusterConfig(address=cluster),
        )
        watcher.join()
        client.wait_for_workers(2, timeout=60)  # the nanny restarted it
    assert killed and summary["files_failed"] == 0
    after_kill = _outputs(tmp_path / "killed")
    for name, table in expected.items():
        assert after_kill[name].equals(table), name  # no duplicate, no missing row
    big_ids = after_kill["big.parquet"].column("review_id").to_pylist()
    assert big_ids == list(range(BIG_ROWS))
    assert after_kill["big.parquet"].column(SCORE_COLUMN).null_count == 0
    assert not (tmp_path / "killed" / ".parts").exists()

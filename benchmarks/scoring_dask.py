"""Scoring on Dask: the ``score`` flow in one process against a 2-worker cluster.

Builds a home with one small real bundle (an mlp fitted on a few sentences, promoted to
champion) and a dump of ``--rows`` synthetic reviews in one Parquet file (64k-row row
groups) plus ``--small`` small files, then prints, as Markdown:

* the flow's wall time in this process (one shard at a time) and on a local cluster of
  ``dask scheduler`` + two ``dask worker --nworkers 1 --nthreads 1`` processes (the
  same commands as on separate hosts), each a median of ``--repeats`` forced reruns
  after one warm-up run (bundles loaded, cluster started: excluded), and their ratio;
* the cluster's cost per shard: the flow over ``--shards`` row ranges of 100 rows each,
  wall time per shard, beside the library's own time per such shard;
* each worker's peak resident memory (``ru_maxrss``) after the runs;
* the library's throughput (``score_file``, this process) by input row-group size.

The temporary Prefect server (prefect_test_harness) serves every flow run.

    nice -n 10 .venv/bin/python -m benchmarks.scoring_dask --rows 400000 --repeats 3
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.bundles import promoted_home

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TEXTS = ["a great film, great acting", "an awful film, awful plot", "fine cast", "boring"] * 3
# Rows per shard in the orchestration-cost measurement.
TINY_ROWS = 100
WORKER_OPTIONS = ("--nworkers", "1", "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard")
WORDS = (
    "a",
    "great",
    "film",
    "awful",
    "plot",
    "fine",
    "cast",
    "boring",
    "acting",
    "an",
    "the",
    "story",
)


def _texts(rows: int) -> list[str]:
    import numpy as np

    generator = np.random.default_rng(0)
    lengths = generator.integers(20, 120, rows)
    picks = generator.integers(0, len(WORDS), int(lengths.sum()))
    texts, position = [], 0
    for length in lengths:
        texts.append(" ".join(WORDS[i] for i in picks[position : position + length]))
        position += length
    return texts


def _write(path: Path, texts: list[str], row_group: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"review_id": list(range(len(texts))), "text": texts})
    pq.write_table(table, path, row_group_size=row_group)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_cluster(workers: int) -> tuple[str, list[subprocess.Popen[bytes]]]:
    dask = str(Path(sys.executable).with_name("dask"))
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY_ROOT)}
    quiet = {"env": environment, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [
        subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port)],
            start_new_session=True,
            **quiet,
        )
    ]
    for _ in range(workers):
        processes.append(
            subprocess.Popen(
                [dask, "worker", address, *WORKER_OPTIONS],
                start_new_session=True,
                **quiet,
            )
        )
    return address, processes


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in reversed(processes):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        process.wait(timeout=30)


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400_000)
    parser.add_argument("--small", type=int, default=20)
    parser.add_argument("--shards", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--row-groups", default="1000000,65536,8192")
    arguments = parser.parse_args()

    import distributed
    from prefect.testing.utilities import prefect_test_harness

    from flows.score import score_flow
    from sentiment.modeling.bundle import load_bundle
    from sentiment.scoring.config import ClusterConfig, ScoringConfig
    from sentiment.scoring.discovery import discover_inputs
    from sentiment.scoring.scorer import score_file

    root = Path(tempfile.mkdtemp(prefix="scoring-dask-"))
    home = promoted_home(root / "home", TEXTS, max_length=64)
    texts = _texts(arguments.rows)
    dump = root / "dump"
    dump.mkdir()
    _write(dump / "big.parquet", texts, 65536)
    for index in range(arguments.small):
        _write(dump / f"small-{index:03d}.parquet", texts[index * 50 : index * 50 + 50], 50)
    big = (dump / "big.parquet").stat().st_size
    # Shards of about a 64k-row group each, so two workers share the large file.
    shard_bytes = max(1, big * 65536 // max(1, arguments.rows))
    tiny = root / "tiny"
    tiny.mkdir()
    _write(tiny / "tiny.parquet", texts[: 100 * arguments.shards], 100)
    tiny_shard = (tiny / "tiny.parquet").stat().st_size // arguments.shards + 1

    rows = []
    with prefect_test_harness(server_startup_timeout=120):

        def run(output: str, **options: object) -> None:
            score_flow(
                [str(dump)],
                str(root / output),
                home=str(home),
                config=ScoringConfig(force=True, shard_bytes=shard_bytes),
                **options,
            )

        run("warm")
        in_process = _timed(lambda: run("in-process"), arguments.repeats)
        address, processes = _start_cluster(2)
        try:
            with distributed.Client(address, timeout=60) as client:
                client.wait_for_workers(2, timeout=120)
                run("warm-dask", cluster=ClusterConfig(address=address))
                on_cluster = _timed(
                    lambda: run("dask", cluster=ClusterConfig(address=address)), arguments.repeats
                )

                def tiny_run() -> None:
                    score_flow(
                        [str(tiny)],
                        str(root / "tiny-out"),
                        home=str(home),
                        # Shards are cut at multiples of read_rows: 100-row shards
                        # need 100-row batches.
                        config=ScoringConfig(
                            force=True, shard_bytes=tiny_shard, read_rows=TINY_ROWS
                        ),
                        cluster=ClusterConfig(address=address),
                    )

                per_shard = _timed(tiny_run, arguments.repeats) / arguments.shards
                worker_peaks = sorted(client.run(_peak_rss_mib).values())
        finally:
            _stop(processes)

    bundle = load_bundle(next(p for p in (home / "models").iterdir() if p.is_dir()))
    from sentiment.scoring.parts import score_part
    from sentiment.scoring.shards import plan_shards

    manifests = discover_inputs([str(tiny / "tiny.parquet")]).manifests()
    config = ScoringConfig(force=True, shard_bytes=tiny_shard, read_rows=TINY_ROWS)
    plan = plan_shards(manifests, root / "lib-out", bundle, config)
    started = time.perf_counter()
    for shard in plan.shards:
        score_part(shard, root / "lib-out", bundle, config)
    library_per_shard = (time.perf_counter() - started) / max(1, len(plan.shards))

    print(
        f"{arguments.rows} rows in one Parquet file + {arguments.small} small files; "
        f"{big / 2**20:.1f} MiB; median of {arguments.repeats}\n"
    )
    print("| run | wall s | rows/s |\n|---|---|---|")
    print(
        f"| in-process (1 shard at a time) | {in_process:.2f} | "
        f"{arguments.rows / in_process:,.0f} |"
    )
    print(f"| 2-worker local cluster | {on_cluster:.2f} | {arguments.rows / on_cluster:,.0f} |")
    print(f"\nratio in-process / cluster: {in_process / on_cluster:.2f}x")
    print(
        f"cluster wall time per 100-row shard ({arguments.shards} shards): "
        f"{1000 * per_shard:.0f} ms; library alone per such shard: "
        f"{1000 * library_per_shard:.0f} ms"
    )
    print(f"peak RSS per worker: {', '.join(f'{peak:.0f} MiB' for peak in worker_peaks)}\n")

    print("| input row group rows | score_file s | rows/s |\n|---|---|---|")
    for size in (int(value) for value in arguments.row_groups.split(",")):
        source = root / f"rg-{size}.parquet"
        _write(source, texts, min(size, len(texts)))
        (item,) = discover_inputs([str(source)]).inputs

        def score(item=item) -> None:
            score_file(item, root / "rg-out", bundle, ScoringConfig(force=True))

        seconds = _timed(score, arguments.repeats)
        rows.append((size, seconds))
        print(f"| {size} | {seconds:.2f} | {arguments.rows / seconds:,.0f} |")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

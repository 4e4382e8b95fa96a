"""Scoring against its floor: the compiled linear scorer end to end vs reading and writing.

On one synthetic Parquet file (``--rows`` rows cycling the real test reviews, with an id
and a non-text column), in alternating rounds, each step a fresh process:

- floor: plain pyarrow, read the file in record batches and write it back (snappy)
  with one extra float32 column;
- score: ``score_file`` with the default (or ``--version``) bundle, as a user runs it
  (imports, bundle load, scoring, writing);
- explain: the same with ``ScoringConfig(explain=5)``.

Start-up (interpreter, imports, bundle load) is measured by the same step on a 1-row
file and subtracted. Prints each round's seconds and the median per-round ratio to the
floor. ``--baseline TREE`` adds ``score`` and ``explain`` run by another checkout's code
(its own copy of this script, which must have the same ``--worker`` interface), in the
same rounds: before and after a change, in one run.

    nice -n 10 .venv/bin/python -m benchmarks.scoring_floor --home HOME --rounds 5 \
        [--baseline ../other-checkout]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

STEPS = ("floor", "score", "explain")
BASELINE_SUFFIX = "@baseline"


def _floor(source: Path, output: Path) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(source)
    schema = parquet.schema_arrow.append(pa.field("extra", pa.float32()))
    with pq.ParquetWriter(output, schema, compression="snappy") as writer:
        for batch in parquet.iter_batches(batch_size=8192):
            extra = pa.array(np.zeros(batch.num_rows, np.float32))
            writer.write_batch(pa.RecordBatch.from_arrays([*batch.columns, extra], schema=schema))


def _score(source: Path, output: Path, bundle_directory: Path, explain: int) -> None:
    from sentiment.modeling.bundle import load_bundle
    from sentiment.scoring.config import ScoringConfig
    from sentiment.scoring.discovery import discover_inputs
    from sentiment.scoring.scorer import score_file

    bundle = load_bundle(bundle_directory)
    (item,) = discover_inputs([str(source)], output_dir=output.parent).inputs
    result = score_file(item, output.parent, bundle, ScoringConfig(force=True, explain=explain))
    if result.status != "scored":
        raise SystemExit(result.reason)


def _worker(arguments: argparse.Namespace) -> None:
    source, output = Path(arguments.source), Path(arguments.output)
    if arguments.worker == "floor":
        _floor(source, output)
    else:
        explain = 5 if arguments.worker == "explain" else 0
        _score(source, output, Path(arguments.bundle), explain)


def _run(
    step: str, source: Path, output_dir: Path, bundle: Path, baseline: Path | None = None
) -> tuple[float, float]:
    """Run one step in a fresh process; return its wall and CPU seconds."""
    output_dir.mkdir(parents=True, exist_ok=True)
    root = REPOSITORY_ROOT
    if step.endswith(BASELINE_SUFFIX):
        assert baseline is not None
        step, root = step.removesuffix(BASELINE_SUFFIX), baseline
    command = [
        sys.executable,
        "-m",
        "benchmarks.scoring_floor",
        "--worker",
        step,
        "--source",
        str(source),
        "--output",
        str(output_dir / source.name),
        "--bundle",
        str(bundle),
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=root)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _make_inputs(home: Path, rows: int, directory: Path) -> tuple[Path, Path]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sentiment.core.paths import HomeLayout

    texts = pq.read_table(HomeLayout(home).raw_split("test"), columns=["text"]).column("text")
    positions = np.arange(rows) % len(texts)
    table = pa.table(
        {
            "review_id": pa.array([f"r{index}" for index in range(rows)]),
            "text": texts.take(pa.array(positions)),
            "stars": pa.array(np.arange(rows, dtype=np.int64) % 10),
        }
    )
    big, small = directory / f"dump-{rows}.parquet", directory / "dump-1.parquet"
    pq.write_table(table, big, compression="snappy")
    pq.write_table(table.slice(0, 1), small, compression="snappy")
    return big, small


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path)
    parser.add_argument("--version", help="Bundle version (default: the newest nbsvm bundle).")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline", type=Path, help="Another checkout to compare with.")
    parser.add_argument("--worker", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    parser.add_argument("--bundle", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        _worker(arguments)
        return
    home = arguments.home.resolve()
    models = home / "models"
    version = (
        arguments.version or sorted(p.name for p in models.iterdir() if "-nbsvm-" in p.name)[-1]
    )
    bundle = models / version
    steps = STEPS
    if arguments.baseline:
        steps = (*STEPS, *(step + BASELINE_SUFFIX for step in STEPS[1:]))
    with tempfile.TemporaryDirectory(prefix="scoring-floor-") as scratch:
        scratch_path = Path(scratch)
        big, small = _make_inputs(home, arguments.rows, scratch_path)
        print(
            f"bundle {version}; input {big.stat().st_size / 2**20:.1f} MiB, {arguments.rows:,} rows"
        )
        for step in steps:  # compiles a fresh checkout's kernels outside the rounds
            _run(step, small, scratch_path / f"{step}-warm-up", bundle, arguments.baseline)
        net: dict[str, list[float]] = {step: [] for step in steps}
        net_cpu: dict[str, list[float]] = {step: [] for step in steps}
        for round_ in range(arguments.rounds):
            row = {}
            for step in steps:
                big_dir, small_dir = (scratch_path / f"{step}-{size}" for size in ("big", "small"))
                wall, cpu = _run(step, big, big_dir, bundle, arguments.baseline)
                startup, startup_cpu = _run(step, small, small_dir, bundle, arguments.baseline)
                net[step].append(wall - startup)
                net_cpu[step].append(cpu - startup_cpu)
                row[step] = {
                    "wall": round(wall, 3),
                    "startup": round(startup, 3),
                    "cpu": round(cpu, 3),
                    "startup_cpu": round(startup_cpu, 3),
                }
            ratios = {step: round(net[step][-1] / net["floor"][-1], 3) for step in steps[1:]}
            cpu_ratios = {
                step: round(net_cpu[step][-1] / net_cpu["floor"][-1], 3) for step in steps[1:]
            }
            print(
                f"round {round_ + 1} (load {os.getloadavg()[0]:.1f}): {json.dumps(row)} "
                f"wall ratios {json.dumps(ratios)} CPU ratios {json.dumps(cpu_ratios)}",
                flush=True,
            )
        print("median net seconds:", {s: round(statistics.median(v), 3) for s, v in net.items()})
        print(
            "median net CPU seconds:",
            {s: round(statistics.median(v), 3) for s, v in net_cpu.items()},
        )
        for step in steps[1:]:
            for label, values in (("wall", net), ("CPU", net_cpu)):
                per_round = [values[step][i] / values["floor"][i] for i in range(arguments.rounds)]
                print(
                    f"{step} / floor ({label}): median {statistics.median(per_round):.2f} "
                    f"(rounds {', '.join(f'{value:.2f}' for value in per_round)}); "
                    f"{arguments.rows / statistics.median(values[step]):,.0f} reviews per "
                    f"{label} second"
                )


if __name__ == "__main__":
    main()

"""Reading JSON lines against CSV: the same rows through the scoring reader.

Writes ``--rows`` reviews (the home's raw unlabelled reviews, repeated as needed) with an
id as one CSV and one JSON-lines file, then reads each whole through
:class:`~sentiment.reading.readers.BatchReader`, in alternating rounds, each read in a
fresh process; prints CPU and wall seconds per read and the median JSON/CSV ratio of CPU
seconds. ``--baseline TREE`` reads the same files with another checkout's code in the
same rounds: before and after a change, in one run.

    nice -n 10 .venv/bin/python -m benchmarks.reading --home HOME --rows 100000 \
        --rounds 3 [--baseline ../other-checkout]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]

# Run in the child, with the tree under test first on its path.
_READ = """
import json, resource, sys, time
from sentiment.core import storage
try:
    from sentiment.reading.readers import BatchReader
except ImportError:  # before the reading package
    from sentiment.scoring.readers import BatchReader
try:
    from sentiment.scoring.discovery import discover_inputs
except ImportError:  # before the scoring package's split
    from sentiment.scoring.readers import discover_inputs
(input_file,) = discover_inputs([sys.argv[1]]).inputs
before = resource.getrusage(resource.RUSAGE_SELF)
started = time.perf_counter()
with BatchReader(input_file) as reader:
    rows = sum(batch.num_rows for batch in reader)
    reader.fingerprint()
after = resource.getrusage(resource.RUSAGE_SELF)
cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
print(json.dumps({"rows": rows, "cpu": cpu, "wall": time.perf_counter() - started}))
"""


def _write_inputs(home: Path, rows: int, directory: Path) -> dict[str, Path]:
    import pandas as pd
    import pyarrow.parquet as pq

    texts = pq.read_table(home / "raw" / "imdb" / "unsup.parquet", columns=["text"])
    frame = texts.to_pandas()
    frame = pd.concat([frame] * (rows // len(frame) + 1)).iloc[:rows].reset_index(drop=True)
    frame.insert(0, "review_id", [f"r{index}" for index in range(rows)])
    paths = {"csv": directory / "reviews.csv", "jsonl": directory / "reviews.jsonl"}
    frame.to_csv(paths["csv"], index=False)
    frame.to_json(paths["jsonl"], orient="records", lines=True, force_ascii=False)
    return paths


def _read(tree: Path, path: Path) -> dict[str, float]:
    completed = subprocess.run(
        [sys.executable, "-c", _READ, str(path)],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    """Run the benchmark (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="a home that ran ingest")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with")
    arguments = parser.parse_args()
    trees = {"now": REPOSITORY_ROOT}
    if arguments.baseline:
        trees["baseline"] = arguments.baseline.resolve()
    with tempfile.TemporaryDirectory() as scratch:
        paths = _write_inputs(arguments.home, arguments.rows, Path(scratch))
        seconds: dict[tuple[str, str], list[dict[str, float]]] = {}
        for round_number in range(arguments.rounds):
            for tree_name, tree in trees.items():
                for kind, path in paths.items():
                    measured = _read(tree, path)
                    seconds.setdefault((tree_name, kind), []).append(measured)
                    print(
                        f"round {round_number + 1} {tree_name:8} {kind:5} {measured['rows']:,} "
                        f"rows: {measured['cpu']:.2f} CPU-s, {measured['wall']:.2f} s wall"
                    )
        for tree_name in trees:
            cpu = {
                kind: statistics.median(m["cpu"] for m in seconds[(tree_name, kind)])
                for kind in paths
            }
            print(
                f"{tree_name}: median CPU-s csv {cpu['csv']:.2f}, jsonl {cpu['jsonl']:.2f}, "
                f"jsonl/csv {cpu['jsonl'] / cpu['csv']:.2f}x"
            )


if __name__ == "__main__":
    main()

"""Ingestion and dataset-report benchmark on the real archive.

Prints a Markdown table: wall time, CPU time and peak RSS of

* a cold ingest (empty home: copy and hash the archive, stream 100k members, write
  Parquet), a warm ingest (the cache hit: a few stat calls), and a rebuild from the cached
  archive after the raw Parquet is deleted (no fetch, but extraction again);
* a cold dataset report (tokenize 100k reviews, box plot) and a warm one (reused).

Each measured step runs in a fresh subprocess, so imports are excluded equally and the
peak RSS (``ru_maxrss``) is that step's own. Figures are medians over ``--repeats`` runs.

    nice -n 10 .venv/bin/python -m benchmarks.ingest \
        --source ../shared/data/aclImdb_v1.tar.gz --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
step, source, home = sys.argv[1:4]
from sentiment.data.ingest import ingest_imdb
from sentiment.data.report import build_dataset_report
wall, cpu = time.perf_counter(), time.process_time()
if step.startswith("ingest"):
    result = ingest_imdb(source, Path(home))
    hit = result.cache_hit
else:
    hit = build_dataset_report(Path(home)).cache_hit
print(json.dumps({
    "wall_s": time.perf_counter() - wall,
    "cpu_s": time.process_time() - cpu,
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "cache_hit": hit,
}))
"""


def _measure(step: str, source: str, home: Path) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-c", _CHILD, step, source, str(home)],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPOSITORY_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY_ROOT)},
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="../shared/data/aclImdb_v1.tar.gz")
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    source = str(Path(arguments.source).resolve())

    runs: dict[str, list[dict[str, Any]]] = {}
    for _ in range(arguments.repeats):
        with tempfile.TemporaryDirectory(prefix="bench-ingest-") as directory:
            home = Path(directory) / "home"
            steps = [
                ("ingest, cold (empty home)", "ingest"),
                ("ingest, warm (cache hit)", "ingest"),
                ("dataset report, cold", "report"),
                ("dataset report, warm (reused)", "report"),
                ("ingest from cached archive (raw deleted)", "ingest-rebuild"),
            ]
            for label, step in steps:
                if step == "ingest-rebuild":
                    shutil.rmtree(home / "raw")
                runs.setdefault(label, []).append(_measure(step, source, home))

    print(f"Source: {source}; medians of {arguments.repeats} runs.\n")
    print("| step | wall s | CPU s | peak RSS MiB | cache hit |")
    print("|---|---:|---:|---:|---|")
    for label, measured in runs.items():
        wall = statistics.median(run["wall_s"] for run in measured)
        cpu = statistics.median(run["cpu_s"] for run in measured)
        rss = statistics.median(run["peak_rss_mib"] for run in measured)
        hit = measured[0]["cache_hit"]
        print(f"| {label} | {wall:.3f} | {cpu:.3f} | {rss:.0f} | {hit} |")


if __name__ == "__main__":
    main()

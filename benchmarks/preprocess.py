"""Benchmark of the preprocessing stage on real raw Parquet; prints figures, asserts nothing.

Usage::

    nice -n 10 .venv/bin/python benchmarks/preprocess.py --home /work/realhome --runs 3 \\
        [--ngram-runs 1] [--compare-prefetch]

Each run gets a fresh temporary home holding links to ``home/raw/imdb/{train,test}``
(the real home is never written) and runs ``preprocess`` in its own subprocess, so
imports are excluded and the peak RSS (``ru_maxrss``) is that run's own. Per run:
seconds inside ``preprocess`` for the 25k train (+ validation split) and 25k test reviews,
reviews/s (50,000 / seconds), peak RSS, then a cache-hit rerun in a new subprocess.
Figures are medians. ``--ngram-runs`` adds the NBSVM input: ngram_max=3, bag, 800k ids,
max_length 2000. The 1-minute load average is printed, since the machine is shared.
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

REPOSITORY = Path(__file__).resolve().parents[1]

_CHILD = """
import json, resource, sys, time
sys.path.insert(0, {repository!r})
from pathlib import Path
from sentiment.preprocess import PreprocessConfig, preprocess
from sentiment.vectorizer import VectorizerConfig
config = PreprocessConfig(vectorizer=VectorizerConfig(**{settings!r}))
before = resource.getrusage(resource.RUSAGE_SELF)
result = preprocess(Path({home!r}), config, prefetch={prefetch!r})
after = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({{
    "seconds": result.seconds,
    "cpu_seconds": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime,
    "cache_hit": result.cache_hit,
    "rows": result.manifest["rows"],
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}}))
"""


def _run_child(home: Path, settings: dict, prefetch: bool) -> dict:
    code = _CHILD.format(
        repository=str(REPOSITORY), settings=settings, home=str(home), prefetch=prefetch
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _measure(source: Path, settings: dict, runs: int, prefetch: bool = False) -> None:
    cold, warm, memory, cpu = [], [], [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="bench-preprocess-") as directory:
            home = Path(directory)
            raw = home / "raw" / "imdb"
            raw.mkdir(parents=True)
            for split in ("train", "test"):
                (raw / f"{split}.parquet").symlink_to(source / "raw" / "imdb" / f"{split}.parquet")
            first = _run_child(home, settings, prefetch)
            second = _run_child(home, settings, prefetch)
            assert not first["cache_hit"] and second["cache_hit"]
            cold.append(first["seconds"])
            cpu.append(first["cpu_seconds"])
            memory.append(first["peak_rss_mb"])
            warm.append(second["seconds"])
            reviews = first["rows"]["train"] + first["rows"]["validation"] + first["rows"]["test"]
            print(
                f"  run: {first['seconds']:.2f} s ({reviews / first['seconds']:,.0f} reviews/s; "
                f"CPU {first['cpu_seconds']:.2f} s), "
                f"peak RSS {first['peak_rss_mb']:,.0f} MB, cache hit {second['seconds']:.3f} s, "
                f"load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    median = statistics.median(cold)
    print(
        f"median of {runs}: {median:.2f} s = {reviews / median:,.0f} reviews/s (CPU "
        f"{statistics.median(cpu):.2f} s); peak RSS "
        f"{statistics.median(memory):,.0f} MB; cache hit {statistics.median(warm):.3f} s\n",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path(os.environ.get("SENTIMENT_HOME", "data")))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ngram-runs", type=int, default=0)
    parser.add_argument(
        "--compare-prefetch",
        action="store_true",
        help="Also measure with the tokenizing thread (prefetch=True).",
    )
    arguments = parser.parse_args()
    source = arguments.home.resolve()
    print(f"Preprocess benchmark on {source} ({os.cpu_count()} CPUs)\n", flush=True)
    print("default (num_words 5000, max_length 500):", flush=True)
    _measure(source, {}, arguments.runs)
    if arguments.compare_prefetch:
        print("default, with the tokenizing thread (prefetch=True):", flush=True)
        _measure(source, {}, arguments.runs, prefetch=True)
    if arguments.ngram_runs:
        print("n-gram bag (ngram_max 3, bag, num_words 800000, max_length 2000):", flush=True)
        settings = {"num_words": 800_000, "max_length": 2000, "ngram_max": 3, "bag": True}
        _measure(source, settings, arguments.ngram_runs)


if __name__ == "__main__":
    main()

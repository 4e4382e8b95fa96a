"""Benchmark of the preprocessing stage on real raw Parquet; prints figures, asserts nothing.

Usage::

    nice -n 10 .venv/bin/python -m benchmarks.preprocess --home HOME --runs 3 \\
        [--workers 1 2] [--ngram-runs 1] [--compare-prefetch] [--baseline ../other-checkout]

Each run gets a fresh temporary home holding links to ``home/raw/imdb/{train,test}``
(the real home is never written) and runs ``preprocess`` in its own subprocess, so
imports are excluded. Per run: seconds inside ``preprocess`` for the 25k train
(+ validation split) and 25k test reviews, reviews/s (50,000 / seconds), CPU seconds of
the main process and of every process of the run (worker processes, and their fork
server where one is used, read from ``RUSAGE_CHILDREN`` after reaping it), peak RSS of the
main process and the peak summed RSS of all of them (sampled every 0.1 s), then a
cache-hit rerun in a new subprocess. Worker counts are measured in interleaved rounds
(1, 2, 1, 2, ...) so load changes hit them alike; the speed-up is the median of the
per-round ratios. The 1-minute load average and the CPU pressure
(``/proc/pressure/cpu``) are printed, since the machine is shared. ``--baseline TREE``
runs each worker count with another checkout's library too, alternating in the same
rounds, and prints the median per-round ratio: before and after a change, in one run.
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
import json, multiprocessing.forkserver, resource, sys, threading, time
from pathlib import Path
import psutil
from sentiment.data.config import PreprocessConfig
from sentiment.data.preprocess import preprocess
from sentiment.encoding.config import VectorizerConfig

def main():
    me = psutil.Process()
    peak_tree, stop = [0], threading.Event()

    def sample():
        # Memory only, every 0.1 s; the process list is refreshed once a second, as
        # listing children scans all of /proc and would cost the run noticeable CPU.
        processes, tick = [me], 0
        while not stop.is_set():
            if tick % 10 == 0:
                processes = [me, *me.children(recursive=True)]
            total = 0
            for process in processes:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    pass
            peak_tree[0] = max(peak_tree[0], total)
            tick += 1
            stop.wait(0.1)

    config = PreprocessConfig(vectorizer=VectorizerConfig(**{settings!r}))
    sampler = threading.Thread(target=sample, daemon=True)
    before = resource.getrusage(resource.RUSAGE_SELF)
    sampler.start()
    result = preprocess(Path({home!r}), config, prefetch={prefetch!r}, workers={workers!r})
    stop.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_SELF)
    main_cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    # Stop and reap the fork server (it reaped the workers), so RUSAGE_CHILDREN holds
    # the CPU of every process the run started, exactly.
    server = multiprocessing.forkserver._forkserver
    if getattr(server, "_forkserver_pid", None) is not None:
        server._stop()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({{
        "seconds": result.seconds,
        "cpu_seconds": main_cpu,
        "tree_cpu_seconds": main_cpu + children.ru_utime + children.ru_stime,
        "cache_hit": result.cache_hit,
        "rows": result.manifest["rows"],
        "peak_rss_mb": after.ru_maxrss / 1024,
        "peak_tree_rss_mb": peak_tree[0] / 2**20,
    }}))

if __name__ == "__main__":
    main()
"""


def _run_child(
    home: Path, settings: dict, prefetch: bool, workers: int | None, repository: Path
) -> dict:
    code = _CHILD.format(
        settings=settings,
        home=str(home),
        prefetch=prefetch,
        workers=workers,
    )
    with tempfile.TemporaryDirectory(prefix="bench-preprocess-child-") as directory:
        # A script file, not -c: worker processes re-import the main module by path.
        script = Path(directory) / "child.py"
        script.write_text(code, encoding="utf-8")
        completed = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(repository)},
        )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _pressure() -> str:
    try:
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except OSError:
        return "n/a"
    return line.split()[1].removeprefix("avg10=") + "%"


def _one_run(
    source: Path,
    settings: dict,
    prefetch: bool,
    workers: int | None,
    repository: Path = REPOSITORY,
) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-preprocess-") as directory:
        home = Path(directory)
        raw = home / "raw" / "imdb"
        raw.mkdir(parents=True)
        for split in ("train", "test"):
            (raw / f"{split}.parquet").symlink_to(source / "raw" / "imdb" / f"{split}.parquet")
        first = _run_child(home, settings, prefetch, workers, repository)
        second = _run_child(home, settings, prefetch, workers, repository)
    assert not first["cache_hit"] and second["cache_hit"]
    first["cache_hit_seconds"] = second["seconds"]
    first["reviews"] = sum(first["rows"].values())
    print(
        f"  {'' if repository == REPOSITORY else 'baseline '}workers={workers}: "
        f"{first['seconds']:.2f} s "
        f"({first['reviews'] / first['seconds']:,.0f} reviews/s; CPU main "
        f"{first['cpu_seconds']:.2f} s, all processes {first['tree_cpu_seconds']:.2f} s), "
        f"peak RSS main {first['peak_rss_mb']:,.0f} MB, all processes "
        f"{first['peak_tree_rss_mb']:,.0f} MB, cache hit {second['seconds']:.3f} s, "
        f"load {os.getloadavg()[0]:.1f}, CPU pressure {_pressure()}",
        flush=True,
    )
    return first


def _summary(label: str, results: list[dict]) -> float:
    median = statistics.median(result["seconds"] for result in results)
    reviews = results[0]["reviews"]

    def middle(name: str) -> float:
        return statistics.median(result[name] for result in results)

    print(
        f"{label}, median of {len(results)}: {median:.2f} s = {reviews / median:,.0f} "
        f"reviews/s; CPU main {middle('cpu_seconds'):.2f} s, all processes "
        f"{middle('tree_cpu_seconds'):.2f} s ({reviews / middle('tree_cpu_seconds'):,.0f} "
        f"reviews per CPU-second); peak RSS main {middle('peak_rss_mb'):,.0f} MB, all "
        f"processes {middle('peak_tree_rss_mb'):,.0f} MB (max "
        f"{max(result['peak_tree_rss_mb'] for result in results):,.0f}); cache hit "
        f"{middle('cache_hit_seconds'):.3f} s",
        flush=True,
    )
    return median


def _compare_workers(source: Path, counts: list[int], runs: int) -> None:
    results: dict[int, list[dict]] = {count: [] for count in counts}
    for _ in range(runs):
        for count in counts:
            results[count].append(_one_run(source, {}, False, count))
    for count in counts:
        _summary(f"workers={count}", results[count])
    base = counts[0]
    for count in counts[1:]:
        ratios = [
            single["seconds"] / parallel["seconds"]
            for single, parallel in zip(results[base], results[count], strict=True)
        ]
        print(
            f"speed-up workers={count} over workers={base}: median {statistics.median(ratios):.2f}"
            f" (per round: {', '.join(f'{ratio:.2f}' for ratio in ratios)})",
            flush=True,
        )
    print(flush=True)


def _compare_trees(source: Path, counts: list[int], runs: int, baseline: Path) -> None:
    """Each worker count with this checkout and ``baseline``, alternating in each round."""
    trees = {"after": REPOSITORY, "before": baseline}
    for count in counts:  # compiles each checkout's kernels outside the rounds
        for repository in trees.values():
            _one_run(source, {}, False, count, repository)
    results = {(tree, count): [] for tree in trees for count in counts}
    for round_ in range(runs):
        order = list(trees.items()) if round_ % 2 == 0 else list(trees.items())[::-1]
        for count in counts:
            for tree, repository in order:
                results[tree, count].append(_one_run(source, {}, False, count, repository))
    for count in counts:
        for tree in trees:
            _summary(f"{tree}, workers={count}", results[tree, count])
        for name in ("seconds", "tree_cpu_seconds"):
            ratios = [
                after[name] / before[name]
                for after, before in zip(
                    results["after", count], results["before", count], strict=True
                )
            ]
            print(
                f"after / before, workers={count}, {name}: median "
                f"{statistics.median(ratios):.2f} (per round: "
                f"{', '.join(f'{ratio:.2f}' for ratio in ratios)})",
                flush=True,
            )
    print(flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path(os.environ.get("SENTIMENT_HOME", "data")))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="Worker counts to compare."
    )
    parser.add_argument("--ngram-runs", type=int, default=0)
    parser.add_argument("--baseline", type=Path, help="Another checkout to compare with.")
    parser.add_argument(
        "--compare-prefetch",
        action="store_true",
        help="Also measure workers=1 with the tokenizing thread (prefetch=True).",
    )
    arguments = parser.parse_args()
    source = arguments.home.resolve()
    print(
        f"Preprocess benchmark on {source} ({os.cpu_count()} CPUs, load "
        f"{os.getloadavg()[0]:.1f}, CPU pressure {_pressure()})\n",
        flush=True,
    )
    print("default (num_words 5000, max_length 500), interleaved rounds:", flush=True)
    if arguments.baseline:
        _compare_trees(source, arguments.workers, arguments.runs, arguments.baseline.resolve())
    else:
        _compare_workers(source, arguments.workers, arguments.runs)
    if arguments.compare_prefetch:
        print("workers=1 with the tokenizing thread (prefetch=True):", flush=True)
        _summary(
            "prefetch",
            [_one_run(source, {}, True, 1) for _ in range(arguments.runs)],
        )
        print(flush=True)
    if arguments.ngram_runs:
        print("n-gram bag (ngram_max 3, bag, num_words 800000, max_length 2000):", flush=True)
        settings = {"num_words": 800_000, "max_length": 2000, "ngram_max": 3, "bag": True}
        _summary(
            "n-gram bag (default workers)",
            [_one_run(source, settings, False, None) for _ in range(arguments.ngram_runs)],
        )


if __name__ == "__main__":
    main()

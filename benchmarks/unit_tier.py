"""The quick test tier's wall time: ``make test-unit``'s pytest command, in alternating rounds.

Each round runs, in fresh processes, the tier as this checkout's Makefile runs it (one
pytest-xdist worker per core) and the same selection in one process; with ``--baseline
TREE``, also that checkout's ``make test-unit`` command (``tests/unit`` in one process
before the tiers existed). Prints wall and CPU seconds per run and their medians. Run it
on a quiet machine: the tier's target is a wall time.

    .venv/bin/python -m benchmarks.unit_tier --rounds 3 [--baseline ../other-checkout]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
# What ``make test-unit`` runs (Makefile), and the same selection in one process.
TIER = ["tests/unit", "-m", "not slow", "-n", "logical", "--maxprocesses", "4"]
ONE_PROCESS = ["tests/unit", "-m", "not slow"]
# ``make test-unit`` before the tiers (41e9d02 and earlier).
BEFORE_TIERS = ["tests/unit"]


def timed_pytest(tree: Path, arguments: list[str]) -> tuple[float, float]:
    """Run pytest with ``arguments`` in ``tree``; return its wall and CPU seconds.

    Raises:
        RuntimeError: If the tests fail, so that no failing run is timed.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *arguments],
        cwd=tree,
        env=os.environ | {"PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        raise RuntimeError(f"pytest failed in {tree}:\n{completed.stdout[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    """Time the tier in alternating rounds and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="A checkout of the old code.")
    parser.add_argument(
        "--baseline-arguments",
        nargs="+",
        default=BEFORE_TIERS,
        help="The baseline's pytest arguments (default: its make test-unit before tiers).",
    )
    arguments = parser.parse_args()
    variants = {
        "tier (workers)": (REPOSITORY_ROOT, TIER),
        "one process": (REPOSITORY_ROOT, ONE_PROCESS),
    }
    if arguments.baseline:
        variants["baseline"] = (arguments.baseline.resolve(), arguments.baseline_arguments)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for round_number in range(arguments.rounds):
        for name, (tree, pytest_arguments) in variants.items():
            wall, cpu = timed_pytest(tree, pytest_arguments)
            times[name].append((wall, cpu))
            load = os.getloadavg()[0]
            print(
                f"round {round_number} {name}: {wall:.1f} s wall, {cpu:.1f} CPU s (load {load:.1f})"
            )
    for name, runs in times.items():
        wall = statistics.median(run[0] for run in runs)
        cpu = statistics.median(run[1] for run in runs)
        print(f"median {name}: {wall:.1f} s wall, {cpu:.1f} CPU s")


if __name__ == "__main__":
    main()

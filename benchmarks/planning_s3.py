"""Planning a scoring run over an object-store inbox: listing it, then sizing each file.

Starts moto's S3 server on loopback (the tests' ``moto_s3``), writes ``--files`` small CSV
files under one prefix, and times, in one process and alternating within each round:

* ``listed``: ``discover_inputs`` on the prefix, then ``Discovery.manifests`` (the
  sizes come from the listing that found the files);
* ``per file``: the same discovery, then one ``storage.size`` lookup per file (what
  ``manifests`` did before the listing's sizes were kept).

It also counts the per-file lookups (``storage._info`` calls) each makes. Loopback moto
answers a request in about a millisecond; a real object store takes tens, so the count
is the figure that carries over, and the times are a lower bound on the difference.
"""

from __future__ import annotations

import argparse
import statistics
import time

from sentiment.core import storage
from sentiment.scoring.discovery import discover_inputs
from tests.support.s3_server import BUCKET, moto_s3


def counted(run) -> tuple[float, int]:
    """Run ``run`` and return its wall seconds and how many per-file lookups it made."""
    original, calls = storage._info, [0]

    def counting(where):
        calls[0] += 1
        return original(where)

    storage._info = counting
    try:
        started = time.perf_counter()
        run()
        return time.perf_counter() - started, calls[0]
    finally:
        storage._info = original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with moto_s3() as s3:
        for number in range(args.files):
            with s3.open_output_stream(f"{BUCKET}/inbox/{number:06d}.csv") as stream:
                stream.write(f"text\nreview number {number}\n".encode())
        inbox = f"s3://{BUCKET}/inbox"
        ways = {
            "listed": lambda: discover_inputs([inbox]).manifests(),
            "per file": lambda: [
                storage.size(item.path) for item in discover_inputs([inbox]).inputs
            ],
        }
        times: dict[str, list[float]] = {name: [] for name in ways}
        lookups: dict[str, int] = {}
        for _ in range(args.repeats):
            for name, run in ways.items():
                seconds, lookups[name] = counted(run)
                times[name].append(seconds)
        medians = {name: statistics.median(values) for name, values in times.items()}
        for name in ways:
            print(
                f"{name:>9}: median {medians[name]:.3f} s over {args.repeats} "
                f"({', '.join(f'{value:.3f}' for value in times[name])}); "
                f"{lookups[name]} per-file lookups"
            )
        print(f"per file / listed: {medians['per file'] / medians['listed']:.1f}x")


if __name__ == "__main__":
    main()

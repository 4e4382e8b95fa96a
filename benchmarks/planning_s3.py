"""Planning a scoring run over an object-store inbox: listing it, then sizing each file.

Starts moto's S3 server on loopback (as the tests do), writes ``--files`` small CSV
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
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyarrow.fs as pafs

from sentiment.core import storage
from sentiment.scoring.readers import discover_inputs

BUCKET = "reviews"


def start_moto() -> tuple[subprocess.Popen[bytes], int]:
    """A moto S3 server on a free loopback port, with ``AWS_*`` pointing at it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}", timeout=2).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("moto_server did not start") from None
            time.sleep(0.2)
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
    )
    return server, port


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
    server, port = start_moto()
    try:
        s3 = pafs.S3FileSystem(
            access_key="testing",
            secret_key="testing",
            region="us-east-1",
            endpoint_override=f"127.0.0.1:{port}",
            scheme="http",
            allow_bucket_creation=True,
        )
        s3.create_dir(BUCKET)
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
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)


if __name__ == "__main__":
    main()

"""A real S3-compatible server for tests: moto's server mode in its own process on
loopback, reached through the standard ``AWS_*`` environment, as a user would reach a
bucket."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pyarrow.fs as pafs
import pytest

MOTO_SERVER = Path(sys.executable).with_name("moto_server")
BUCKET = "reviews"


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def moto_s3() -> Iterator[pafs.S3FileSystem]:
    """A moto S3 server in its own process, with one bucket, while the block runs; the
    ``AWS_*`` environment points at it meanwhile (benchmarks use this too)."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    settings = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
    }
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(endpoint, timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.2)
        with pytest.MonkeyPatch.context() as patch:
            for name, value in settings.items():
                patch.setenv(name, value)
            filesystem = pafs.S3FileSystem(
                access_key="testing",
                secret_key="testing",
                region="us-east-1",
                endpoint_override=f"127.0.0.1:{port}",
                scheme="http",
                allow_bucket_creation=True,
            )
            filesystem.create_dir(BUCKET)
            yield filesystem
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


@pytest.fixture(scope="module")
def s3() -> Iterator[pafs.S3FileSystem]:
    """A moto S3 server for the module's tests (:func:`moto_s3`)."""
    if not MOTO_SERVER.exists():
        pytest.skip(f"no moto_server beside {sys.executable} (pip install 'moto[server]')")
    with moto_s3() as filesystem:
        yield filesystem

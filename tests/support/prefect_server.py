"""A real Prefect server (SQLite, own PREFECT_HOME, loopback) and a process worker.

Context managers around scripts/prefect_local.py, the same code ``make server`` runs;
each child leads its own process group and is stopped with it (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

from scripts.prefect_local import (
    client_environment,
    free_port,
    start_server,
    start_worker,
    stop_group,
    wait_for_health,
)


@dataclasses.dataclass(frozen=True)
class Server:
    """A running server: its addresses, home and the environment for its clients."""

    api_url: str
    ui_url: str
    home: Path
    process: subprocess.Popen[bytes]
    environment: dict[str, str]


@contextlib.contextmanager
def prefect_server(
    home: Path, extra_environment: Mapping[str, str] | None = None
) -> Iterator[Server]:
    """Start a server with PREFECT_HOME ``home`` on a free port; stop it on exit."""
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    process = start_server(home, port, home / "server.log")
    try:
        wait_for_health(api_url, process, timeout=180)
        yield Server(
            api_url=api_url,
            ui_url=f"http://127.0.0.1:{port}",
            home=home,
            process=process,
            environment=client_environment(home, api_url, extra_environment),
        )
    finally:
        stop_group(process.pid)
        process.wait(timeout=10)


@contextlib.contextmanager
def prefect_worker(
    server: Server, extra_environment: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a process worker for the ``sentiment`` pool; stop it on exit."""
    process = start_worker(
        {**server.environment, **(extra_environment or {})}, server.home / "worker.log"
    )
    try:
        yield process
    finally:
        stop_group(process.pid)
        process.wait(timeout=10)


def home_command_environment(prefect_home: Path, idle_seconds: float) -> dict[str, str]:
    """The environment of a ``sentiment`` command with no configured server, so that it
    uses (and starts) the home's server; its own Prefect home is ``prefect_home``, so only
    the home's server may hold its runs."""
    environment = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
    environment.update(
        PREFECT_HOME=str(prefect_home),
        PYTHONPATH=str(Path(__file__).resolve().parents[2]),
        SENTIMENT_SERVER_IDLE_SECONDS=str(idle_seconds),
    )
    return environment

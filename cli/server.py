"""Where a command's flow runs are recorded: the configured server, else the home's.

A command imports its flow through :func:`load_flow`. With ``PREFECT_API_URL`` set (or a
caller that configured Prefect already, as the tests' harness does) that server is
used. Otherwise the command uses its home's server (:mod:`cli.home_server`), starting
it in the background first when none runs, before Prefect is imported, so the server
boots while the command imports its flow; so every run of a home lands in one database,
``<home>/prefect/prefect.db``, whether or not a server was running.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

from cli import home_server
from sentiment.core.paths import HomeLayout, resolve_home

API_URL_VARIABLE = "PREFECT_API_URL"

_HOME: list[Path] = []  # the command's home, set once by cli.main
_SERVER: list[home_server.HomeServer] = []  # the home's server, once connected


def use_home(home: Path) -> None:
    """Record the command's home, whose server :func:`load_flow` uses."""
    _HOME[:] = [home]
    _SERVER.clear()


def load_flow(module: str, name: str) -> Any:
    """Import a command's flow, with the home's server where no other is configured.

    Args:
        module: The flow's module (``flows.score``).
        name: The flow's name in it (``score_flow``).

    Raises:
        ServerStartError: If the home's server does not start.
    """
    server = None
    if not api_configured():
        server = home_connection(HomeLayout(_HOME[0] if _HOME else resolve_home(None)))
        os.environ[API_URL_VARIABLE] = server.api_url
    flow = getattr(importlib.import_module(module), name)
    if server is not None:
        server.wait()
    return flow


def home_connection(layout: HomeLayout) -> home_server.HomeServer:
    """The home's server for this command, found running or started (once per process,
    saying so when it starts it)."""
    if not _SERVER:
        server = home_server.connect(layout)
        if server.started:
            print(
                f"Starting the home's Prefect server ({server.api_url}, database "
                f"{layout.prefect_dir}); later commands reuse it.",
                file=sys.stderr,
                flush=True,
            )
        _SERVER.append(server)
    return _SERVER[0]


def api_configured() -> bool:
    """Whether this process already talks to a Prefect server (an API URL in the
    environment, or set in Prefect's settings by a caller that loaded Prefect)."""
    if os.environ.get(API_URL_VARIABLE):
        return True
    if "prefect.settings" not in sys.modules:
        return False
    from prefect.settings import PREFECT_API_URL

    return bool(PREFECT_API_URL.value())

"""``sentiment server status|stop``: the home's Prefect server (:mod:`cli.home_server`)."""

from __future__ import annotations

import argparse

from cli import home_server
from sentiment.core.paths import HomeLayout


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``server``."""
    server = subparsers.add_parser(
        "server",
        help="Show or stop the home's Prefect server.",
        description="Every command records its runs in the home's Prefect server "
        "(database <home>/prefect/prefect.db), starting it in the background when none "
        f"runs; it stops itself after ${home_server.IDLE_VARIABLE} seconds without a "
        f"command (default {home_server.DEFAULT_IDLE_SECONDS:g}; 'make server' keeps it "
        "running).",
    )
    server.add_argument("action", choices=("status", "stop"), help="What to do.")
    server.set_defaults(handler=_server)


def _server(arguments: argparse.Namespace) -> int:
    layout = HomeLayout(arguments.home)
    if arguments.action == "stop":
        stopped = home_server.stop(layout)
        print("Stopped the home's Prefect server." if stopped else "No server was running.")
        return 0
    line = home_server.describe(layout)
    print(
        f"Running: {line}"
        if line
        else "Not running; the next command starts it ('make server' for a lasting one)."
    )
    return 0

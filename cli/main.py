"""Entry point of the ``sentiment`` console script.

Every pipeline command (ingest, preprocess, train, evaluate, score, retrain) runs as a
Prefect flow run; read-only commands (``models``) do not. Expected failures print one
sentence to stderr and exit with status 1, without a traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from cli import data, labels, modeling, pipeline, release, scoring
from sentiment.core.errors import SentimentError
from sentiment.core.paths import HomeLayout, resolve_home
from sentiment.core.quiet import quiet_tensorflow_environment

Handler = Callable[[argparse.Namespace], int]


def _quiet_environment() -> None:
    """Keep TensorFlow's start-up chatter out of the terminal, route library logs into
    Prefect's run logs and give the temporary server time to start on a busy 2-core
    machine; the user can still override each."""
    quiet_tensorflow_environment()
    # Offline: no analytics call whose failure would print an error.
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "sentiment")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


def _use_local_server(home: Path) -> None:
    """Point Prefect at the server ``make server`` started for this home, if it is up,
    instead of starting a temporary one per command; an explicit PREFECT_API_URL wins."""
    if os.environ.get("PREFECT_API_URL"):
        return
    try:
        lines = HomeLayout(home).server_file.read_text(encoding="utf-8").splitlines()
    except OSError:
        return
    values = dict(line.split("=", 1) for line in lines if "=" in line)
    api_url = values.get("PREFECT_API_URL", "")
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=1.0) as response:
            if response.status != 200:
                return
    except (OSError, ValueError):
        return  # stopped or crashed: fall back to a temporary server
    os.environ["PREFECT_API_URL"] = api_url


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="sentiment", description="Score movie reviews as positive or negative."
    )
    parser.add_argument(
        "--home",
        type=Path,
        default=None,
        help="Pipeline home directory (default: $SENTIMENT_HOME, else ~/.local/share/sentiment).",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for group in (data, labels, modeling, release, scoring, pipeline):
        group.add_commands(subparsers)
    return parser


def _stop_on_sigterm(command: str) -> Any:
    """End the command on SIGTERM as on Ctrl-C: one line, exit status 143 (128 + 15),
    exit hooks run (the temporary server stops, Prefect marks the run crashed).

    Returns:
        The handler it replaces.
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        print(f"sentiment {command}: stopped by SIGTERM.", file=sys.stderr)
        raise SystemExit(128 + signum)

    return signal.signal(signal.SIGTERM, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the console script and return its exit status."""
    _quiet_environment()
    arguments = build_parser().parse_args(argv)
    arguments.home = resolve_home(arguments.home)
    _use_local_server(arguments.home)
    handler: Handler = arguments.handler
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = _stop_on_sigterm(arguments.command) if in_main_thread else None
    try:
        return handler(arguments)
    except SentimentError as error:
        print(f"sentiment {arguments.command}: {error}", file=sys.stderr)
        return 1
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


if __name__ == "__main__":
    sys.exit(main())

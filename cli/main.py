"""Entry point of the ``sentiment`` console script.

Every pipeline command (ingest, preprocess, train, evaluate, score, retrain) runs as a
Prefect flow run; read-only commands (``models``) do not. Expected failures print one
sentence to stderr and exit with status 1, without a traceback.
"""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from cli import (
    data,
    deployments,
    labels,
    modeling,
    pipeline,
    release,
    scoring,
    server,
    server_command,
)
from cli.parser import Parser
from sentiment.core.errors import SentimentError
from sentiment.core.paths import resolve_home
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


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand."""
    parser = Parser(prog="sentiment", description="Score movie reviews as positive or negative.")
    parser.add_argument(
        "--home",
        type=Path,
        default=None,
        help="Pipeline home directory (default: $SENTIMENT_HOME, else ~/.local/share/sentiment).",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for group in (data, labels, modeling, release, scoring, pipeline, server_command, deployments):
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


_EXIT_STATUS = [1]  # what the process ends with if main() never returns (a traceback)


def _end_without_teardown() -> None:
    """The last exit hook of the console script: once every other hook has run (Prefect's
    last logs and events sent), end the process without tearing the interpreter down,
    which frees Prefect's and numba's objects one by one (1.5 to 3.5 s on 2 busy cores)
    for nothing."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_EXIT_STATUS[0])


def main(argv: Sequence[str] | None = None) -> int:
    """Run the console script and return its exit status.

    Args:
        argv: The arguments; None (the console script) takes the process's own, and the
            process then ends without interpreter teardown once its exit hooks have run.
    """
    _quiet_environment()
    arguments = build_parser().parse_args(argv)
    if argv is None:
        # Registered before Prefect loads, so it runs after Prefect's exit hooks.
        atexit.register(_end_without_teardown)
    arguments.home = resolve_home(arguments.home)
    server.use_home(arguments.home)
    handler: Handler = arguments.handler
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = _stop_on_sigterm(arguments.command) if in_main_thread else None
    try:
        _EXIT_STATUS[0] = handler(arguments)
    except SentimentError as error:
        # A flow run that ended on it has logged it to this terminal already.
        if not getattr(error, "logged_by_run", False):
            print(f"sentiment {arguments.command}: {error}", file=sys.stderr)
        _EXIT_STATUS[0] = 1
    except SystemExit as stop:
        _EXIT_STATUS[0] = stop.code if isinstance(stop.code, int) else 1
        raise
    except KeyboardInterrupt:
        _EXIT_STATUS[0] = 128 + signal.SIGINT
        raise
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
    return _EXIT_STATUS[0]


if __name__ == "__main__":
    sys.exit(main())

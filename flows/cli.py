"""The ``sentiment`` console script.

Every pipeline command (download, preprocess, train, evaluate, score, run) runs as a
Prefect flow run; read-only commands (``models``) do not. Expected failures print one
sentence to stderr and exit with status 1, without a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from sentiment.errors import SentimentError
from sentiment.paths import default_home

Handler = Callable[[argparse.Namespace], int]


def _quiet_environment() -> None:
    """Keep TensorFlow's start-up chatter out of the terminal and route library logs
    into Prefect's run logs; the user can still override either."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "sentiment")


# --- download ----------------------------------------------------------------------


def _add_download(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("download", help="Fetch the IMDB archive and ingest it.")
    parser.set_defaults(handler=_not_built)


# --- preprocess --------------------------------------------------------------------


def _add_preprocess(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("preprocess", help="Vectorize raw reviews to padded Parquet.")
    parser.set_defaults(handler=_not_built)


# --- train -------------------------------------------------------------------------


def _add_train(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="Train a model and write a bundle.")
    parser.set_defaults(handler=_not_built)


# --- evaluate, models, promote, rollback --------------------------------------------


def _add_registry_commands(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("evaluate", help="Evaluate a bundle, gate it, record it.")
    parser.set_defaults(handler=_not_built)


# --- score -------------------------------------------------------------------------


def _add_score(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("score", help="Score review files with a model bundle.")
    parser.set_defaults(handler=_not_built)


# --- run (the main job) ------------------------------------------------------------


def _add_run(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run", help="The main job: retrain, gate and score.")
    parser.set_defaults(handler=_not_built)


# -----------------------------------------------------------------------------------


def _not_built(arguments: argparse.Namespace) -> int:
    raise SentimentError(f"The '{arguments.command}' command is not built yet.")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="sentiment", description="Score movie reviews as positive or negative."
    )
    parser.add_argument(
        "--home",
        type=Path,
        default=None,
        help="Pipeline home directory (default: $SENTIMENT_HOME, else ./data).",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for add in (
        _add_download,
        _add_preprocess,
        _add_train,
        _add_registry_commands,
        _add_score,
        _add_run,
    ):
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the console script and return its exit status."""
    _quiet_environment()
    arguments = build_parser().parse_args(argv)
    if arguments.home is None:
        arguments.home = default_home()
    handler: Handler = arguments.handler
    try:
        return handler(arguments)
    except SentimentError as error:
        print(f"sentiment {arguments.command}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

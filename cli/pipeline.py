"""``sentiment retrain`` (alias ``run``): the main job."""

from __future__ import annotations

import argparse

from cli.data import add_archive_options, add_preprocessing_options, training_config
from cli.options import add_config_options, config_from
from cli.server import load_flow
from sentiment.data.config import ArchiveConfig
from sentiment.modeling.config import TrainConfig
from sentiment.release.config import GatePolicy, RetrainConfig


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``retrain``."""
    retrain = subparsers.add_parser(
        "retrain",
        aliases=["run"],
        help="The main job: ingest, retrain, gate, then score a review dump.",
        description="Ingest IMDB (cached), train a model, evaluate and gate it against the "
        "champion, then score review files with the champion (default: the 50,000 "
        "unlabeled reviews, into <home>/scores).",
    )
    add_archive_options(retrain)
    add_preprocessing_options(retrain)
    # A retrain ingests and preprocesses what it trains on: preprocessing is no choice.
    add_config_options(retrain.add_argument_group("training"), TrainConfig, exclude=("preprocess",))
    add_config_options(retrain.add_argument_group("gate"), GatePolicy)
    add_config_options(retrain.add_argument_group("retrain"), RetrainConfig)
    retrain.add_argument(
        "--score", nargs="*", default=None, metavar="INPUT", help="Review files to score."
    )
    retrain.add_argument("--output", default=None, help="Where scored files go.")
    retrain.set_defaults(handler=_retrain)


def _retrain(arguments: argparse.Namespace) -> int:
    # Built before Prefect starts, so a typo fails in one line.
    training = training_config(arguments)
    gate = config_from(arguments, GatePolicy)
    archive = config_from(arguments, ArchiveConfig)
    retrain_flow = load_flow("flows.retrain", "retrain_flow")

    summary = retrain_flow(
        home=str(arguments.home),
        archive=archive,
        training=training,
        gate=gate,
        score_inputs=arguments.score,
        score_output=arguments.output,
        retrain=config_from(arguments, RetrainConfig),
    )
    new_rows = (summary.get("intake") or {}).get("new_rows")
    if new_rows:
        print(f"Took in {new_rows} new labelled rows: snapshot {summary['intake']['snapshot']}")
    if summary.get("up_to_date"):
        print(f"Trained nothing: {summary['decision']}")
    else:
        print(f"Trained {summary['training']['version']}: {summary['decision']}")
    scoring = summary.get("scoring")
    if scoring:
        print(f"Scored with the champion into {scoring['output_dir']}")
    return 0

"""``sentiment train``."""

from __future__ import annotations

import argparse

from cli.data import add_preprocessing_options, training_config
from cli.options import add_config_options
from cli.server import load_flow
from sentiment.modeling.config import MODEL_SPECS, TrainConfig


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``train``."""
    models = ", ".join(f"{name} ({spec.description})" for name, spec in MODEL_SPECS.items())
    train = subparsers.add_parser(
        "train",
        help="Train a model and write a bundle.",
        description=f"Train a zoo model and write models/<version>/. Models: {models}",
    )
    add_preprocessing_options(train)
    add_config_options(train.add_argument_group("training"), TrainConfig)
    train.set_defaults(handler=_train)


def _train(arguments: argparse.Namespace) -> int:
    # Built before Prefect starts, so a typo costs no flow run.
    training = training_config(arguments)
    train_flow = load_flow("flows.train", "train_flow")

    result = train_flow(home=str(arguments.home), training=training)
    metrics = result["validation_metrics"]
    print(
        f"Trained {result['model']} -> {result['bundle']} "
        f"({'out-of-fold' if result['folds'] > 1 else 'validation'} accuracy "
        f"{metrics['accuracy']:.4f}, loss {metrics['loss']:.4f}, "
        f"{result['epochs_run']} epochs, {result['seconds']:.0f} s)"
    )
    return 0

"""``sentiment train``."""

from __future__ import annotations

import argparse

from cli.data import add_preprocessing_options, preprocessing_settings
from cli.options import add_config_options, given
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
    preprocessing = add_preprocessing_options(train)
    group = train.add_argument_group("training")
    names = add_config_options(group, TrainConfig, exclude=("model",))
    train.add_argument(
        "--no-preprocess",
        action="store_true",
        help="Fail instead of preprocessing when the model's processed data is missing.",
    )
    train.set_defaults(handler=_train, preprocessing=preprocessing, training=names)


def _train(arguments: argparse.Namespace) -> int:
    settings = {
        **preprocessing_settings(arguments, arguments.preprocessing),
        **given(arguments, arguments.training),
    }
    # Checked before Prefect starts, so a typo costs no flow run.
    TrainConfig(
        model=arguments.model,
        **{
            ("seed" if name == "training_seed" else name): value for name, value in settings.items()
        },
    )
    train_flow = load_flow("flows.train", "train_flow")

    result = train_flow(
        home=str(arguments.home),
        model=arguments.model,
        preprocess_if_missing=not arguments.no_preprocess,
        **settings,
    )
    metrics = result["validation_metrics"]
    print(
        f"Trained {result['model']} -> {result['bundle']} "
        f"({'out-of-fold' if result['folds'] > 1 else 'validation'} accuracy "
        f"{metrics['accuracy']:.4f}, loss {metrics['loss']:.4f}, "
        f"{result['epochs_run']} epochs, {result['seconds']:.0f} s)"
    )
    return 0

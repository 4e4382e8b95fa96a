"""The ``train`` flow: train one zoo model on processed data and write a model bundle."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, get_args

from prefect import flow

from sentiment.core.errors import StageOutputMissingError
from sentiment.modeling.config import DEFAULT_MODEL, MODEL_NAMES, TrainConfig, get_model_spec
from tasks.train import train_model_task

ModelName = Literal["mlp", "cnn", "nbsvm"]
assert get_args(ModelName) == MODEL_NAMES, "ModelName must list sentiment.modeling.zoo.MODEL_NAMES"


@flow(name="train")
def train_flow(
    home: str = "data",
    model: ModelName = DEFAULT_MODEL,
    epochs: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    seed: int = 42,
    patience: int = 1,
    num_words: int | None = None,
    max_length: int | None = None,
    validation_fraction: float = 0.1,
    split_seed: int = 42,
    preprocess_if_missing: bool = True,
) -> dict[str, Any]:
    """Train ``model`` and write ``models/<version>/`` under ``home``.

    Args:
        home: The pipeline home.
        model: The zoo model to train.
        epochs: Maximum epochs (default: the model's own); early stopping on validation
            loss applies above two.
        batch_size: Reviews per batch (default: the model's own).
        learning_rate: Adam's learning rate (default: the model's own).
        seed: Seed for weights and shuffling.
        patience: Epochs without validation-loss improvement before stopping.
        num_words: Vocabulary size override (default: the model's own preprocessing).
        max_length: Ids per review override (default: the model's own preprocessing).
        validation_fraction: Share of the train split held out for validation.
        split_seed: Seed of the train/validation split.
        preprocess_if_missing: Run the ``preprocess`` flow first when the model's
            processed data is missing; when False, fail saying which command to run.

    Returns:
        The bundle's version and path, validation metrics, epochs and wall time.
    """
    vectorizer = get_model_spec(model).vectorizer
    overrides = {
        name: value
        for name, value in (("num_words", num_words), ("max_length", max_length))
        if value is not None
    }
    if overrides:
        vectorizer = dataclasses.replace(vectorizer, **overrides)
    config = TrainConfig(
        model=model,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        patience=patience,
        vectorizer=vectorizer,
        validation_fraction=validation_fraction,
        split_seed=split_seed,
    )
    if preprocess_if_missing:
        _ensure_processed(home, config)
    return train_model_task(home, config)


def _ensure_processed(home: str, config: TrainConfig) -> None:
    """Run the preprocess flow as a subflow when this model's processed data is missing."""
    from pathlib import Path

    from sentiment.data.preprocess import find_processed

    try:
        find_processed(Path(home), config.preprocess_config)
    except StageOutputMissingError:
        from flows.preprocess import preprocess_flow

        settings = config.preprocess_config
        preprocess_flow(
            home=home,
            validation_fraction=settings.validation_fraction,
            seed=settings.seed,
            **settings.vectorizer.to_dict(),
        )

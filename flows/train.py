"""The ``train`` flow: train one zoo model on processed data and write a model bundle."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.models import ModelName
from flows.preprocess import preprocess_flow
from sentiment.core.paths import resolve_home
from sentiment.encoding.config import VectorizerConfig
from sentiment.modeling.config import DEFAULT_MODEL, ThresholdRule, TrainConfig
from tasks.preprocess import processed_exists_task
from tasks.train import train_model_task


@flow(name="train", flow_run_name="train-{model}")
def train_flow(
    home: str | None = None,
    model: ModelName = DEFAULT_MODEL,
    epochs: int | None = TrainConfig.epochs,
    batch_size: int | None = TrainConfig.batch_size,
    learning_rate: float | None = TrainConfig.learning_rate,
    training_seed: int = TrainConfig.seed,
    patience: int = TrainConfig.patience,
    nb_alpha: float = TrainConfig.nb_alpha,
    folds: int = TrainConfig.folds,
    decision_threshold: ThresholdRule = TrainConfig.decision_threshold,
    vectorizer: VectorizerConfig | None = None,
    validation_fraction: float = TrainConfig.validation_fraction,
    split_seed: int = TrainConfig.split_seed,
    preprocess_if_missing: bool = True,
) -> dict[str, Any]:
    """Train ``model`` and write ``models/<version>/`` under ``home``.

    Args:
        home: The pipeline home (default: ``$SENTIMENT_HOME``, else the user's data
            directory).
        model: The zoo model to train.
        epochs: Maximum epochs (default: the model's own); early stopping on validation
            loss applies above two.
        batch_size: Reviews per batch (default: the model's own).
        learning_rate: Adam's learning rate (default: the model's own).
        training_seed: Seed for weights and shuffling.
        patience: Epochs without validation-loss improvement before stopping.
        nb_alpha: Smoothing of the naive-Bayes ratios (nbsvm only).
        folds: Fold models to average (nbsvm only; 1: one model on the train portion).
        decision_threshold: ``calibrated`` (0.5 of the calibrated score) or
            ``max-accuracy`` (the score that maximizes held-out accuracy).
        vectorizer: Preprocessing in place of the model's own.
        validation_fraction: Share of the train split held out for validation.
        split_seed: Seed of the train/validation split.
        preprocess_if_missing: Run the ``preprocess`` flow first when the model's
            processed data is missing; when False, fail saying which command to run.

    Returns:
        The bundle's version and path, validation metrics, epochs and wall time.
    """
    home = str(resolve_home(home))
    config = TrainConfig(
        model=model,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=training_seed,
        patience=patience,
        nb_alpha=nb_alpha,
        folds=folds,
        decision_threshold=decision_threshold,
        vectorizer=vectorizer,
        validation_fraction=validation_fraction,
        split_seed=split_seed,
    )
    if preprocess_if_missing and not processed_exists_task(home, config.preprocess_config):
        preprocess_flow(
            home=home,
            model=model,
            vectorizer=config.resolved_vectorizer,
            validation_fraction=validation_fraction,
            split_seed=split_seed,
        )
    return train_model_task(home, config)

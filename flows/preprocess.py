"""The ``preprocess`` flow: raw reviews to padded integer sequences in Parquet."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.models import ModelName
from sentiment.core.paths import resolve_home
from sentiment.data.config import DEFAULT_TOKENIZE_WORKERS, PreprocessConfig
from sentiment.encoding.config import VectorizerConfig
from sentiment.modeling.config import DEFAULT_MODEL, TrainConfig
from tasks.preprocess import preprocess_task


@flow(name="preprocess", flow_run_name="preprocess-{model}")
def preprocess_flow(
    home: str | None = None,
    model: ModelName = DEFAULT_MODEL,
    vectorizer: VectorizerConfig | None = None,
    validation_fraction: float = PreprocessConfig.validation_fraction,
    split_seed: int = PreprocessConfig.seed,
    tokenize_workers: int = DEFAULT_TOKENIZE_WORKERS,
) -> dict[str, Any]:
    """Vectorize ``raw/imdb`` for ``model`` into ``processed/<key>/``; a rerun on the same
    inputs is a cache hit, and ``train`` with the same settings finds it.

    Args:
        home: The pipeline home (default: ``$SENTIMENT_HOME``, else the user's data
            directory).
        model: The zoo model whose preprocessing to run.
        vectorizer: Settings in place of the model's own preprocessing.
        validation_fraction: Share of train held out (stratified) for validation.
        split_seed: Seed of the train/validation split.
        tokenize_workers: Tokenizing processes. Not part of the output's key: any count
            gives the same bytes.

    Returns:
        The task's manifest: key, directory, cache hit, rows, OOV rates, seconds.
    """
    # Settings are checked here, before any task runs, so a bad value fails fast.
    config = TrainConfig(
        model=model,
        vectorizer=vectorizer,
        validation_fraction=validation_fraction,
        split_seed=split_seed,
    ).preprocess_config
    return preprocess_task(str(resolve_home(home)), config, tokenize_workers)

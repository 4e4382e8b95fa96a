"""The ``preprocess`` flow: raw reviews to padded integer sequences in Parquet."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.errors import one_sentence_failures
from flows.run_names import model_run_name
from sentiment.core.paths import resolve_home
from sentiment.data.config import TokenizingConfig
from sentiment.modeling.config import TrainConfig
from tasks.preprocess import preprocess_task


@flow(name="preprocess", flow_run_name=model_run_name("preprocess"))
@one_sentence_failures
def preprocess_flow(
    home: str | None = None,
    training: TrainConfig = TrainConfig(),  # noqa: B008 (frozen: one shared default is safe)
    tokenizing: TokenizingConfig = TokenizingConfig(),  # noqa: B008
) -> dict[str, Any]:
    """Vectorize ``raw/imdb`` into ``processed/<key>/`` as ``training`` will read it; a
    rerun on the same inputs is a cache hit, and ``train`` with the same settings finds it.

    Args:
        home: The pipeline home (default: ``$SENTIMENT_HOME``, else the user's data
            directory).
        training: The training settings whose preprocessing to run: their model,
            vectorizer and split (see ``TrainConfig``).
        tokenizing: How many processes tokenize (see ``TokenizingConfig``); not part of
            the output's key.

    Returns:
        The task's manifest: key, directory, cache hit, rows, OOV rates, seconds.
    """
    return preprocess_task(
        str(resolve_home(home)), training.preprocess_config, tokenizing.tokenize_workers
    )

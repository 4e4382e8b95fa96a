"""The ``preprocess`` flow: raw reviews to padded integer sequences in Parquet."""

from __future__ import annotations

from typing import Any, Literal

from prefect import flow

from sentiment.data.config import PreprocessConfig
from sentiment.encoding.config import VectorizerConfig
from tasks.preprocess import preprocess_task


@flow(name="preprocess")
def preprocess_flow(
    home: str = "data",
    num_words: int = 5000,
    max_length: int = 500,
    validation_fraction: float = 0.1,
    seed: int = 42,
    ngram_max: int = 1,
    bag: bool = False,
    min_document_count: int = 1,
    padding: Literal["pre", "post"] = "pre",
    truncating: Literal["pre", "post"] = "pre",
    workers: int = 0,
) -> dict[str, Any]:
    """Vectorize ``raw/imdb`` into ``processed/<key>/``; a rerun on the same inputs is a
    cache hit.

    Args:
        home: The pipeline home.
        num_words: Id space including padding (0) and out-of-vocabulary (1).
        max_length: Ids per review after cutting and padding.
        validation_fraction: Share of train held out (stratified) for validation.
        seed: Seed of the validation split.
        ngram_max: 1 for words; 2 or 3 to add bigrams (and trigrams).
        bag: Each distinct id of a review once, sorted (bag-of-n-grams input).
        min_document_count: Keep tokens seen in at least this many training reviews.
        padding: Pad at the start (``pre``, as Keras) or the end (``post``).
        truncating: Cut long reviews at the start (``pre``, as Keras) or the end.
        workers: Tokenizing processes; 0 picks the default (1, this process).
            Not part of the output's key: any count gives the same bytes.

    Returns:
        The task's manifest: key, directory, cache hit, rows, OOV rates, seconds.
    """
    # Settings are checked here, before any task runs, so a bad value fails fast.
    config = PreprocessConfig(
        vectorizer=VectorizerConfig(
            num_words=num_words,
            max_length=max_length,
            padding=padding,
            truncating=truncating,
            ngram_max=ngram_max,
            bag=bag,
            min_document_count=min_document_count,
        ),
        validation_fraction=validation_fraction,
        seed=seed,
    )
    return preprocess_task(home, config, workers)

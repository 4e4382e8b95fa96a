"""``sentiment ingest`` and ``sentiment preprocess``."""

from __future__ import annotations

import argparse
import dataclasses

from cli.options import add_config_options, config_from, destination, given
from cli.server import load_flow
from sentiment.data.config import ArchiveConfig, PreprocessConfig, TokenizingConfig
from sentiment.encoding.config import VectorizerConfig
from sentiment.modeling.config import DEFAULT_MODEL, TrainConfig, get_model_spec


def add_archive_options(parser: argparse.ArgumentParser) -> None:
    """The archive's source and hash, shared by ``ingest`` and ``retrain``."""
    add_config_options(parser, ArchiveConfig)


def add_preprocessing_options(parser: argparse.ArgumentParser) -> None:
    """The model, every vectorizer setting (shown with the default model's values) and
    the train/validation split."""
    add_config_options(parser, TrainConfig, only=("model",))
    group = parser.add_argument_group(
        "preprocessing", f"Each defaults to the model's own; shown: {DEFAULT_MODEL}'s."
    )
    add_config_options(
        group, VectorizerConfig, defaults=get_model_spec(DEFAULT_MODEL).vectorizer.to_dict()
    )
    add_config_options(group, PreprocessConfig)


def training_config(arguments: argparse.Namespace) -> TrainConfig:
    """The training settings the options describe, the vectorizer options applied to the
    model's own vectorizer.

    Raises:
        ConfigError: On an unknown model or a bad value, before any flow starts.
    """
    training = config_from(arguments, TrainConfig)
    overrides = given(arguments, map(destination, dataclasses.fields(VectorizerConfig)))
    if not overrides:
        return training
    vectorizer = dataclasses.replace(training.resolved_vectorizer, **overrides)
    return dataclasses.replace(training, vectorizer=vectorizer)


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``ingest`` and ``preprocess``."""
    ingest = subparsers.add_parser(
        "ingest",
        help="Fetch the IMDB archive and ingest it.",
        description="Fetch and verify aclImdb_v1.tar.gz, write raw/imdb/*.parquet and the "
        "dataset report, and copy the short-text development set where one is configured. "
        "A rerun with the data already ingested reuses the cache.",
    )
    add_archive_options(ingest)
    ingest.set_defaults(handler=_ingest)

    preprocess = subparsers.add_parser(
        "preprocess",
        help="Vectorize raw reviews to padded Parquet for a model.",
        description="Split a stratified validation portion off train, fit the model's "
        "vectorizer on the rest of train and write processed/<key>/. `sentiment train` with "
        "the same settings finds this output instead of preprocessing again.",
    )
    add_preprocessing_options(preprocess)
    add_config_options(preprocess, TokenizingConfig)
    preprocess.set_defaults(handler=_preprocess)


def _ingest(arguments: argparse.Namespace) -> int:
    archive = config_from(arguments, ArchiveConfig)
    ingest_flow = load_flow("flows.ingest", "ingest_flow")

    result = ingest_flow(home=str(arguments.home), archive=archive)
    ingest, report = result["ingest"], result["report"]
    counts = ", ".join(f"{split} {count:,}" for split, count in ingest["row_counts"].items())
    cached = " (cached)" if ingest["cache_hit"] else ""
    short_texts = result.get("short_texts")
    development = (
        f"; short-text development set {short_texts['name']}: {short_texts['rows']:,} texts"
        if short_texts
        else ""
    )
    print(f"Ingested {counts} reviews{cached}{development}; report: {report['markdown']}")
    return 0


def _preprocess(arguments: argparse.Namespace) -> int:
    # Built before Prefect is imported, so a typo fails in milliseconds.
    training = training_config(arguments)
    tokenizing = config_from(arguments, TokenizingConfig)
    preprocess_flow = load_flow("flows.preprocess", "preprocess_flow")

    result = preprocess_flow(home=str(arguments.home), training=training, tokenizing=tokenizing)
    rows = ", ".join(f"{split} {count:,}" for split, count in result["rows"].items())
    cached = " (cache hit)" if result["cache_hit"] else ""
    print(f"Preprocessed {rows} reviews into {result['directory']}{cached}.")
    return 0

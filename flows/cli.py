"""The ``sentiment`` console script.

Every pipeline command (download, preprocess, train, evaluate, score, run) runs as a
Prefect flow run; read-only commands (``models``) do not. Expected failures print one
sentence to stderr and exit with status 1, without a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from sentiment.core.errors import SentimentError
from sentiment.core.paths import default_home

Handler = Callable[[argparse.Namespace], int]


class _NoTracebackForExpectedErrors(logging.Filter):
    """Drop the traceback Prefect logs for a SentimentError: its message says it all."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], SentimentError):
            record.exc_info = None
            record.exc_text = None
        return True


def _quiet_environment() -> None:
    """Keep TensorFlow's start-up chatter out of the terminal, route library logs into
    Prefect's run logs and give the temporary server time to start on a busy 2-core
    machine; the user can still override each."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "sentiment")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    expected_errors = _NoTracebackForExpectedErrors()
    for name in ("prefect.flow_runs", "prefect.task_runs"):
        logging.getLogger(name).addFilter(expected_errors)


# --- download ----------------------------------------------------------------------


def _add_download(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "download",
        help="Fetch the IMDB archive and ingest it.",
        description="Fetch and verify aclImdb_v1.tar.gz, write raw/imdb/*.parquet and the "
        "dataset report. A rerun with the data already ingested reuses the cache.",
    )
    _add_archive_options(parser)
    parser.set_defaults(handler=_run_download)


def _add_archive_options(parser: argparse.ArgumentParser) -> None:
    """The archive's source and hash, shared by ``download`` and ``run``."""
    parser.add_argument(
        "--source",
        default=os.environ.get("SENTIMENT_IMDB_SOURCE") or None,
        help="http(s) URL, file:// URL or local path of aclImdb_v1.tar.gz "
        "(default: $SENTIMENT_IMDB_SOURCE, else the official Stanford address).",
    )
    parser.add_argument(
        "--sha256",
        default=os.environ.get("SENTIMENT_IMDB_SHA256") or None,
        help="Expected sha256 of the archive (default: $SENTIMENT_IMDB_SHA256, else any "
        "known IMDB archive: the official one or the documented re-packed mirror).",
    )


def _run_download(arguments: argparse.Namespace) -> int:
    # Imported here so `sentiment --help` does not pay for importing Prefect.
    from flows.download import download_flow

    result = download_flow(
        home=str(arguments.home), source=arguments.source, sha256=arguments.sha256
    )
    ingest, report = result["ingest"], result["report"]
    counts = ", ".join(f"{split} {count:,}" for split, count in ingest["row_counts"].items())
    cached = " (cached)" if ingest["cache_hit"] else ""
    print(f"Ingested {counts} reviews{cached}; report: {report['markdown']}")
    return 0


# --- preprocess --------------------------------------------------------------------


def _add_preprocess(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "preprocess",
        help="Vectorize raw reviews to padded Parquet.",
        description="Split a stratified validation portion off train, fit the vocabulary on "
        "the rest of train and write processed/<key>/{train,validation,test}.parquet, "
        "vectorizer.json and manifest.json. A rerun on the same inputs is a cache hit.",
    )
    parser.add_argument(
        "--num-words",
        type=int,
        default=5000,
        help="Id space including padding (0) and out-of-vocabulary (1) (default: 5000).",
    )
    parser.add_argument(
        "--max-length", type=int, default=500, help="Ids per review (default: 500)."
    )
    parser.add_argument(
        "--validation-fraction",
        type=float,
        default=0.1,
        help="Share of train held out for validation, in (0, 0.5] (default: 0.1).",
    )
    parser.add_argument(
        "--seed", type=int, default=42, help="Seed of the validation split (default: 42)."
    )
    parser.add_argument(
        "--ngram-max",
        type=int,
        default=1,
        help="1 for words; 2 or 3 to add word bigrams (and trigrams) (default: 1).",
    )
    parser.add_argument(
        "--bag",
        action="store_true",
        help="Encode each review as its sorted distinct ids (bag-of-n-grams input).",
    )
    parser.add_argument(
        "--min-document-count",
        type=int,
        default=1,
        help="Keep tokens seen in at least this many training reviews (default: 1).",
    )
    parser.add_argument(
        "--padding", choices=("pre", "post"), default="pre", help="Pad side (default: pre)."
    )
    parser.add_argument(
        "--truncating", choices=("pre", "post"), default="pre", help="Cut side (default: pre)."
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="Tokenizing processes; 0 picks the default, 1 (default: 0). "
        "The output is the same for any count.",
    )
    parser.set_defaults(handler=_run_preprocess)


def _run_preprocess(arguments: argparse.Namespace) -> int:
    # Settings are checked before Prefect is imported, so a typo fails in milliseconds.
    from sentiment.core.errors import ConfigError
    from sentiment.data.config import PreprocessConfig
    from sentiment.encoding.config import VectorizerConfig

    settings = {
        "num_words": arguments.num_words,
        "max_length": arguments.max_length,
        "padding": arguments.padding,
        "truncating": arguments.truncating,
        "ngram_max": arguments.ngram_max,
        "bag": arguments.bag,
        "min_document_count": arguments.min_document_count,
    }
    PreprocessConfig(
        vectorizer=VectorizerConfig(**settings),
        validation_fraction=arguments.validation_fraction,
        seed=arguments.seed,
    )
    if arguments.workers < 0:
        raise ConfigError(
            f"Setting 'workers' must be 0 (automatic) or more, got {arguments.workers}; pass "
            "--workers 0, 1 or 2."
        )
    from flows.preprocess import preprocess_flow

    result = preprocess_flow(
        home=str(arguments.home),
        validation_fraction=arguments.validation_fraction,
        seed=arguments.seed,
        workers=arguments.workers,
        **settings,
    )
    rows = ", ".join(f"{split} {count:,}" for split, count in result["rows"].items())
    cached = " (cache hit)" if result["cache_hit"] else ""
    print(f"Preprocessed {rows} reviews into {result['directory']}{cached}.")
    return 0


# --- train -------------------------------------------------------------------------


def _add_train(subparsers: argparse._SubParsersAction) -> None:
    from sentiment.modeling.config import DEFAULT_MODEL, MODEL_SPECS

    models = ", ".join(f"{name} ({spec.description})" for name, spec in MODEL_SPECS.items())
    parser = subparsers.add_parser(
        "train",
        help="Train a model and write a bundle.",
        description=f"Train a zoo model and write models/<version>/. Models: {models}",
    )
    parser.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"Zoo model name (default: {DEFAULT_MODEL})."
    )
    parser.add_argument("--epochs", type=int, default=None, help="Max epochs (model default).")
    parser.add_argument("--batch-size", type=int, default=None, help="Batch size (model default).")
    parser.add_argument(
        "--learning-rate", type=float, default=None, help="Adam learning rate (model default)."
    )
    parser.add_argument("--seed", type=int, default=42, help="Seed for weights and shuffling.")
    parser.add_argument(
        "--patience", type=int, default=1, help="Early-stopping patience in epochs (epochs > 2)."
    )
    parser.add_argument(
        "--num-words", type=int, default=None, help="Vocabulary size override (model default)."
    )
    parser.add_argument(
        "--max-length", type=int, default=None, help="Ids per review override (model default)."
    )
    parser.add_argument(
        "--no-preprocess",
        action="store_true",
        help="Fail instead of preprocessing when the model's processed data is missing.",
    )
    parser.set_defaults(handler=_train)


def _train(arguments: argparse.Namespace) -> int:
    from sentiment.modeling.config import get_model_spec

    # Validate the name before Prefect starts, so a typo costs no flow run.
    get_model_spec(arguments.model)
    from flows.train import train_flow

    result = train_flow(
        home=str(arguments.home),
        model=arguments.model,
        epochs=arguments.epochs,
        batch_size=arguments.batch_size,
        learning_rate=arguments.learning_rate,
        seed=arguments.seed,
        patience=arguments.patience,
        num_words=arguments.num_words,
        max_length=arguments.max_length,
        preprocess_if_missing=not arguments.no_preprocess,
    )
    metrics = result["validation_metrics"]
    print(
        f"Trained {result['model']} -> {result['bundle']} "
        f"(validation accuracy {metrics['accuracy']:.4f}, loss {metrics['loss']:.4f}, "
        f"{result['epochs_run']} epochs, {result['seconds']:.0f} s)"
    )
    return 0


# --- evaluate, models, promote, rollback --------------------------------------------


def _add_registry_commands(subparsers: argparse._SubParsersAction) -> None:
    from sentiment.release.config import GatePolicy

    defaults = GatePolicy()
    evaluate = subparsers.add_parser(
        "evaluate",
        help="Evaluate a bundle on the test split, gate it against the champion, record it.",
    )
    evaluate.add_argument(
        "version", help="Model version (see `sentiment models`), or 'latest' for the newest."
    )
    evaluate.add_argument(
        "--minimum-accuracy",
        type=float,
        default=defaults.minimum_accuracy,
        help=f"Test-accuracy floor (default: {defaults.minimum_accuracy}).",
    )
    evaluate.add_argument(
        "--minimum-roc-auc",
        type=float,
        default=defaults.minimum_roc_auc,
        help=f"Test ROC AUC floor (default: {defaults.minimum_roc_auc}).",
    )
    evaluate.add_argument(
        "--significance",
        type=float,
        default=defaults.significance,
        help="Reject a challenger significantly worse than the champion at this level "
        f"(one-sided McNemar mid-p; default: {defaults.significance}).",
    )
    evaluate.add_argument(
        "--minimum-improvement",
        type=float,
        default=defaults.minimum_improvement,
        help="Accuracy gain over the champion required, e.g. 0.005 (default: "
        f"{defaults.minimum_improvement}, no margin).",
    )
    evaluate.set_defaults(handler=_evaluate_command)

    models = subparsers.add_parser(
        "models", help="List model versions: metrics, gate status, champion (read-only)."
    )
    models.add_argument("--json", action="store_true", help="Print JSON instead of a table.")
    models.set_defaults(handler=_models_command)

    promote = subparsers.add_parser(
        "promote", help="Make a version the champion past the gate (audited override)."
    )
    promote.add_argument("version", help="An evaluated model version.")
    promote.add_argument(
        "--force", action="store_true", help="Override the gate; requires --reason."
    )
    promote.add_argument("--reason", default=None, help="Why the gate is overridden (recorded).")
    promote.set_defaults(handler=_promote_command)

    rollback = subparsers.add_parser(
        "rollback", help="Return the champion to the previously promoted version."
    )
    rollback.add_argument("--reason", default=None, help="Why (recorded in the ledger).")
    rollback.set_defaults(handler=_rollback_command)


def _evaluate_command(arguments: argparse.Namespace) -> int:
    from sentiment.release.config import GatePolicy
    from sentiment.release.evaluation import bundle_directory
    from sentiment.release.registry import resolve_version

    # Bad input fails here in one line, before a Prefect server and flow run start.
    version = resolve_version(arguments.home, arguments.version)
    bundle_directory(arguments.home, version)
    GatePolicy(
        minimum_accuracy=arguments.minimum_accuracy,
        minimum_roc_auc=arguments.minimum_roc_auc,
        significance=arguments.significance,
        minimum_improvement=arguments.minimum_improvement,
    )
    from flows.evaluate import evaluate_flow

    result = evaluate_flow(
        home=str(arguments.home),
        version=version,
        minimum_accuracy=arguments.minimum_accuracy,
        minimum_roc_auc=arguments.minimum_roc_auc,
        significance=arguments.significance,
        minimum_improvement=arguments.minimum_improvement,
    )
    # A rejection is the gate working, not a failure of the command: exit 0 either way.
    print(result["summary"])
    return 0


def _format_accuracy(entry: dict) -> str:
    metrics = entry.get("metrics") or {}
    accuracy = metrics.get("accuracy")
    if accuracy is None:
        return "-"
    lower, upper = metrics.get("accuracy_lower"), metrics.get("accuracy_upper")
    if lower is None or upper is None:
        return f"{accuracy:.4f}"
    return f"{accuracy:.4f} [{lower:.4f}, {upper:.4f}]"


def _models_command(arguments: argparse.Namespace) -> int:
    import json

    from sentiment.release.registry import list_models

    entries = list_models(arguments.home)
    if arguments.json:
        print(json.dumps(entries, indent=2))
        return 0
    if not entries:
        print(f"No models under {arguments.home}; run `sentiment train` first.")
        return 0
    header = ("", "version", "model", "accuracy [95% CI]", "ROC AUC", "status")
    rows = [header]
    for entry in entries:
        roc_auc = (entry.get("metrics") or {}).get("roc_auc")
        status = entry["status"] + (f" ({entry['problem']})" if entry.get("problem") else "")
        rows.append(
            (
                "*" if entry["champion"] else "",
                entry["version"],
                entry.get("model") or "-",
                _format_accuracy(entry),
                "-" if roc_auc is None else f"{roc_auc:.4f}",
                status,
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())
    if any(entry["champion"] for entry in entries):
        print("* = champion (the model `sentiment score` uses by default)")
    else:
        print("No champion yet: `sentiment evaluate VERSION` promotes one that passes the gate.")
    return 0


def _promote_command(arguments: argparse.Namespace) -> int:
    from sentiment.release.registry import promote

    event = promote(
        arguments.home, arguments.version, reason=arguments.reason, force=arguments.force
    )
    previous = event.get("previous_champion") or "none"
    print(
        f"{arguments.version} is now the champion (forced by {event['user']}; previous "
        f"champion: {previous}; reason: {event['reason']})."
    )
    return 0


def _rollback_command(arguments: argparse.Namespace) -> int:
    from sentiment.release.registry import rollback

    event = rollback(arguments.home, reason=arguments.reason)
    print(f"Rolled back: {event['to_version']} is the champion again (was {event['version']}).")
    return 0


# --- score -------------------------------------------------------------------------


def _add_score(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "score",
        help="Score review files with a model bundle.",
        description="Score .parquet, .csv, .jsonl/.json (one object per line) files, CSV and "
        "JSON lines optionally gzipped, into one Parquet file each with sentiment_score, "
        "sentiment_label and model_version added. Up-to-date outputs are skipped; failed "
        "inputs are listed in OUTPUT/failed.jsonl and make the command exit with status 1.",
    )
    parser.add_argument(
        "inputs", nargs="+", metavar="INPUT", help="Files, directories or glob patterns."
    )
    parser.add_argument("--output", required=True, help="Directory for the scored Parquet files.")
    parser.add_argument(
        "--model",
        default=None,
        help="Bundle version to score with, or 'latest' (default: the champion).",
    )
    parser.add_argument(
        "--text-column", default=None, help="Review-text column (default: 'text' or 'review')."
    )
    parser.add_argument(
        "--threshold", type=float, default=0.5, help="Label positive at or above (default 0.5)."
    )
    parser.add_argument(
        "--batch-size", type=int, default=1024, help="Reviews per forward pass (default 1024)."
    )
    parser.add_argument("--force", action="store_true", help="Rescore up-to-date outputs too.")
    parser.add_argument(
        "--encode-threads",
        type=int,
        default=None,
        help="Threads per file that encode ahead of the model (default 2; 0: none). More "
        "help a cheap model such as nbsvm on a machine with idle cores.",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="Score files in parallel on a local Dask cluster of this many processes.",
    )
    parser.add_argument(
        "--dask-address", default=None, help="Run the file tasks on this Dask scheduler."
    )
    parser.set_defaults(handler=_run_score)


def _run_score(arguments: argparse.Namespace) -> int:
    from flows.score import score_flow

    summary = score_flow(
        inputs=list(arguments.inputs),
        output=arguments.output,
        home=str(arguments.home),
        model=arguments.model,
        text_column=arguments.text_column,
        threshold=arguments.threshold,
        batch_size=arguments.batch_size,
        force=arguments.force,
        workers=arguments.workers,
        dask_address=arguments.dask_address,
        # Left out when not given, so the library's default holds (and is stated once).
        **(
            {"encode_threads": arguments.encode_threads}
            if arguments.encode_threads is not None
            else {}
        ),
    )
    rate = summary["rows_per_second"]
    print(
        f"Scored {summary['files_scored']} file(s), skipped {summary['files_skipped']} up to "
        f"date; {summary['rows']:,} rows ({summary['null_text_rows']:,} without text), "
        f"{(summary['positive_share'] or 0.0):.1%} positive"
        + (f", {rate:,.0f} reviews/s" if rate else "")
        + f" with model {summary['model_version']} -> {summary['output_dir']}"
    )
    return 0


# --- run (the main job) ------------------------------------------------------------


def _add_run(subparsers: argparse._SubParsersAction) -> None:
    from sentiment.modeling.config import DEFAULT_MODEL, MODEL_NAMES

    parser = subparsers.add_parser(
        "run",
        aliases=["retrain"],
        help="The main job: ingest, retrain, gate, then score a review dump.",
        description="Ingest IMDB (cached), train a model, evaluate and gate it against the "
        "champion, then score review files with the champion (default: the 50,000 "
        "unlabeled reviews, into <home>/scores).",
    )
    _add_archive_options(parser)
    parser.add_argument(
        "--model",
        choices=MODEL_NAMES,
        default=DEFAULT_MODEL,
        help=f"Zoo model to retrain (default: {DEFAULT_MODEL}).",
    )
    parser.add_argument("--epochs", type=int, default=None, help="Maximum epochs.")
    parser.add_argument("--seed", type=int, default=42, help="Training seed.")
    parser.add_argument(
        "--score", nargs="*", default=None, metavar="INPUT", help="Review files to score."
    )
    parser.add_argument("--output", default=None, help="Where scored files go.")
    parser.set_defaults(handler=_run_main_job)


def _run_main_job(arguments: argparse.Namespace) -> int:
    from flows.retrain import retrain_flow

    state = retrain_flow(
        home=str(arguments.home),
        source=arguments.source,
        sha256=arguments.sha256,
        model=arguments.model,
        epochs=arguments.epochs,
        seed=arguments.seed,
        score_inputs=arguments.score,
        score_output=arguments.output,
        return_state=True,
    )
    summary = state.result()
    training = summary["training"]
    print(f"Trained {training['version']}: {summary['decision']}")
    scoring = summary.get("scoring")
    if scoring:
        print(
            f"Scored with the champion into {arguments.output or Path(arguments.home) / 'scores'}"
        )
    return 0


# -----------------------------------------------------------------------------------


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

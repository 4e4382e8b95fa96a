"""``sentiment score``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

from cli import preflight
from cli.options import add_config_options, config_from, given
from cli.server import load_flow
from sentiment.scoring.config import DASK_ADDRESS_VARIABLE, ClusterConfig, ScoringConfig

# The failures file scoring writes (sentiment.scoring.discovery.FAILED_FILE, not imported:
# it loads the readers).
FAILED_FILE = "failed.jsonl"


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``score``."""
    score = subparsers.add_parser(
        "score",
        help="Score review files with a model bundle.",
        description="Score .parquet, .csv, .jsonl/.json (one object per line) files, CSV and "
        "JSON lines optionally gzipped, into one Parquet file each with sentiment_score, "
        "sentiment_label and model_version added. Up-to-date outputs are skipped; failed "
        "inputs are listed in OUTPUT/failed.jsonl and make the command exit with status 1.",
    )
    score.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="Files, directories or glob patterns; local paths or URLs (s3://bucket/dump/, "
        "credentials and endpoint from AWS_*).",
    )
    score.add_argument(
        "--output",
        required=True,
        help="Directory (or URL, e.g. s3://bucket/scored/) for the scored Parquet files.",
    )
    score.add_argument(
        "--model",
        default=None,
        help="Bundle version of the home's registry to score with, or 'latest' (default: "
        "the champion).",
    )
    score.add_argument(
        "--bundle",
        default=None,
        metavar="PATH",
        help="A bundle directory to score with instead, possibly outside the registry, or "
        "its URL (s3://bucket/models/VERSION): verified against its checksums and recorded "
        "as an explicit path in the outputs.",
    )
    settings = add_config_options(score.add_argument_group("scoring"), ScoringConfig)
    add_config_options(
        score.add_argument_group("Dask (optional: files scored in parallel)"), ClusterConfig
    )
    score.set_defaults(handler=_score, settings=settings)


def _score(arguments: argparse.Namespace) -> int:
    # Built once, from the options the user set, before Prefect starts: a bad value
    # fails in one line.
    config = ScoringConfig(**given(arguments, arguments.settings))
    cluster = _cluster_config(arguments)
    preflight.check_inputs(arguments.inputs)
    preflight.check_output(arguments.output)
    preflight.check_model(arguments.home, arguments.model, arguments.bundle)
    score_flow = load_flow("flows.score", "score_flow")

    # Loaded with the flow already.
    from sentiment.scoring.scorer import ScoringFailedError

    try:
        summary = score_flow(
            inputs=list(arguments.inputs),
            output=arguments.output,
            config=config,
            home=str(arguments.home),
            model=arguments.model,
            bundle=arguments.bundle,
            cluster=cluster,
        )
    except ScoringFailedError:
        _print_failures(arguments.output)
        raise
    rate = summary["rows_per_second"]
    print(
        f"Scored {summary['files_scored']} file(s), skipped {summary['files_skipped']} up to "
        f"date; {summary['rows']:,} rows ({summary['null_text_rows']:,} without text, "
        f"{summary['unknown_text_rows']:,} with no known word), "
        f"{(summary['positive_share'] or 0.0):.1%} positive"
        + (f", {rate:,.0f} reviews/s" if rate else "")
        + f" with model {summary['model_version']}"
        + (f" (bundle {summary['bundle_directory']})" if summary["model_source"] == "path" else "")
        + f" -> {summary['output_dir']}"
    )
    return 0


def _cluster_config(arguments: argparse.Namespace) -> ClusterConfig:
    """The run's cluster, from ``--dask-workers``/``--dask-address``, the address else from
    the environment."""
    cluster = config_from(arguments, ClusterConfig)
    if cluster.address is None and os.environ.get(DASK_ADDRESS_VARIABLE):
        return replace(cluster, address=os.environ[DASK_ADDRESS_VARIABLE])
    return cluster


def _print_failures(output: str) -> None:
    """Each failed input and its reason, from the run's ``failed.jsonl`` (local output)."""
    failed = Path(output) / FAILED_FILE
    if "://" in output or not failed.is_file():
        return
    for line in failed.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        print(f"  failed: {record['reason']}", file=sys.stderr)

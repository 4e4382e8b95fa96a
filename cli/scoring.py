"""``sentiment score``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from cli import home_runner, preflight
from cli.options import add_config_options, config_from, given
from cli.server import load_flow
from sentiment.core.errors import SentimentError
from sentiment.core.paths import HomeLayout
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
    # Absolute: the home's runner has its own working directory.
    request = {
        "inputs": [_absolute(source) for source in arguments.inputs],
        "output": _absolute(arguments.output),
        "config": dataclasses.asdict(config),
        "home": str(arguments.home),
        "model": arguments.model,
        "bundle": None if arguments.bundle is None else _absolute(arguments.bundle),
        "cluster": dataclasses.asdict(cluster),
    }
    try:
        summary = _run(arguments.home, request)
    except SentimentError as error:
        if getattr(error, "failed_inputs", False):
            _print_failures(arguments.output)
        raise
    if summary["output_dir"] == request["output"]:
        summary["output_dir"] = arguments.output  # as the user wrote it
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


def _run(home: Path, request: dict[str, Any]) -> dict[str, Any]:
    """The run's summary: from the home's warm runner when it may run it, else from a
    flow run in this process (which then starts the runner for the next command)."""
    if home_runner.enabled():
        summary = home_runner.run(HomeLayout(home), "score", request)
        if summary is not home_runner.LOCAL:
            return summary
    try:
        return run_score(request)
    finally:
        home_runner.after_local_run()


def run_score(request: dict[str, Any]) -> dict[str, Any]:
    """Run the ``score`` flow on ``request`` (what :func:`_score` checked and built, JSON
    values only) in this process: the command's own, or the home's runner's.

    Raises:
        SentimentError: The run's expected failure (``failed_inputs`` set when some
            inputs failed and the others were scored).
    """
    score_flow = load_flow("flows.score", "score_flow")

    # Loaded with the flow already.
    from sentiment.scoring.scorer import ScoringFailedError

    settings = {
        key: tuple(value) if isinstance(value, list) else value
        for key, value in request["config"].items()
    }
    try:
        return score_flow(
            inputs=list(request["inputs"]),
            output=request["output"],
            config=ScoringConfig(**settings),
            home=request["home"],
            model=request["model"],
            bundle=request["bundle"],
            cluster=ClusterConfig(**request["cluster"]),
        )
    except ScoringFailedError as error:
        error.failed_inputs = True  # type: ignore[attr-defined]
        raise


def _absolute(location: str) -> str:
    """A local path, directory or glob pattern made absolute; a URL as it is."""
    return location if "://" in location else os.path.join(os.getcwd(), location)


def _print_failures(output: str) -> None:
    """Each failed input and its reason, from the run's ``failed.jsonl`` (local output)."""
    failed = Path(output) / FAILED_FILE
    if "://" in output or not failed.is_file():
        return
    for line in failed.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        print(f"  failed: {record['reason']}", file=sys.stderr)

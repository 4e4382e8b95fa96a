"""The ``score`` flow: score review dumps with a model bundle, one task per shard (small
files together, a large file in row or byte ranges joined back into its one output; paths
or URLs such as s3://)."""

from __future__ import annotations

import time
from typing import Any

from prefect import flow, unmapped
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.runtime import flow_run

from flows.errors import one_sentence_failures
from flows.runners import scoring_task_runner
from sentiment.core.paths import resolve_home
from sentiment.scoring.config import ClusterConfig, DriftThresholds, ScoringConfig
from sentiment.scoring.run import run_config, shard_label
from sentiment.scoring.scorer import ScoringFailedError
from tasks.score import (
    collect_results_task,
    drift_task,
    plan_run_task,
    resolve_model_task,
    score_shard_task,
    scoring_failed_task,
    summarize_task,
)


def score_shards(
    plan: dict[str, Any],
    output: str,
    bundle_directory: str,
    config: ScoringConfig,
    runner: Any,
) -> list[dict[str, Any]]:
    """Score the plan's shards on ``runner`` (a Dask cluster, or one at a time in this
    process: TensorFlow and the encoding threads use the cores); return each shard's
    outcome in order. Nothing to score (a rerun with every output up to date) starts no
    runner and no task."""
    shards = plan["shards"]
    if not shards:
        return []
    progress = create_progress_artifact(
        0.0, key="scoring-progress", description=f"Share of {len(shards)} shard(s) scored"
    )
    with runner:
        futures = runner.map(
            score_shard_task,
            {
                "shard": shards,
                "output": unmapped(output),
                "bundle_directory": unmapped(bundle_directory),
                "config": unmapped(config),
                "label": [shard_label(shard) for shard in shards],
                "progress_artifact": unmapped(progress),
            },
        )
        outcomes = [future.result() for future in futures]
    update_progress_artifact(progress, 100.0)
    return outcomes


def score_run_name() -> str:
    """``score-3-inputs``: how many inputs (files, folders or patterns) the run was given."""
    count = len((flow_run.parameters or {}).get("inputs") or [])
    return f"score-{count}-input{'' if count == 1 else 's'}"


@flow(name="score", flow_run_name=score_run_name)
@one_sentence_failures
def score_flow(
    inputs: list[str],
    output: str,
    config: ScoringConfig | None = None,
    home: str | None = None,
    model: str | None = None,
    bundle: str | None = None,
    drift: DriftThresholds | None = None,
    cluster: ClusterConfig | None = None,
) -> dict[str, Any]:
    """Score every review file in ``inputs`` into one Parquet file each under ``output``.

    Files run one after another in this process by default; with a ``cluster`` they run
    as parallel tasks on Dask, large files in shards.

    Args:
        inputs: Files, directories and glob patterns of .parquet, .csv, .jsonl/.json
            (one object per line) files, CSV and JSON lines optionally gzip-compressed;
            local paths or URLs (``s3://bucket/dump/``, credentials from ``AWS_*``).
        output: The output directory: a path or a URL.
        config: How to score (default: the
            :class:`~sentiment.scoring.config.ScoringConfig` defaults).
        home: The pipeline home (default: ``$SENTIMENT_HOME``, else the user's data
            directory).
        model: The bundle version to use; default the registry's champion.
        bundle: An explicit bundle directory to use instead, possibly outside the
            home's registry, or its URL (``s3://bucket/models/VERSION``; each host
            copies it once): verified against its checksums like a registry bundle and
            recorded as such (``model_source`` ``path``) in the summary and every output.
        drift: When the batch counts as drifted from training (default: the
            :class:`~sentiment.scoring.config.DriftThresholds` defaults).
        cluster: Where the tasks run (default: the
            :class:`~sentiment.scoring.config.ClusterConfig` defaults, this process).

    Returns:
        The run summary (counts, throughput, drift figures and verdict under
        ``drift``, outputs, failures).

    Raises:
        ScoringFailedError: After every good file is scored, if any input failed.
    """
    started = time.perf_counter()
    home = str(resolve_home(home))
    cluster = cluster or ClusterConfig()
    runner = scoring_task_runner(cluster)
    resolved = resolve_model_task(home, model, bundle)
    config = run_config(config, resolved)
    plan = plan_run_task(inputs, output, config, resolved, cluster.parallel)
    outcomes = score_shards(plan, output, resolved.location, config, runner)
    results = collect_results_task(plan, outcomes, output, resolved, config)
    seconds = time.perf_counter() - started
    summary = summarize_task(results, output, resolved, config.threshold, seconds)
    summary["drift"] = drift_task(summary, drift)
    if summary["files_failed"]:
        scoring_failed_task(summary)
        raise ScoringFailedError(summary["failure_message"])
    return summary

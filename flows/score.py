"""The ``score`` flow: score review dumps with a model bundle, one task per shard (small
files together, a large file in row or byte ranges joined back into its one output; paths
or URLs such as s3://)."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from prefect import flow, unmapped
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from flows.runners import scoring_task_runner
from sentiment.core.paths import resolve_home
from sentiment.scoring.config import DriftThresholds, ScoringConfig
from sentiment.scoring.scorer import ScoringFailedError
from tasks.score import (
    assemble_parts_task,
    discover_inputs_task,
    drift_task,
    resolve_model_task,
    score_shard_task,
    scoring_failed_task,
    shard_label,
    summarize_task,
)


# One shard at a time in this process: TensorFlow and the encoding threads use the cores.
@flow(
    name="score-files",
    flow_run_name="score-files",
    task_runner=ThreadPoolTaskRunner(max_workers=1),
)
def score_files_flow(
    shards: list[dict[str, Any]],
    output: str,
    bundle_directory: str,
    config: ScoringConfig,
) -> list[dict[str, Any]]:
    """Score each shard of a plan on this flow's task runner; return each shard's
    outcome (``worker``, and ``results`` or ``part``), in order."""
    progress = create_progress_artifact(
        0.0, key="scoring-progress", description=f"Share of {len(shards)} shard(s) scored"
    )
    futures = score_shard_task.map(
        shards,
        output=unmapped(output),
        bundle_directory=unmapped(bundle_directory),
        config=unmapped(config),
        label=[shard_label(shard) for shard in shards],
        progress_artifact=unmapped(progress),
    )
    outcomes = [future.result() for future in futures]
    update_progress_artifact(progress, 100.0)
    return outcomes


def _in_input_order(results: list[dict[str, Any]], order: list[str]) -> list[dict[str, Any]]:
    position = {path: index for index, path in enumerate(order)}
    return sorted(results, key=lambda result: position.get(result["input_path"], -1))


def score_run_name() -> str:
    """``score-3-inputs``: how many inputs (files, folders or patterns) the run was given."""
    count = len((flow_run.parameters or {}).get("inputs") or [])
    return f"score-{count}-input{'' if count == 1 else 's'}"


@flow(name="score", flow_run_name=score_run_name)
def score_flow(
    inputs: list[str],
    output: str,
    home: str | None = None,
    model: str | None = None,
    bundle: str | None = None,
    text_column: str | None = ScoringConfig.text_column,
    threshold: float | None = ScoringConfig.threshold,
    batch_size: int = ScoringConfig.batch_size,
    force: bool = ScoringConfig.force,
    encode_threads: int = ScoringConfig.encode_threads,
    explain: int = ScoringConfig.explain,
    uncertain: tuple[float, float] | None = ScoringConfig.uncertain,
    dask_workers: int = 0,
    dask_address: str | None = None,
    drift: DriftThresholds | None = None,
    shard_bytes: int = ScoringConfig.shard_bytes,
    read_rows: int = ScoringConfig.read_rows,
) -> dict[str, Any]:
    """Score every review file in ``inputs`` into one Parquet file each under ``output``.

    Files run one after another in this process by default; with ``dask_workers`` or a
    ``dask_address`` they run as parallel tasks on a Dask cluster (a local one of that
    many processes, or the scheduler at the address).

    Args:
        inputs: Files, directories and glob patterns of .parquet, .csv, .jsonl/.json
            (one object per line) files, CSV and JSON lines optionally gzip-compressed;
            local paths or URLs (``s3://bucket/dump/``, credentials from ``AWS_*``).
        output: The output directory: a path or a URL.
        home: The pipeline home (default: ``$SENTIMENT_HOME``, else the user's data
            directory).
        model: The bundle version to use; default the registry's champion.
        bundle: An explicit bundle directory to use instead, possibly outside the
            home's registry, or its URL (``s3://bucket/models/VERSION``; each host
            copies it once): verified against its checksums like a registry bundle and
            recorded as such (``model_source`` ``path``) in the summary and every output.
        text_column: The review-text column; default ``text`` or ``review``.
        threshold: Scores at or above it are labelled positive; default the bundle's
            threshold, chosen on validation.
        batch_size: Reviews per model forward pass.
        force: Rescore inputs whose output is already up to date.
        encode_threads: Threads per file that encode upcoming batches while the model
            scores (0: encode in the scoring thread).
        explain: Add a ``sentiment_reasons`` column with this many most positive and
            most negative n-grams per review (linear models only; 0: none).
        uncertain: A ``(low, high)`` score band labelled ``uncertain``.
        dask_workers: Processes of a local Dask cluster to score files on (0: no Dask).
        dask_address: Address of an existing Dask scheduler to score files on.
        drift: When the batch counts as drifted from training (default: the
            :class:`~sentiment.scoring.config.DriftThresholds` defaults).
        shard_bytes: On Dask, a Parquet, plain CSV or plain JSON-lines input larger
            than this is scored in parallel shards of about this many bytes (row or byte
            ranges) joined into its one output.
        read_rows: Rows per batch read and per output row group; shards are cut at
            multiples of it (so they are never smaller).

    Returns:
        The run summary (counts, throughput, drift figures and verdict under
        ``drift``, outputs, failures).

    Raises:
        ScoringFailedError: After every good file is scored, if any input failed.
    """
    started = time.perf_counter()
    home = str(resolve_home(home))
    config = ScoringConfig(
        text_column=text_column,
        threshold=threshold,
        batch_size=batch_size,
        force=force,
        encode_threads=encode_threads,
        explain=explain,
        uncertain=None if uncertain is None else tuple(uncertain),
        shard_bytes=shard_bytes,
        read_rows=read_rows,
    )
    runner = scoring_task_runner(dask_workers, dask_address)
    resolved = resolve_model_task(home, model, bundle)
    if resolved["source"] == "path":
        config = replace(config, bundle_path=resolved["directory"])
    # Large files are cut into shards only where shards can run side by side.
    on_dask = bool(dask_workers or dask_address)
    plan = discover_inputs_task(inputs, output, config, resolved["directory"], on_dask)
    # Nothing to score (a rerun with every output up to date): no subflow, no task.
    outcomes = (
        score_files_flow.with_options(task_runner=runner)(
            plan["shards"], output, resolved["directory"], config
        )
        if plan["shards"]
        else []
    )
    parts = [outcome["part"] for outcome in outcomes if "part" in outcome]
    joined = (
        assemble_parts_task(plan["large"], parts, output, resolved["directory"], config)
        if plan["large"]
        else []
    )
    results = _in_input_order(
        [
            *plan["skipped"],
            *joined,
            *(result for outcome in outcomes for result in outcome.get("results", [])),
        ],
        plan["order"],
    )
    summary = summarize_task(
        [*plan["failures"], *results],
        home,
        output,
        resolved,
        config.threshold,
        seconds=time.perf_counter() - started,
    )
    summary["drift"] = drift_task(summary, drift or DriftThresholds())
    if summary["files_failed"]:
        scoring_failed_task(summary)
        raise ScoringFailedError(summary["failure_message"])
    return summary

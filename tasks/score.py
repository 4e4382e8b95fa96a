"""Prefect tasks of the batch-scoring stage.

One task per group of input files (a large file alone, small files together, so a
task's own cost never outweighs its work), so groups can run on Dask workers; each
returns small manifests (paths and counts), never data. Scoring has no retries: a bad file fails the
same way every time and is reported, not retried.
"""

from __future__ import annotations

import functools
import os
import socket
import time
from pathlib import Path
from typing import Any
from uuid import UUID

from prefect import task
from prefect.artifacts import create_markdown_artifact, update_progress_artifact
from prefect.logging import get_run_logger

from sentiment.core import storage
from sentiment.modeling.bundle import ModelBundle, bundle_identity, load_bundle, local_bundle
from sentiment.release.registry import scoring_bundle
from sentiment.scoring.config import DriftThresholds, ScoringConfig
from sentiment.scoring.discovery import InputFile, discover_inputs, task_groups
from sentiment.scoring.drift import detect_drift
from sentiment.scoring.outputs import prepare_output_directory
from sentiment.scoring.parts import assemble_parts, score_part
from sentiment.scoring.results import FileResult
from sentiment.scoring.scorer import score_file
from sentiment.scoring.shards import plan_shards
from sentiment.scoring.summary import summarize_scoring
from tasks.events import DRIFT_DETECTED, SCORING_FAILED, emit

# Update the progress artifact at most this often, to spare the API.
_PROGRESS_INTERVAL_SECONDS = 2.0


@functools.lru_cache(maxsize=2)
def _bundle(directory: str) -> ModelBundle:
    # One load per process: every file task of a run (or of a Dask worker) reuses it.
    return load_bundle(local_bundle(directory))


@task(name="resolve-model")
def resolve_model_task(
    home: str, model: str | None = None, bundle: str | None = None
) -> dict[str, str]:
    """Return the version, directory and source of the bundle to score with (nothing
    loads; an explicit bundle is verified against its checksums here).

    Args:
        home: The pipeline home.
        model: A bundle version (``latest``: the newest bundle), or None for the
            registry's champion.
        bundle: An explicit bundle directory instead (possibly outside the registry),
            or its URL (``s3://bucket/models/VERSION``; each host copies it once).

    Returns:
        ``{"version", "directory", "source"}``, source ``registry`` or ``path``.
    """
    version, directory, source = scoring_bundle(Path(home), model, bundle)
    where = "an explicit path" if source == "path" else "the registry"
    get_run_logger().info("Scoring with model %s (%s, from %s).", version, directory, where)
    return {"version": version, "directory": str(directory), "source": source}


@task(name="discover-inputs")
def discover_inputs_task(
    inputs: list[str],
    output: str,
    config: ScoringConfig | None = None,
    bundle_directory: str | None = None,
    shard_large_files: bool = True,
) -> dict[str, Any]:
    """Prepare the output directory and expand the inputs into shards to score; inputs
    that cannot be scored become failures.

    With a ``bundle_directory``, inputs whose outputs are up to date are skipped here
    (hashed now; no task scores them, no model loads for them), small files are grouped
    several to a shard and, when ``shard_large_files``, a Parquet or JSON-lines input
    larger than ``config.shard_bytes`` is cut into ranges
    (:func:`sentiment.scoring.shards.plan_shards`; on one process shards gain nothing
    and cost a join).

    Raises:
        OutputError: If the output directory cannot be created or written (one sentence
            naming it; no input is blamed).

    Returns:
        ``{"shards": [...], "large": [...], "skipped": [result dicts], "failures":
        [result dicts], "order": [input paths]}``.
    """
    config = config or ScoringConfig()
    removed = prepare_output_directory(storage.location(output))
    discovery = discover_inputs(inputs, output_dir=storage.location(output))
    files = discovery.manifests()
    failures = [FileResult.failed(failure).to_dict() for failure in discovery.failures]
    if bundle_directory is None:
        groups = task_groups(files, config.task_bytes, config.task_files)
        shards: list[dict[str, Any]] = [{"kind": "files", "files": group} for group in groups]
        large: list[dict[str, Any]] = []
        skipped: list[dict[str, Any]] = []
    else:
        identity = bundle_identity(local_bundle(bundle_directory))
        plan = plan_shards(
            files, storage.location(output), identity, config, cut_large=shard_large_files
        )
        shards, large = plan.shards, plan.large
        skipped = [result.to_dict() for result in plan.skipped]
    get_run_logger().info(
        "Found %d file(s) (%.1f MiB): %d up to date, the rest in %d shard(s) (%d file(s) in "
        "parts); %d input(s) rejected; %d dead temporary file(s) removed.",
        len(files),
        sum(item["size"] for item in files) / (1 << 20),
        len(skipped),
        len(shards),
        len(large),
        len(failures),
        removed,
    )
    return {
        "shards": shards,
        "large": large,
        "skipped": skipped,
        "failures": failures,
        "order": [item["path"] for item in files],
    }


class _Progress:
    """Maps one file's progress onto the run's progress artifact, throttled.

    The files of one task share a progress (see :meth:`for_file`), so a task of a
    thousand tiny files updates the artifact every few seconds, not once per file.
    """

    def __init__(self, artifact: UUID | None, offset: float = 0.0, weight: float = 1.0) -> None:
        self._artifact = artifact
        self._offset = offset
        self._weight = weight
        self._last = time.monotonic()

    def for_file(self, offset: float, weight: float) -> _Progress:
        """Point this progress at the next file of the task (same throttle)."""
        self._offset, self._weight = offset, weight
        return self

    def __call__(self, rows_done: int, fraction: float) -> None:
        now = time.monotonic()
        if self._artifact is None or now - self._last < _PROGRESS_INTERVAL_SECONDS:
            return
        self._last = now
        update_progress_artifact(
            self._artifact, min(100.0, 100.0 * (self._offset + self._weight * fraction))
        )


def _log_result(item: InputFile, result: FileResult) -> None:
    logger = get_run_logger()
    if result.status == "failed":
        logger.warning("Failed: %s", result.reason)
    elif result.status == "skipped":
        logger.info("Skipped %s: %s.", item.path, result.reason)
    else:
        rate = result.rows / result.seconds if result.seconds else 0.0
        logger.info(
            "Scored %s: %d rows in %.1f s (%.0f reviews/s) -> %s",
            item.path,
            result.rows,
            result.seconds,
            rate,
            result.output_path,
        )


@task(name="score-files", task_run_name="score-{label}")
def score_group_task(
    files: list[dict[str, Any]],
    output: str,
    bundle_directory: str,
    config: ScoringConfig,
    label: str = "files",
    progress_artifact: UUID | None = None,
) -> list[dict[str, Any]]:
    """Score a group of input files (one of :func:`discover_inputs_task`'s ``groups``).

    Args:
        files: The group's manifests.
        output: The output directory (prepared by :func:`discover_inputs_task`).
        bundle_directory: The model bundle to score with.
        config: The scoring settings.
        label: The task run's name: the first output's name and how many files follow.
        progress_artifact: The run's progress artifact, advanced by each file's share.

    Returns:
        Each file's :class:`~sentiment.scoring.results.FileResult` as a dict, in order.
    """
    bundle = _bundle(bundle_directory)
    progress = _Progress(progress_artifact)
    results = []
    for manifest in files:
        item = InputFile.from_manifest(manifest)
        on_batch = progress.for_file(manifest["progress_offset"], manifest["share"])
        result = score_file(item, storage.location(output), bundle, config, on_batch=on_batch)
        # A failure is always named; a batch of small files logs one line, not one each
        # (every log line is a record sent to the API).
        if len(files) == 1 or result.status == "failed":
            _log_result(item, result)
        results.append(result.to_dict())
    if len(files) > 1:
        counts = {status: 0 for status in ("scored", "skipped", "failed")}
        for result in results:
            counts[result["status"]] += 1
        get_run_logger().info(
            "Scored %d of %d file(s) (%d rows) in %.1f s, %d up to date, %d failed: %s to %s.",
            counts["scored"],
            len(files),
            sum(result["rows"] for result in results),
            sum(result["seconds"] for result in results),
            counts["skipped"],
            counts["failed"],
            files[0]["path"],
            files[-1]["path"],
        )
    return results


def group_label(files: list[dict[str, Any]]) -> str:
    """A group's task-run name: its first output's name, plus how many more files."""
    first = files[0]["output_name"] if files else "nothing"
    return first if len(files) <= 1 else f"{first}-and-{len(files) - 1}-more"


def shard_label(shard: dict[str, Any]) -> str:
    """A shard's task-run name: its files' label, or the output and part number."""
    if shard["kind"] == "files":
        return group_label(shard["files"])
    return f"{shard['file']['output_name']}-part-{shard['index'] + 1}-of-{shard['count']}"


def _worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@task(name="score-shard", task_run_name="score-{label}")
def score_shard_task(
    shard: dict[str, Any],
    output: str,
    bundle_directory: str,
    config: ScoringConfig,
    label: str = "shard",
    progress_artifact: UUID | None = None,
) -> dict[str, Any]:
    """Score one shard (of :func:`discover_inputs_task`): a group of files, or a row
    range of a large Parquet file into its part file.

    Returns:
        ``{"worker": "host:pid", "results": [file result dicts]}`` for a group, or
        ``{"worker": ..., "part": part outcome}`` for a part
        (:func:`sentiment.scoring.shards.score_part`).
    """
    if shard["kind"] == "files":
        results = score_group_task.fn(
            shard["files"], output, bundle_directory, config, label, progress_artifact
        )
        return {"worker": _worker(), "results": results}
    outcome = score_part(shard, storage.location(output), _bundle(bundle_directory), config)
    logger = get_run_logger()
    if outcome["status"] == "failed":
        logger.warning("Failed: %s", outcome["reason"])
    else:
        logger.info(
            "Part %d of %d of %s: %s %d rows in %.1f s.",
            shard["index"] + 1,
            shard["count"],
            shard["file"]["path"],
            outcome["status"],
            outcome["rows"],
            outcome["seconds"],
        )
    if progress_artifact is not None:
        manifest = shard["file"]
        fraction = (shard["index"] + 1) / shard["count"]
        update_progress_artifact(
            progress_artifact,
            min(100.0, 100.0 * (manifest["progress_offset"] + manifest["share"] * fraction)),
        )
    return {"worker": _worker(), "part": outcome}


@task(name="assemble-parts")
def assemble_parts_task(
    large: list[dict[str, Any]],
    outcomes: list[dict[str, Any]],
    output: str,
    bundle_directory: str,
    config: ScoringConfig,
) -> list[dict[str, Any]]:
    """Join each large input's parts into its one output, in input order.

    Returns:
        Each large input's :class:`~sentiment.scoring.results.FileResult` as a dict.
    """
    identity = bundle_identity(local_bundle(bundle_directory))
    results = []
    for manifest in large:
        seconds = sum(
            outcome["seconds"]
            for outcome in outcomes
            if outcome["output_name"] == manifest["output_name"]
        )
        result = assemble_parts(
            manifest, outcomes, storage.location(output), identity, config, seconds
        )
        _log_result(InputFile.from_manifest(manifest), result)
        results.append(result.to_dict())
    return results


@task(name="score-file", task_run_name="score-{input_file[output_name]}")
def score_file_task(
    input_file: dict[str, Any],
    output: str,
    bundle_directory: str,
    config: ScoringConfig,
    progress_artifact: UUID | None = None,
) -> dict[str, Any]:
    """Score one input file into ``output``; a bad file returns a failed result.

    Args:
        input_file: One entry of :func:`discover_inputs_task`'s ``inputs``.
        output: The output directory.
        bundle_directory: The model bundle to score with.
        config: The scoring settings.
        progress_artifact: The run's progress artifact, advanced by this file's share.

    Returns:
        The file's :class:`~sentiment.scoring.results.FileResult` as a dict.
    """
    item = InputFile.from_manifest(input_file)
    progress = _Progress(progress_artifact, input_file["progress_offset"], input_file["share"])
    result = score_file(
        item, storage.location(output), _bundle(bundle_directory), config, on_batch=progress
    )
    _log_result(item, result)
    return result.to_dict()


@task(name="scoring-summary")
def summarize_task(
    results: list[dict[str, Any]],
    home: str,
    output: str,
    bundle: dict[str, str],
    threshold: float | None,
    seconds: float,
) -> dict[str, Any]:
    """Write ``failed.jsonl``, publish the summary artifact and return the summary."""
    summary = summarize_scoring(
        Path(home),
        [FileResult.from_dict(result) for result in results],
        storage.location(output),
        model_version=bundle["version"],
        bundle_directory=local_bundle(bundle["directory"]),
        model_source=bundle.get("source", "registry"),
        threshold=threshold,
        seconds=seconds,
    )
    create_markdown_artifact(
        summary.to_markdown(),
        key="scoring-summary",
        description=f"Batch scoring with {bundle['version']} into {output}",
    )
    payload = summary.to_dict()
    get_run_logger().info(
        "Scored %d file(s), skipped %d, failed %d; %d rows, %.1f%% predicted positive.",
        summary.files_scored,
        summary.files_skipped,
        summary.files_failed,
        payload["rows"],
        100.0 * (payload["positive_share"] or 0.0),
    )
    return payload


@task(name="check-drift")
def drift_task(summary: dict[str, Any], thresholds: DriftThresholds) -> dict[str, Any]:
    """Judge the run's drift; emit ``sentiment.drift.detected`` when it drifted."""
    report = detect_drift(summary, thresholds)
    logger = get_run_logger()
    if report.drifted:
        logger.warning("Drift detected: %s", report.reason)
        emit(
            DRIFT_DETECTED,
            summary["model_version"],
            {
                "reason": report.reason,
                "output_dir": summary["output_dir"],
                "files": summary["outputs"],
                "checks": report.to_dict()["checks"],
            },
        )
    else:
        logger.info("Drift: %s (%s)", report.status, report.reason)
    return report.to_dict()


@task(name="report-failures")
def scoring_failed_task(summary: dict[str, Any]) -> int:
    """Emit one ``sentiment.scoring.failed`` event per failed input; return how many."""
    for failure in summary["failed"]:
        emit(
            SCORING_FAILED,
            summary["model_version"],
            {
                "file": failure["path"],
                "reason": failure["reason"],
                "output_dir": summary["output_dir"],
                "failed_file": summary["failed_file"],
            },
        )
    return len(summary["failed"])

"""Prefect tasks of the batch-scoring stage, each one call of :mod:`sentiment.scoring.run`
(or of the summary and drift checks) plus its logs, artifacts and events.

One task per shard (small files together, a large file in ranges, so a task's own cost
never outweighs its work), so shards can run on Dask workers; each returns small
manifests (paths and counts), never data. Scoring has no retries: a bad file fails the
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
from sentiment.modeling.bundle import ModelBundle, load_bundle
from sentiment.modeling.bundle_cache import local_bundle
from sentiment.modeling.bundle_files import CHECKSUMS_FILE
from sentiment.modeling.resolved_bundle import ResolvedBundle
from sentiment.scoring.config import DriftThresholds, ScoringConfig
from sentiment.scoring.drift import detect_drift
from sentiment.scoring.resolve import resolve_scoring_bundle
from sentiment.scoring.results import FileResult
from sentiment.scoring.run import collect_results, plan_run, score_shard
from sentiment.scoring.summary import summarize_scoring
from tasks.events import DRIFT_DETECTED, SCORING_FAILED, emit

# Update the progress artifact at most this often, to spare the API.
_PROGRESS_INTERVAL_SECONDS = 2.0
# Say how far scoring got at most this often: long runs are never silent.
_PROGRESS_LOG_SECONDS = 5.0


def loaded_bundle(directory: str) -> ModelBundle:
    """The bundle at ``directory`` (a path or URL), loaded once per process and kept."""
    local = local_bundle(directory)
    # Keyed by its recorded checksums too: a long-lived process (the home's runner) loads,
    # and verifies, a bundle replaced at the same path again.
    return _bundle(str(local), (local / CHECKSUMS_FILE).read_bytes())


@functools.lru_cache(maxsize=2)
def _bundle(directory: str, checksums: bytes) -> ModelBundle:
    # One load per process: every file task of a run (or of a Dask worker, or every run
    # of the home's runner) reuses it.
    bundle = load_bundle(Path(directory))
    # The model's first prediction sets it up (TensorFlow traces its graph: seconds);
    # paid here, it stays out of the first file's time and its reviews/s.
    bundle.predict_texts(["a first review, scored once to set the model up"])
    return bundle


@task(name="resolve-model")
def resolve_model_task(
    home: str, model: str | None = None, bundle: str | None = None
) -> ResolvedBundle:
    """Resolve the bundle to score with, once for the run (the model does not load; an
    explicit bundle is verified against its checksums here).

    Args:
        home: The pipeline home.
        model: A bundle version (``latest``: the newest bundle), or None for the
            registry's champion.
        bundle: An explicit bundle directory instead (possibly outside the registry),
            or its URL (``s3://bucket/models/VERSION``; each host copies it once).

    Returns:
        Its version, location, source (``registry`` or ``path``), threshold,
        calibration and training profile, passed to the run's other tasks.
    """
    resolved = resolve_scoring_bundle(Path(home), model, bundle)
    where = "an explicit path" if resolved.source == "path" else "the registry"
    get_run_logger().info(
        "Scoring with model %s (%s, from %s).", resolved.version, resolved.location, where
    )
    return resolved


@task(name="plan-run")
def plan_run_task(
    inputs: list[str], output: str, config: ScoringConfig, bundle: ResolvedBundle, cut_large: bool
) -> dict[str, Any]:
    """Prepare the output and plan the run's shards (:func:`sentiment.scoring.run.plan_run`).

    Raises:
        OutputError: If the output directory cannot be created or written (one sentence
            naming it; no input is blamed).
    """
    plan = plan_run(inputs, output, config, bundle.identity, cut_large)
    get_run_logger().info(
        "Found %d file(s) (%.1f MiB): %d up to date, the rest in %d shard(s) (%d file(s) in "
        "parts); %d input(s) rejected; %d dead temporary file(s) removed.",
        plan["files"],
        plan["bytes"] / (1 << 20),
        len(plan["skipped"]),
        len(plan["shards"]),
        len(plan["large"]),
        len(plan["failures"]),
        plan["removed"],
    )
    return plan


class _Progress:
    """Shows the share of the run done on its progress artifact, at most every few
    seconds (each update is a request to the API), and in the logs (terminal and run
    logs) every :data:`_PROGRESS_LOG_SECONDS`, with the time left at the pace so far."""

    def __init__(self, artifact: UUID | None) -> None:
        self._artifact = artifact
        self._started = self._last = self._logged = time.monotonic()
        self._first: float | None = None

    def __call__(self, fraction: float) -> None:
        now = time.monotonic()
        if self._first is None:
            self._first = fraction  # a shard of a run under way starts past 0
        if now - self._logged >= _PROGRESS_LOG_SECONDS:
            self._logged = now
            done = fraction - self._first
            pace = done / (now - self._started)
            left = f", about {(1.0 - fraction) / pace:.0f} s left" if pace > 0 else ""
            get_run_logger().info(
                "Scoring: %.0f%% of the run done after %.0f s%s.",
                100.0 * fraction,
                now - self._started,
                left,
            )
        if self._artifact is None or now - self._last < _PROGRESS_INTERVAL_SECONDS:
            return
        self._last = now
        update_progress_artifact(self._artifact, min(100.0, 100.0 * fraction))


def _log_result(result: dict[str, Any]) -> None:
    logger = get_run_logger()
    if result["status"] == "failed":
        logger.warning("Failed: %s", result["reason"])
    elif result["status"] == "skipped":
        logger.info("Skipped %s: %s.", result["input_path"], result["reason"])
    else:
        rate = result["rows"] / result["seconds"] if result["seconds"] else 0.0
        logger.info(
            "Scored %s: %d rows in %.1f s (%.0f reviews/s) -> %s",
            result["input_path"],
            result["rows"],
            result["seconds"],
            rate,
            result["output_path"],
        )


def _log_outcome(shard: dict[str, Any], outcome: dict[str, Any]) -> None:
    """A failure is always named; a group of small files logs one line, not one each
    (every log line is a record sent to the API)."""
    logger = get_run_logger()
    if "part" in outcome:
        part = outcome["part"]
        if part["status"] == "failed":
            logger.warning("Failed: %s", part["reason"])
            return
        logger.info(
            "Part %d of %d of %s: %s %d rows in %.1f s.",
            shard["index"] + 1,
            shard["count"],
            shard["file"]["path"],
            part["status"],
            part["rows"],
            part["seconds"],
        )
        return
    results = outcome["results"]
    for result in results:
        if len(results) == 1 or result["status"] == "failed":
            _log_result(result)
    if len(results) > 1:
        counts = {status: 0 for status in ("scored", "skipped", "failed")}
        for result in results:
            counts[result["status"]] += 1
        logger.info(
            "Scored %d of %d file(s) (%d rows) in %.1f s, %d up to date, %d failed: %s to %s.",
            counts["scored"],
            len(results),
            sum(result["rows"] for result in results),
            sum(result["seconds"] for result in results),
            counts["skipped"],
            counts["failed"],
            results[0]["input_path"],
            results[-1]["input_path"],
        )


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
    """Score one shard of the plan (:func:`sentiment.scoring.run.score_shard`).

    Args:
        shard: A group of files, or a range of a large file.
        output: The output directory (prepared by :func:`plan_run_task`).
        bundle_directory: The model bundle to score with (loaded once per process).
        config: The scoring settings.
        label: The task run's name (:func:`sentiment.scoring.run.shard_label`).
        progress_artifact: The run's progress artifact, advanced as the shard goes.

    Returns:
        ``{"worker": "host:pid", "results": [file result dicts]}`` for a group, or
        ``{"worker": ..., "part": part outcome}`` for a part.
    """
    bundle = loaded_bundle(bundle_directory)
    outcome = score_shard(shard, output, bundle, config, _Progress(progress_artifact))
    _log_outcome(shard, outcome)
    return {"worker": _worker(), **outcome}


@task(name="collect-results")
def collect_results_task(
    plan: dict[str, Any],
    outcomes: list[dict[str, Any]],
    output: str,
    bundle: ResolvedBundle,
    config: ScoringConfig,
) -> list[dict[str, Any]]:
    """Join the large inputs' parts and return every input's result as a dict
    (:func:`sentiment.scoring.run.collect_results`)."""
    collected = collect_results(plan, outcomes, output, bundle.identity, config)
    for result in collected["joined"]:
        _log_result(result)
    return collected["results"]


@task(name="scoring-summary")
def summarize_task(
    results: list[dict[str, Any]],
    output: str,
    bundle: ResolvedBundle,
    threshold: float | None,
    seconds: float,
) -> dict[str, Any]:
    """Write ``failed.jsonl``, publish the summary artifact and return the summary
    (drift figures against the profile of the data the bundle was trained on)."""
    summary = summarize_scoring(
        [FileResult.from_dict(result) for result in results],
        storage.location(output),
        bundle,
        threshold=threshold,
        seconds=seconds,
    )
    create_markdown_artifact(
        summary.to_markdown(),
        key="scoring-summary",
        description=f"Batch scoring with {bundle.version} into {output}",
    )
    payload = summary.to_dict()
    _log_summary(payload)
    return payload


def _log_summary(summary: dict[str, Any]) -> None:
    get_run_logger().info(
        "Scored %d file(s), skipped %d, failed %d; %d rows, %.1f%% predicted positive.",
        summary["files_scored"],
        summary["files_skipped"],
        summary["files_failed"],
        summary["rows"],
        100.0 * (summary["positive_share"] or 0.0),
    )


@task(name="check-drift")
def drift_task(summary: dict[str, Any], thresholds: DriftThresholds | None) -> dict[str, Any]:
    """Judge the run's drift (default thresholds: the
    :class:`~sentiment.scoring.config.DriftThresholds` defaults); emit
    ``sentiment.drift.detected`` when it drifted."""
    verdict = detect_drift(summary, thresholds or DriftThresholds())
    report = verdict.to_dict()
    if verdict.drifted:
        get_run_logger().warning("Drift detected: %s", verdict.reason)
        emit(DRIFT_DETECTED, summary["model_version"], _drift_payload(summary, report))
    else:
        get_run_logger().info("Drift: %s (%s)", verdict.status, verdict.reason)
    return report


def _drift_payload(summary: dict[str, Any], report: dict[str, Any]) -> dict[str, Any]:
    """What ``sentiment.drift.detected`` carries: why, where, and every measure."""
    return {
        "reason": report["reason"],
        "output_dir": summary["output_dir"],
        "files": summary["outputs"],
        "checks": report["checks"],
    }


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

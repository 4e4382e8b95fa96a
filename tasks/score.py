"""Prefect tasks of the batch-scoring stage.

One task per input file, so files can run on Dask workers; each returns a small
manifest (paths and counts), never data. Scoring has no retries: a bad file fails the
same way every time and is reported, not retried.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any
from uuid import UUID

from prefect import task
from prefect.artifacts import create_markdown_artifact, update_progress_artifact
from prefect.logging import get_run_logger

from sentiment.core.errors import StageOutputMissingError
from sentiment.core.paths import HomeLayout
from sentiment.scoring.config import ScoringConfig
from sentiment.scoring.readers import InputFile, discover_inputs
from sentiment.scoring.results import FileResult
from sentiment.scoring.scorer import (
    DEFAULT_ENCODE_THREADS,
    bundle_training_reference,
    score_file,
    write_failures,
)
from sentiment.scoring.summary import ScoringSummary

# Update the progress artifact at most this often, to spare the API.
_PROGRESS_INTERVAL_SECONDS = 2.0


@functools.lru_cache(maxsize=2)
def _bundle(directory: str) -> Any:
    # One load per process: every file task of a run (or a Dask worker) reuses it.
    from sentiment.modeling.bundle import load_bundle

    return load_bundle(Path(directory))


@task(name="resolve-model")
def resolve_model_task(home: str, model: str | None = None) -> dict[str, str]:
    """Return the version and directory of the bundle to score with.

    Args:
        home: The pipeline home.
        model: A bundle version (``latest``: the newest bundle), or None for the
            registry's champion.

    Raises:
        StageOutputMissingError: If no model is named and none was ever promoted.
    """
    from sentiment.release.registry import champion_version, resolve_version

    layout = HomeLayout(Path(home))
    version = resolve_version(layout.home, model) if model else champion_version(layout.home)
    if version is None:
        raise StageOutputMissingError(
            f"No champion model in {layout.models_dir}; train, evaluate and promote one "
            "first ('sentiment train', then 'sentiment evaluate VERSION'), or pass --model "
            "VERSION."
        )
    bundle = _bundle(str(layout.models_dir / version))
    get_run_logger().info("Scoring with model %s (%s).", bundle.version, bundle.directory)
    return {"version": bundle.version, "directory": str(bundle.directory)}


@task(name="discover-inputs")
def discover_inputs_task(inputs: list[str], output: str) -> dict[str, Any]:
    """Expand the inputs into files to score; inputs that cannot be scored become failures.

    Returns:
        ``{"inputs": [{path, format, compressed, output_name, size}], "failures":
        [result dicts]}``.
    """
    discovery = discover_inputs(inputs, output_dir=Path(output))
    files = [
        {
            "path": str(item.path),
            "format": item.format,
            "compressed": item.compressed,
            "output_name": item.output_name,
            "size": item.path.stat().st_size,
        }
        for item in discovery.inputs
    ]
    failures = [FileResult.failed(failure).to_dict() for failure in discovery.failures]
    get_run_logger().info(
        "Found %d file(s) to score (%.1f MiB); %d input(s) rejected.",
        len(files),
        sum(item["size"] for item in files) / (1 << 20),
        len(failures),
    )
    return {"inputs": files, "failures": failures}


class _Progress:
    """Maps one file's progress onto the run's progress artifact, throttled."""

    def __init__(self, artifact: UUID | None, offset: float, weight: float) -> None:
        self._artifact = artifact
        self._offset = offset
        self._weight = weight
        self._last = 0.0

    def __call__(self, rows_done: int, fraction: float) -> None:
        now = time.monotonic()
        if self._artifact is None or now - self._last < _PROGRESS_INTERVAL_SECONDS:
            return
        self._last = now
        update_progress_artifact(
            self._artifact, min(100.0, 100.0 * (self._offset + self._weight * fraction))
        )


@task(name="score-file", task_run_name="score-{input_file[output_name]}")
def score_file_task(
    input_file: dict[str, Any],
    output: str,
    bundle_directory: str,
    text_column: str | None = None,
    threshold: float = 0.5,
    batch_size: int = 1024,
    force: bool = False,
    encode_threads: int = DEFAULT_ENCODE_THREADS,
    progress_artifact: UUID | None = None,
    progress_offset: float = 0.0,
    progress_weight: float = 0.0,
) -> dict[str, Any]:
    """Score one input file into ``output``; a bad file returns a failed result.

    Args:
        input_file: One entry of :func:`discover_inputs_task`'s ``inputs``.
        output: The output directory.
        bundle_directory: The model bundle to score with.
        text_column: The review-text column, or None to auto-detect.
        threshold: Scores at or above it are labelled positive.
        batch_size: Reviews per forward pass.
        force: Rescore even when the output is up to date.
        encode_threads: Threads that encode upcoming batches while the model scores.
        progress_artifact: The run's progress artifact to update while scoring, if the
            files run one after another.
        progress_offset: Share of the run done before this file.
        progress_weight: This file's share of the run.

    Returns:
        The file's :class:`~sentiment.scoring.scorer.FileResult` as a dict.
    """
    logger = get_run_logger()
    bundle = _bundle(bundle_directory)
    item = InputFile(
        path=Path(input_file["path"]),
        format=input_file["format"],
        compressed=input_file["compressed"],
        output_name=input_file["output_name"],
    )
    config = ScoringConfig(
        text_column=text_column,
        threshold=threshold,
        batch_size=batch_size,
        force=force,
        encode_threads=encode_threads,
    )
    result = score_file(
        item,
        Path(output),
        bundle,
        config,
        on_batch=_Progress(progress_artifact, progress_offset, progress_weight),
    )
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
    return result.to_dict()


@task(name="scoring-summary")
def summarize_task(
    results: list[dict[str, Any]],
    home: str,
    output: str,
    model_version: str,
    bundle_directory: str,
    threshold: float,
    seconds: float,
) -> dict[str, Any]:
    """Write ``failed.jsonl``, publish the summary artifact and return the summary.

    The drift reference is the raw training split profiled with the bundle's own
    vectorizer, so out-of-vocabulary rates and lengths compare like with like; it is
    computed once per bundle and training file, then read from the bundle.
    """
    logger = get_run_logger()
    file_results = tuple(FileResult.from_dict(result) for result in results)
    reference = bundle_training_reference(
        Path(bundle_directory),
        HomeLayout(Path(home)).raw_split("train"),
        _bundle(bundle_directory).vectorizer,
    )
    summary = ScoringSummary(
        model_version=model_version,
        threshold=threshold,
        output_dir=output,
        results=file_results,
        seconds=seconds,
        reference=reference,
    )
    failed_path = write_failures(Path(output), file_results)
    create_markdown_artifact(
        summary.to_markdown(),
        key="scoring-summary",
        description=f"Batch scoring with {model_version} into {output}",
    )
    payload = summary.to_dict()
    payload["failed_file"] = str(failed_path) if failed_path else None
    logger.info(
        "Scored %d file(s), skipped %d, failed %d; %d rows, %.1f%% predicted positive.",
        summary.files_scored,
        summary.files_skipped,
        summary.files_failed,
        payload["rows"],
        100.0 * (payload["positive_share"] or 0.0),
    )
    return payload

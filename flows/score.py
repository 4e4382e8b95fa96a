"""The ``score`` flow: score review dumps with a model bundle, one task per input file."""

from __future__ import annotations

import time
from typing import Any

from prefect import flow
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.futures import as_completed

from sentiment.core.errors import ConfigError
from sentiment.scoring.config import ScoringConfig
from sentiment.scoring.scorer import DEFAULT_ENCODE_THREADS, ScoringFailedError
from tasks.score import (
    discover_inputs_task,
    resolve_model_task,
    score_file_task,
    summarize_task,
)

DEFAULT_BATCH_SIZE = 1024


def _dask_runner(workers: int, dask_address: str | None) -> Any:
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as error:  # the optional "dask" extra
        raise ConfigError(
            "Scoring on Dask needs prefect-dask; install the project with its 'dask' extra "
            "(pip install -e '.[dask]') or drop --workers/--dask-address."
        ) from error
    if dask_address:
        return DaskTaskRunner(address=dask_address)
    # One single-threaded process per worker: TensorFlow and the encoder need no more.
    return DaskTaskRunner(
        cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True}
    )


@flow(name="score")
def score_flow(
    inputs: list[str],
    output: str,
    home: str = "data",
    model: str | None = None,
    text_column: str | None = None,
    threshold: float = 0.5,
    batch_size: int = DEFAULT_BATCH_SIZE,
    force: bool = False,
    encode_threads: int = DEFAULT_ENCODE_THREADS,
    workers: int = 1,
    dask_address: str | None = None,
) -> dict[str, Any]:
    """Score every review file in ``inputs`` into one Parquet file each under ``output``.

    Files run one after another in this process by default; with ``workers`` > 1 or a
    ``dask_address`` they run as parallel tasks on a Dask cluster (a local one of
    ``workers`` processes, or the scheduler at the address).

    Args:
        inputs: Files, directories and glob patterns of .parquet, .csv, .jsonl/.json
            (one object per line) files, CSV and JSON lines optionally gzip-compressed.
        output: The output directory.
        home: The pipeline home (model bundles, registry, training data).
        model: The bundle version to use; default the registry's champion.
        text_column: The review-text column; default ``text`` or ``review``.
        threshold: Scores at or above it are labelled positive.
        batch_size: Reviews per model forward pass.
        force: Rescore inputs whose output is already up to date.
        encode_threads: Threads per file that encode upcoming batches while the model
            scores (0: encode in the scoring thread).
        workers: Files scored in parallel on a local Dask cluster (1: no Dask).
        dask_address: Address of an existing Dask scheduler to run the file tasks on.

    Returns:
        The run summary (counts, throughput, drift figures, outputs, failures).

    Raises:
        ScoringFailedError: After every good file is scored, if any input failed.
    """
    started = time.perf_counter()
    if workers < 1:
        raise ConfigError(f"workers is {workers}; set --workers to 1 or more.")
    ScoringConfig(
        text_column=text_column,
        threshold=threshold,
        batch_size=batch_size,
        encode_threads=encode_threads,
    )
    bundle = resolve_model_task(home, model)
    plan = discover_inputs_task(inputs, output)
    files: list[dict[str, Any]] = plan["inputs"]
    total_bytes = float(sum(item["size"] for item in files)) or 1.0
    progress = create_progress_artifact(
        0.0, key="scoring-progress", description=f"Share of {len(files)} input file(s) scored"
    )
    common = {
        "output": output,
        "bundle_directory": bundle["directory"],
        "text_column": text_column,
        "threshold": threshold,
        "batch_size": batch_size,
        "force": force,
        "encode_threads": encode_threads,
    }
    results: list[dict[str, Any]] = list(plan["failures"])
    if workers > 1 or dask_address:
        done = 0.0
        with _dask_runner(workers, dask_address) as runner:
            futures = {
                runner.submit(score_file_task, parameters={"input_file": item, **common}): item[
                    "size"
                ]
                for item in files
            }
            for future in as_completed(list(futures)):
                results.append(future.result())
                done += futures[future]
                update_progress_artifact(progress, 100.0 * done / total_bytes)
    else:
        offset = 0.0
        for item in files:
            weight = item["size"] / total_bytes
            results.append(
                score_file_task(
                    item,
                    progress_artifact=progress,
                    progress_offset=offset,
                    progress_weight=weight,
                    **common,
                )
            )
            offset += weight
    update_progress_artifact(progress, 100.0)
    summary = summarize_task(
        results,
        home=home,
        output=output,
        model_version=bundle["version"],
        bundle_directory=bundle["directory"],
        threshold=threshold,
        seconds=time.perf_counter() - started,
    )
    if summary["files_failed"]:
        raise ScoringFailedError(
            f"{summary['files_failed']} of {len(results)} input(s) failed to score (see "
            f"{summary['failed_file']}); the other {len(results) - summary['files_failed']} "
            "were scored or already up to date."
        )
    return summary

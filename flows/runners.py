"""Task runners chosen by configuration: in this process, or on a Dask cluster."""

from __future__ import annotations

from typing import Any

from prefect.task_runners import ThreadPoolTaskRunner

from sentiment.core.errors import ConfigError


def runs_in_parallel(dask_workers: int = 0, dask_address: str | None = None) -> bool:
    """Whether scoring tasks run side by side (on Dask), so large files gain by shards."""
    return bool(dask_workers or dask_address)


def scoring_task_runner(dask_workers: int = 0, dask_address: str | None = None) -> Any:
    """The runner for score-shard tasks (entered by the flow that maps them).

    Args:
        dask_workers: Processes of a local Dask cluster (0: none).
        dask_address: An existing Dask scheduler's address; wins over ``dask_workers``.

    Returns:
        A one-thread runner in this process, or prefect-dask's ``DaskTaskRunner``.

    Raises:
        ConfigError: For a negative worker count, or Dask asked for without prefect-dask.
    """
    if dask_workers < 0:
        raise ConfigError(f"dask_workers is {dask_workers}; set --dask-workers to 0 or more.")
    if not runs_in_parallel(dask_workers, dask_address):
        return ThreadPoolTaskRunner(max_workers=1)
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as error:  # the optional "dask" extra
        raise ConfigError(
            "Scoring on Dask needs prefect-dask; install the project with its 'dask' extra "
            "(pip install -e '.[dask]') or drop --dask-workers/--dask-address."
        ) from error
    if dask_address:
        return DaskTaskRunner(address=dask_address)
    # One single-threaded process per worker: TensorFlow and the encoder need no more.
    return DaskTaskRunner(
        cluster_kwargs={"n_workers": dask_workers, "threads_per_worker": 1, "processes": True}
    )

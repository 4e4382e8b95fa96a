"""Task runners chosen by configuration: in this process, or on a Dask cluster."""

from __future__ import annotations

from typing import Any

from prefect.task_runners import ThreadPoolTaskRunner

from sentiment.core.errors import ConfigError
from sentiment.scoring.config import ClusterConfig


def scoring_task_runner(cluster: ClusterConfig) -> Any:
    """The runner for score-shard tasks (entered by the flow that maps them).

    Returns:
        A one-thread runner in this process, or prefect-dask's ``DaskTaskRunner``.

    Raises:
        ConfigError: If Dask is asked for without prefect-dask installed.
    """
    if not cluster.parallel:
        return ThreadPoolTaskRunner(max_workers=1)
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as error:  # the optional "dask" extra
        raise ConfigError(
            "Scoring on Dask needs prefect-dask; install the project with its 'dask' extra "
            "(pip install -e '.[dask]') or drop --dask-workers/--dask-address."
        ) from error
    if cluster.address:
        return DaskTaskRunner(address=cluster.address)
    # One single-threaded process per worker: TensorFlow and the encoder need no more.
    return DaskTaskRunner(
        cluster_kwargs={"n_workers": cluster.workers, "threads_per_worker": 1, "processes": True}
    )

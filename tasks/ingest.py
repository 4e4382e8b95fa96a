"""Prefect tasks of the ingestion stage and the dataset report.

Only :func:`download_archive` retries, and only when the network failed: a wrong hash or
a corrupt archive fails the same way every time.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from uuid import UUID

from prefect import task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.client.schemas.objects import TaskRun
from prefect.logging import get_run_logger
from prefect.states import State
from prefect.tasks import Task, exponential_backoff

from sentiment.data.archive import SourceUnreachableError, resolve_sha256, resolve_source
from sentiment.data.ingest import ingest_imdb
from sentiment.data.report import FIGURE_NAME, build_dataset_report
from sentiment.data.short_texts import ingest_short_texts
from tasks.images import png_markdown

DOWNLOAD_RETRIES = 3
# Update the progress artifact at most every this many percent, to spare the API.
_PROGRESS_STEP_PERCENT = 5.0


def retry_on_network_failure(task: Task[..., Any], task_run: TaskRun, state: State) -> bool:
    """Prefect ``retry_condition_fn``: retry only when the source was unreachable."""
    try:
        state.result()
    except SourceUnreachableError:
        return True
    except Exception:
        return False
    return False


class _DownloadProgress:
    """Turns byte counts into a Prefect progress artifact and occasional log lines."""

    def __init__(self, source: str) -> None:
        self._source = source
        self._artifact: UUID | None = None
        self._reported = -_PROGRESS_STEP_PERCENT
        self._logged_megabytes = 0

    def __call__(self, done: int, total: int | None) -> None:
        if total:
            percent = min(100.0, 100.0 * done / total)
            if percent - self._reported >= _PROGRESS_STEP_PERCENT or percent == 100.0:
                self._reported = percent
                if self._artifact is None:
                    self._artifact = create_progress_artifact(
                        percent, key="imdb-download", description=f"Fetching {self._source}"
                    )
                else:
                    update_progress_artifact(self._artifact, percent)
        megabytes = done >> 20
        if megabytes - self._logged_megabytes >= 10:
            self._logged_megabytes = megabytes
            size = f" of {total >> 20} MiB" if total else ""
            get_run_logger().info("Fetched %d MiB%s.", megabytes, size)


# Both downloads retry on network failures only (a bad file fails at once).
_DOWNLOAD_RETRY_OPTIONS: dict[str, Any] = {
    "retries": DOWNLOAD_RETRIES,
    "retry_delay_seconds": exponential_backoff(backoff_factor=10),
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": retry_on_network_failure,
}


@task(name="ingest-imdb", **_DOWNLOAD_RETRY_OPTIONS)
def ingest_imdb_task(home: str, source: str | None, sha256: str | None) -> dict[str, Any]:
    """Fetch (or reuse) and verify the archive and write ``raw/imdb/*.parquet``, or find
    them up to date; publish the row counts of a new ingestion.

    Args:
        home: The pipeline home.
        source: The archive's address (see ``ArchiveConfig.source``).
        sha256: Its expected hash (see ``ArchiveConfig.sha256``).

    Returns:
        The ingestion's manifest: paths, row and class counts, archive hash, cache hit.
    """
    source = resolve_source(source)
    result = ingest_imdb(
        source, Path(home), resolve_sha256(sha256), progress=_DownloadProgress(source)
    )
    logger = get_run_logger()
    if result.cache_hit:
        logger.info("Raw Parquet is up to date (archive %s).", result.archive_sha256[:12])
    else:
        logger.info("%s.", result.summary())
        create_table_artifact(
            result.split_rows(),
            key="imdb-raw-splits",
            description="Rows per split written to raw Parquet.",
        )
    return result.to_manifest()


@task(name="ingest-short-texts", **_DOWNLOAD_RETRY_OPTIONS)
def ingest_short_texts_task(home: str, source: str | None) -> dict[str, Any] | None:
    """Copy (or find up to date) the short-text development set into the home.

    Args:
        home: The pipeline home.
        source: The set's address (see ``ArchiveConfig.short_texts_source``).

    Returns:
        Its manifest (name, source, sha256, rows, path, cache hit), or None when no
        source is configured.
    """
    manifest = ingest_short_texts(source, Path(home))
    if manifest is None:
        get_run_logger().info("No short-text development set configured.")
    else:
        get_run_logger().info(
            "Short-text development set %s: %s rows (%s).",
            manifest["name"],
            f"{manifest['rows']:,}",
            "up to date" if manifest["cache_hit"] else "copied now",
        )
    return manifest


@task(name="dataset-report")
def dataset_report_task(home: str) -> dict[str, Any]:
    """Build (or reuse) the dataset report and publish it as a Markdown artifact."""
    report = build_dataset_report(Path(home))
    get_run_logger().info(
        "Dataset report %s: %s.",
        "reused" if report.cache_hit else "written",
        report.markdown_path,
    )
    # The report's own link to its plot is relative to reports/, which the UI cannot
    # follow: the artifact holds the plot itself in its place.
    plot = png_markdown(report.figure_path, "Box plot of review lengths")
    create_markdown_artifact(
        re.sub(rf"!\[[^\]]*\]\({re.escape(FIGURE_NAME)}\)", lambda _: plot, report.markdown),
        key="dataset-report",
        description="IMDB dataset report: splits, balance, vocabulary, lengths, duplicates.",
    )
    return report.to_manifest()

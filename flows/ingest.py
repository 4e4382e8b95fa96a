"""The ``ingest`` flow: fetch and verify the IMDB archive, ingest it, report on it."""

from __future__ import annotations

from typing import Any

from prefect import flow

from sentiment.core.paths import resolve_home
from tasks.ingest import dataset_report_task, ingest_imdb_task


@flow(name="ingest", flow_run_name="ingest-imdb")
def ingest_flow(
    home: str | None = None, source: str | None = None, sha256: str | None = None
) -> dict[str, Any]:
    """Ingest aclImdb_v1.tar.gz into ``raw/imdb/*.parquet`` and write the dataset report.

    A rerun with the data already ingested does no network, hashing or extraction work.

    Args:
        home: The pipeline home (default: ``$SENTIMENT_HOME``, else the user's data
            directory).
        source: An http(s) URL, ``file://`` URL or local path of the archive (default
            ``$SENTIMENT_IMDB_SOURCE``, else the official address).
        sha256: The archive's expected sha256 (default ``$SENTIMENT_IMDB_SHA256``, else
            any known IMDB archive).

    Returns:
        ``{"ingest": ..., "report": ...}``: the two stages' manifests (paths and figures).
    """
    home = str(resolve_home(home))
    ingest = ingest_imdb_task(home, source, sha256)
    report = dataset_report_task(home)
    return {"ingest": ingest, "report": report}

"""The ``ingest`` flow: fetch and verify the IMDB archive, ingest it, report on it."""

from __future__ import annotations

from typing import Any

from prefect import flow

from sentiment.core.paths import resolve_home
from sentiment.data.archive import resolve_sha256, resolve_source
from tasks.ingest import (
    check_ingest_cache,
    dataset_report_task,
    download_archive,
    write_raw_splits_task,
)


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
    source = resolve_source(source)
    sha256 = resolve_sha256(sha256)
    ingest = check_ingest_cache(home, sha256)
    if ingest is None:
        archive = download_archive(source, home, sha256)
        ingest = write_raw_splits_task(archive, home, source)
    report = dataset_report_task(home)
    return {"ingest": ingest, "report": report}

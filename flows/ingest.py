"""The ``ingest`` flow: fetch and verify the IMDB archive, ingest it, report on it; copy
the short-text development set where one is configured."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.errors import one_sentence_failures
from sentiment.core.paths import resolve_home
from sentiment.data.config import ArchiveConfig
from tasks.ingest import dataset_report_task, ingest_imdb_task, ingest_short_texts_task


@flow(name="ingest", flow_run_name="ingest-imdb")
@one_sentence_failures
def ingest_flow(
    home: str | None = None,
    archive: ArchiveConfig = ArchiveConfig(),  # noqa: B008 (frozen: one shared default is safe)
) -> dict[str, Any]:
    """Ingest aclImdb_v1.tar.gz into ``raw/imdb/*.parquet`` and write the dataset report;
    copy the short-text development set into ``raw/short-texts/`` where one is configured.

    A rerun with the data already ingested does no network, hashing or extraction work.

    Args:
        home: The pipeline home (default: ``$SENTIMENT_HOME``, else the user's data
            directory).
        archive: Where the archive comes from and its expected hash, and where the
            short-text development set comes from (see ``ArchiveConfig``).

    Returns:
        ``{"ingest": ..., "report": ..., "short_texts": ...}``: the stages' manifests
        (paths and figures; ``short_texts`` None where no set is configured).
    """
    home = str(resolve_home(home))
    ingest = ingest_imdb_task(home, archive.source, archive.sha256)
    short_texts = ingest_short_texts_task(home, archive.short_texts_source)
    report = dataset_report_task(home)
    return {"ingest": ingest, "report": report, "short_texts": short_texts}

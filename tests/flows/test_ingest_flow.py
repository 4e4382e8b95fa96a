"""The ingest flow on a tiny archive served over HTTP: ingest, report, cache, retry; the
short-text development set copied beside it."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

import flows.ingest
from sentiment.core.atomic import file_sha256
from sentiment.core.errors import DataError
from sentiment.core.paths import HomeLayout
from sentiment.data.config import ArchiveConfig
from tests.support.imdb_tarball import build_archive


class _FlakyServer(http.server.BaseHTTPRequestHandler):
    """Serves ``payload``, answering 503 to the first ``failures`` requests."""

    payload = b""
    failures = 0
    requests = 0

    def do_GET(self) -> None:
        cls = type(self)
        cls.requests += 1
        if cls.requests <= cls.failures:
            self.send_error(503, "Busy")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.payload)))
        self.end_headers()
        self.wfile.write(self.payload)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return build_archive(tmp_path / "aclImdb_v1.tar.gz")


@pytest.fixture
def server(archive: Path) -> Iterator[tuple[str, type[_FlakyServer]]]:
    handler = type("Handler", (_FlakyServer,), {"payload": archive.read_bytes()})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/aclImdb_v1.tar.gz", handler
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the real retry policy but without the minutes of backoff."""
    task = flows.ingest.ingest_imdb_task
    monkeypatch.setattr(flows.ingest, "ingest_imdb_task", task.with_options(retry_delay_seconds=0))


def test_ingest_flow_retries_ingests_reports_and_reuses_the_cache(
    tmp_path: Path, archive: Path, server, quick_retries: None
) -> None:
    url, handler = server
    handler.failures = 1
    home = tmp_path / "home"
    digest = file_sha256(archive)
    development = tmp_path / "tiny_dev.parquet"
    pq.write_table(pa.table({"text": ["good .", "bad ."], "label": [1, 0]}), development)
    settings = ArchiveConfig(source=url, sha256=digest, short_texts_source=str(development))

    first = flows.ingest.ingest_flow(home=str(home), archive=settings)

    assert handler.requests == 2  # one 503, one retry
    assert first["ingest"]["row_counts"] == {"train": 4, "test": 4, "unsup": 3}
    assert first["ingest"]["cache_hit"] is False
    assert Path(first["report"]["markdown"]).is_file()
    assert Path(first["report"]["figure"]).is_file()
    assert first["report"]["cache_hit"] is False
    assert (first["short_texts"]["name"], first["short_texts"]["rows"]) == ("tiny_dev", 2)
    assert HomeLayout(home).short_texts.read_bytes() == development.read_bytes()

    second = flows.ingest.ingest_flow(home=str(home), archive=settings)

    assert handler.requests == 2  # no network on a rerun
    assert second["ingest"]["cache_hit"] is True
    assert second["report"]["cache_hit"] is True
    assert second["short_texts"]["cache_hit"] is True
    assert second["ingest"]["row_counts"] == first["ingest"]["row_counts"]

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["dataset-report"]))
        )
        progress = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["imdb-download"]))
        )
    assert artifacts
    assert "IMDB dataset report" in str(artifacts[0].data)
    # The plot is in the artifact itself: a link relative to reports/ shows broken in the UI.
    assert 'src="data:image/png;base64,' in str(artifacts[0].data)
    assert "](dataset_lengths.png)" not in str(artifacts[0].data)
    assert progress
    assert float(progress[0].data) == 100.0


def test_wrong_hash_fails_the_flow_without_retry_or_leftovers(
    tmp_path: Path, server, quick_retries: None
) -> None:
    url, handler = server
    home = tmp_path / "home"

    with pytest.raises(DataError, match="expected"):
        flows.ingest.ingest_flow(home=str(home), archive=ArchiveConfig(source=url, sha256="0" * 64))

    assert handler.requests == 1
    assert not HomeLayout(home).raw_dir.exists()
    assert list(HomeLayout(home).cache_dir.iterdir()) == []

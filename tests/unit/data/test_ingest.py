"""Ingestion on tiny synthetic aclImdb tarballs: good, corrupt, unsafe and incomplete."""

from __future__ import annotations

import http.server
import json
import logging
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sentiment.core.atomic import file_sha256
from sentiment.core.errors import DataError
from sentiment.core.paths import HomeLayout
from sentiment.data.archive import (
    KNOWN_SHA256,
    SourceUnreachableError,
)
from sentiment.data.imdb_members import RAW_SCHEMA, read_members
from sentiment.data.ingest import cached_ingest, ingest_imdb
from tests.support.imdb_tarball import SMALL_REVIEWS, build_archive, member


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return build_archive(tmp_path / "source" / "aclImdb_v1.tar.gz")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def _ingest(source: Path | str, home: Path, archive: Path | None = None):
    """Ingest with the tiny archive's own hash (it is not a known IMDB archive)."""
    digest = file_sha256(archive or Path(source))
    return ingest_imdb(str(source), home, sha256=digest)


def _files_under(directory: Path) -> list[str]:
    if not directory.exists():
        return []
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*"))


def _assert_nothing_written(home: Path) -> None:
    layout = HomeLayout(home)
    assert _files_under(layout.raw_dir) == []
    assert [name for name in _files_under(layout.cache_dir) if name.startswith(".tmp-")] == []


# --- the good path -----------------------------------------------------------------


def test_ingest_writes_three_typed_parquet_files(archive: Path, home: Path) -> None:
    result = _ingest(archive, home)

    assert result.row_counts == {"train": 4, "test": 4, "unsup": 3}
    assert result.class_counts == {
        "train/neg": 2,
        "train/pos": 2,
        "test/neg": 2,
        "test/pos": 2,
        "unsup": 3,
    }
    assert result.archive_sha256 == file_sha256(archive)
    assert result.cache_hit is False
    for split, path in result.paths.items():
        assert path == HomeLayout(home).raw_split(split)
        assert pq.read_schema(path).equals(RAW_SCHEMA)

    train = pq.read_table(result.train_path).to_pylist()
    assert [row["review_id"] for row in train] == [
        "train/neg/0",
        "train/neg/1",
        "train/pos/2",
        "train/pos/10",
    ]
    assert [row["label"] for row in train] == [0, 0, 1, 1]
    assert [row["rating"] for row in train] == [1, 3, 8, 9]
    # Exact file text: CRLF, HTML tags and non-ASCII characters survive untouched.
    assert train[0]["text"] == SMALL_REVIEWS["aclImdb/train/neg/0_1.txt"]
    assert train[3]["text"] == SMALL_REVIEWS["aclImdb/train/pos/10_9.txt"]

    unsup = pq.read_table(result.unsup_path).to_pylist()
    assert [row["review_id"] for row in unsup] == [
        "train/unsup/0",
        "train/unsup/1",
        "train/unsup/2",
    ]
    assert {row["label"] for row in unsup} == {None}
    assert {row["rating"] for row in unsup} == {0}
    assert unsup[2]["text"] == SMALL_REVIEWS["aclImdb/train/unsup/2_0.txt"]


def test_archive_is_cached_and_rerun_touches_neither_source_nor_archive(
    archive: Path, home: Path
) -> None:
    digest = file_sha256(archive)
    first = ingest_imdb(str(archive), home, sha256=digest)
    cached_archive = HomeLayout(home).cache_dir / "aclImdb_v1.tar.gz"
    assert file_sha256(cached_archive) == digest
    parquet_bytes = first.train_path.read_bytes()

    archive.unlink()  # a rerun must not need the source at all
    cached_archive.write_bytes(b"not read on a cache hit")
    second = ingest_imdb(str(archive), home, sha256=digest)

    assert second.cache_hit is True
    assert list(second.row_counts.items()) == list(first.row_counts.items())
    assert second.class_counts == first.class_counts
    assert second.train_path.read_bytes() == parquet_bytes


def test_rerun_after_raw_files_are_lost_reuses_the_cached_archive(
    archive: Path, home: Path
) -> None:
    digest = file_sha256(archive)
    ingest_imdb(str(archive), home, sha256=digest)
    HomeLayout(home).raw_split("test").unlink()
    archive.unlink()

    assert cached_ingest(home, digest) is None
    result = ingest_imdb(str(archive), home, sha256=digest)

    assert result.cache_hit is False
    assert result.row_counts == {"train": 4, "test": 4, "unsup": 3}


def test_a_changed_raw_file_is_not_taken_for_a_cache_hit(archive: Path, home: Path) -> None:
    digest = file_sha256(archive)
    ingest_imdb(str(archive), home, sha256=digest)
    HomeLayout(home).raw_split("train").write_bytes(b"tampered")

    result = ingest_imdb(str(archive), home, sha256=digest)

    assert result.cache_hit is False
    assert pq.read_table(result.train_path).num_rows == 4


def test_file_url_source_and_progress_reports(archive: Path, home: Path) -> None:
    seen: list[tuple[int, int | None]] = []
    result = ingest_imdb(
        archive.as_uri(),
        home,
        sha256=file_sha256(archive),
        progress=lambda done, total: seen.append((done, total)),
    )

    assert result.row_counts["train"] == 4
    size = archive.stat().st_size
    assert seen and seen[-1] == (size, size)


class _ArchiveHandler(http.server.BaseHTTPRequestHandler):
    payload = b""
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(self.payload)))
        self.end_headers()
        if self.status == 200:
            self.wfile.write(self.payload)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def http_server() -> Iterator[tuple[str, type[_ArchiveHandler]]]:
    handler = type("Handler", (_ArchiveHandler,), {})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/aclImdb_v1.tar.gz", handler
    finally:
        server.shutdown()
        server.server_close()


def test_http_source_is_downloaded(archive: Path, home: Path, http_server) -> None:
    url, handler = http_server
    handler.payload = archive.read_bytes()

    result = ingest_imdb(url, home, sha256=file_sha256(archive))

    assert result.row_counts == {"train": 4, "test": 4, "unsup": 3}


def test_http_not_found_is_a_data_error_not_worth_retrying(home: Path, http_server) -> None:
    url, handler = http_server
    handler.status = 404

    with pytest.raises(DataError, match="HTTP 404") as caught:
        ingest_imdb(url, home)

    assert not isinstance(caught.value, SourceUnreachableError)
    _assert_nothing_written(home)


def test_http_server_error_is_retryable(home: Path, http_server) -> None:
    url, handler = http_server
    handler.status = 503

    with pytest.raises(SourceUnreachableError, match="HTTP 503"):
        ingest_imdb(url, home)


def test_unreachable_url_names_the_source(home: Path) -> None:
    # Port 9 on localhost: nothing listens, so the connection is refused at once.
    url = "http://127.0.0.1:9/aclImdb_v1.tar.gz"
    with pytest.raises(SourceUnreachableError, match=r"127\.0\.0\.1:9.*unreachable"):
        ingest_imdb(url, home)
    _assert_nothing_written(home)


def test_missing_local_source(home: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        ingest_imdb(str(tmp_path / "nowhere.tar.gz"), home)


def test_wrong_hash_names_source_expected_and_actual(archive: Path, home: Path) -> None:
    expected = "0" * 64
    with pytest.raises(DataError) as caught:
        ingest_imdb(str(archive), home, sha256=expected)

    message = str(caught.value)
    assert str(archive) in message
    assert expected in message
    assert file_sha256(archive) in message
    assert "--sha256" in message
    _assert_nothing_written(home)
    assert not (HomeLayout(home).cache_dir / "aclImdb_v1.tar.gz").exists()


def test_unknown_archive_without_a_hash_is_refused(archive: Path, home: Path) -> None:
    with pytest.raises(DataError, match="known IMDB archive hashes") as caught:
        ingest_imdb(str(archive), home)
    assert all(known in str(caught.value) for known in KNOWN_SHA256)
    _assert_nothing_written(home)


def test_failed_fetch_keeps_the_earlier_good_cache(
    archive: Path, home: Path, tmp_path: Path
) -> None:
    good = _ingest(archive, home)
    layout = HomeLayout(home)
    before = {
        path: path.read_bytes() for path in (*good.paths.values(), layout.raw_dir / "manifest.json")
    }
    cached_archive = layout.cache_dir / "aclImdb_v1.tar.gz"
    cached_bytes = cached_archive.read_bytes()
    other = build_archive(tmp_path / "other.tar.gz", {"aclImdb/train/pos/0_9.txt": "x"})

    with pytest.raises(DataError, match="sha256"):
        ingest_imdb(str(other), home, sha256="f" * 64)

    assert cached_archive.read_bytes() == cached_bytes
    assert {path: path.read_bytes() for path in before} == before
    assert [name for name in _files_under(layout.cache_dir) if name.startswith(".tmp-")] == []


# --- corrupt archives --------------------------------------------------------------


@pytest.mark.parametrize("cut", ["half", "trailer"])
def test_truncated_archive(cut: str, archive: Path, home: Path, tmp_path: Path) -> None:
    payload = archive.read_bytes()
    # "trailer" drops only the gzip length field: every tar member is still readable.
    kept = len(payload) // 2 if cut == "half" else len(payload) - 2
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(payload[:kept])

    with pytest.raises(DataError, match="truncated or not a gzip"):
        _ingest(truncated, home)
    _assert_nothing_written(home)


def test_corrupt_archive(archive: Path, home: Path, tmp_path: Path) -> None:
    payload = bytearray(archive.read_bytes())
    middle = len(payload) // 2
    payload[middle : middle + 64] = bytes(64)
    corrupt = tmp_path / "corrupt.tar.gz"
    corrupt.write_bytes(bytes(payload))

    with pytest.raises(DataError, match="truncated or not a gzip"):
        _ingest(corrupt, home)
    _assert_nothing_written(home)


@pytest.mark.parametrize("content", ["plain tar", "text"])
def test_non_gzip_source(content: str, home: Path, tmp_path: Path) -> None:
    source = tmp_path / "aclImdb_v1.tar.gz"
    if content == "plain tar":
        build_archive(source, compression="")
    else:
        source.write_text("<html>Not Found</html>", encoding="utf-8")

    with pytest.raises(DataError, match="not a gzip-compressed tar"):
        _ingest(source, home)
    _assert_nothing_written(home)


@pytest.mark.parametrize(
    ("unsafe", "problem"),
    [
        (member("/etc/passwd"), "absolute path"),
        (member("aclImdb/../../evil.txt"), "'..'"),
        (member("aclImdb/train/pos/99_9.txt", tarfile.SYMTYPE, "/etc/passwd"), "link"),
        (member("aclImdb/train/pos/98_9.txt", tarfile.LNKTYPE, "aclImdb/README"), "link"),
        (member("aclImdb/dev", tarfile.CHRTYPE), "device"),
        (member("aclImdb/pipe", tarfile.FIFOTYPE), "device or FIFO"),
    ],
)
def test_unsafe_members_are_refused(
    unsafe: tarfile.TarInfo, problem: str, home: Path, tmp_path: Path
) -> None:
    source = build_archive(tmp_path / "unsafe.tar.gz", extra_members=[unsafe])

    with pytest.raises(DataError, match=problem) as caught:
        _ingest(source, home)
    assert repr(unsafe.name) in str(caught.value)
    _assert_nothing_written(home)
    assert not (tmp_path / "evil.txt").exists()


def test_invalid_utf8_member(home: Path, tmp_path: Path) -> None:
    reviews = {**SMALL_REVIEWS, "aclImdb/test/neg/7_1.txt": b"caf\xe9"}
    source = build_archive(tmp_path / "latin1.tar.gz", reviews)

    with pytest.raises(DataError, match=r"aclImdb/test/neg/7_1\.txt.*not valid UTF-8"):
        _ingest(source, home)
    _assert_nothing_written(home)


# --- missing splits and unexpected counts ------------------------------------------


def test_missing_split_says_what_was_found(home: Path, tmp_path: Path) -> None:
    reviews = {name: text for name, text in SMALL_REVIEWS.items() if "/test/" not in name}
    source = build_archive(tmp_path / "no-test.tar.gz", reviews)

    with pytest.raises(DataError, match="lacks reviews in test/neg, test/pos") as caught:
        _ingest(source, home)
    assert "train/neg 2" in str(caught.value)
    _assert_nothing_written(home)


def test_unexpected_counts_say_what_was_found(archive: Path, home: Path) -> None:
    expected = {"train/neg": 2, "train/pos": 2, "test/neg": 2, "test/pos": 3, "unsup": 3}

    with pytest.raises(DataError, match="unexpected review counts") as caught:
        ingest_imdb(str(archive), home, sha256=file_sha256(archive), expected_counts=expected)
    assert "found train/neg 2, train/pos 2, test/neg 2, test/pos 2, unsup 3" in str(caught.value)
    _assert_nothing_written(home)


def test_manifest_records_hash_and_counts(archive: Path, home: Path) -> None:
    result = _ingest(archive, home)
    manifest = json.loads((HomeLayout(home).raw_dir / "manifest.json").read_text())

    assert manifest["archive_sha256"] == result.archive_sha256
    assert manifest["row_counts"] == {"train": 4, "test": 4, "unsup": 3}
    assert set(manifest["files"]) == {"train", "test", "unsup"}


def test_an_oversized_review_is_refused_before_it_is_read(home: Path, tmp_path: Path) -> None:
    from sentiment.data.imdb_members import MAX_REVIEW_BYTES

    # Compresses to a few kilobytes, like the 1.17 MB archive holding a 1.2 GB review.
    huge = b"good " * (MAX_REVIEW_BYTES // 5 + 1)
    reviews = {**SMALL_REVIEWS, "aclImdb/train/pos/99_9.txt": huge}
    source = build_archive(tmp_path / "huge.tar.gz", reviews)

    with pytest.raises(DataError, match=r"aclImdb/train/pos/99_9\.txt.*larger than"):
        _ingest(source, home)
    _assert_nothing_written(home)


def test_ingest_removes_the_temporaries_a_killed_ingest_left(archive: Path, home: Path) -> None:
    from tests.support.temporaries import dead_pid, plant_orphans

    layout = HomeLayout(home)
    pid = dead_pid()
    orphans = plant_orphans(layout.cache_dir, pid) + plant_orphans(layout.raw_dir.parent, pid)
    first = _ingest(archive, home)
    assert not any(path.exists() for path in orphans)
    # A rerun served from the cache cleans too.
    orphans = plant_orphans(layout.cache_dir, pid) + plant_orphans(layout.raw_dir.parent, pid)
    assert _ingest(archive, home).cache_hit and not first.cache_hit
    assert not any(path.exists() for path in orphans)


def test_reading_the_archive_says_how_many_reviews_it_has_read(
    archive: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="sentiment.data.imdb_members"):
        rows = read_members(archive, str(archive), progress_seconds=0)
    lines = [record.getMessage() for record in caplog.records]
    read = sum(len(split.review_ids) for split in rows.values())
    assert lines[0] == "Reading the archive (100,000 reviews): started."
    assert [line.split(" (")[0] for line in lines[1:-1]] == [
        f"Reading the archive: {count} of 100,000 reviews" for count in range(1, read + 1)
    ]
    assert lines[-1].startswith(f"Reading the archive: done {read} reviews in ")

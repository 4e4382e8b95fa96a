"""Locations by path or URL (the object-store round trip is tests/flows/test_s3_scoring.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sentiment.core import storage


def test_paths_and_file_urls_are_local_and_other_urls_stay_urls() -> None:
    assert storage.location("dump/a.parquet") == Path("dump/a.parquet")
    assert storage.location("file:///data/my%20dump/") == Path("/data/my dump")
    assert storage.location("s3://bucket/dump/") == "s3://bucket/dump"
    assert not storage.is_remote(storage.location("file:///data"))
    assert storage.is_remote("s3://bucket/dump")
    assert (
        storage.join("s3://bucket/out", ".parts", "a.parquet") == "s3://bucket/out/.parts/a.parquet"
    )
    assert storage.name("s3://bucket/out/a.csv.gz") == "a.csv.gz"
    assert storage.parent("s3://bucket/out/a.csv.gz") == "s3://bucket/out"
    assert storage.same("s3://bucket/out/", "s3://bucket/out")


def test_a_local_atomic_output_appears_whole_or_not_at_all(tmp_path: Path) -> None:
    destination = tmp_path / "out" / "a.txt"
    with pytest.raises(RuntimeError), storage.atomic_output(destination) as temporary:
        Path(temporary).write_text("half")
        raise RuntimeError("killed")
    assert not destination.exists() and list((tmp_path / "out").iterdir()) == []
    storage.write_bytes(destination, b"whole")
    assert storage.read_bytes(destination) == b"whole"
    assert [entry.name for entry in storage.list_files(tmp_path / "out")] == ["a.txt"]


def test_an_unknown_scheme_is_an_os_error() -> None:
    with pytest.raises(OSError, match="unsupported location"):
        storage.filesystem("nosuchscheme://bucket/x")

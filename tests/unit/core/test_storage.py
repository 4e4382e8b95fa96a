"""Locations by path or URL (the object-store round trip is tests/flows/test_s3_scoring.py)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.fs as pafs
import pytest

from sentiment.core import storage
from tests.support.s3_server import BUCKET


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


GLOB_TREE = [
    "in/a.csv",
    "in/b.parquet",
    "in/.hidden.csv",
    "in/.parts/e.csv",
    "in/sub/c.csv",
    "in/sub/deep/d.csv",
    "other/f.csv",
]
GLOB_PATTERNS = [
    "in/*.csv",
    "in/?.csv",
    "in/[ab].*",
    "in/a**.csv",
    "in/*",
    "in/*/*.csv",
    "in/**/*.csv",
    "in/**",
    "in/**/deep/*.csv",
    "*/*.csv",
    "**/d.csv",
    "**",
    "in/.*",
    "in/.parts/*.csv",
    "in/sub/*.csv",
    "in/[!a].*",
    "in/**/.hidden.csv",
    "in/**/e.csv",
    "missing/*.csv",
]


def test_a_remote_glob_matches_what_the_same_local_glob_matches(
    s3: pafs.S3FileSystem,
    tmp_path: Path,
) -> None:
    for relative in GLOB_TREE:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(relative)
        with s3.open_output_stream(f"{BUCKET}/globs/{relative}") as stream:
            stream.write(relative.encode())
    remote_root = f"s3://{BUCKET}/globs/"
    local = {
        pattern: [
            entry.location.relative_to(tmp_path).as_posix()
            for entry in storage.glob_entries(f"{tmp_path}/{pattern}")
        ]
        for pattern in GLOB_PATTERNS
    }
    remote = {
        pattern: [
            str(entry.location).removeprefix(remote_root)
            for entry in storage.glob_entries(remote_root + pattern)
        ]
        for pattern in GLOB_PATTERNS
    }
    assert remote == local
    # `*` stays within one directory: the file two levels down is no match.
    assert local["in/*/*.csv"] == ["in/sub/c.csv"]
    # Each match carries the size its listing gave: the file's own byte count.
    for root in (f"{tmp_path}/", remote_root):
        entries = storage.glob_entries(root + "in/**")
        assert {entry.name: entry.size for entry in entries} == {
            Path(relative).name: len(relative)
            for relative in GLOB_TREE
            if relative.startswith("in/") and "/." not in relative
        }
        listed = storage.list_files(root + "in/sub")
        assert [(entry.name, entry.size) for entry in listed] == [("c.csv", len("in/sub/c.csv"))]

"""Finding the inputs of a scoring run: formats, patterns, outputs' names, task groups."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from sentiment.core import storage
from sentiment.scoring.discovery import detect_format, discover_inputs, task_groups
from tests.support.s3_server import BUCKET, free_port
from tests.support.scoring import ROWS, write_csv, write_jsonl


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("reviews.parquet", ("parquet", False, "reviews")),
        ("reviews.csv.gz", ("csv", True, "reviews")),
        ("Reviews.JSONL", ("jsonl", False, "Reviews")),
        ("a.b.json.gz", ("jsonl", True, "a.b")),
        ("notes.txt", None),
        (".csv", None),
    ],
)
def test_detect_format(name: str, expected: tuple | None) -> None:
    assert detect_format(Path(name)) == expected


def test_discovery_mixes_files_directories_and_globs(tmp_path: Path) -> None:
    folder = tmp_path / "dump"
    folder.mkdir()
    write_csv(folder / "a.csv", ROWS)
    write_jsonl(folder / "b.jsonl.gz", ROWS, compress=True)
    (folder / "notes.txt").write_text("ignored in a directory scan")
    (folder / ".tmp-1234abcd-c.parquet").write_text("a temporary, hidden")
    other = tmp_path / "other"
    other.mkdir()
    write_jsonl(other / "c.json", ROWS)
    write_jsonl(other / "d.json", ROWS)
    discovery = discover_inputs([str(folder), str(other / "c.*"), str(folder / "a.csv")])
    assert [item.path.name for item in discovery.inputs] == ["a.csv", "b.jsonl.gz", "c.json"]
    assert [item.output_name for item in discovery.inputs] == [
        "a.csv.parquet",
        "b.jsonl.gz.parquet",
        "c.json.parquet",
    ]
    assert discovery.failures == ()


def test_discovery_reports_bad_inputs_without_stopping(tmp_path: Path) -> None:
    write_csv(tmp_path / "same.csv", ROWS)
    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "same.csv.parquet")
    write_csv(tmp_path / "fine.csv", ROWS)
    (tmp_path / "notes.txt").write_text("x")
    discovery = discover_inputs(
        [
            str(tmp_path),
            str(tmp_path / "missing.csv"),
            str(tmp_path / "nothing*.csv"),
            str(tmp_path / "notes.txt"),
        ]
    )
    assert [item.path.name for item in discovery.inputs] == ["fine.csv"]
    reasons = {Path(failure.path).name: failure.reason for failure in discovery.failures}
    assert "would all be written to same.csv.parquet" in reasons["same.csv"]
    assert "would all be written to same.csv.parquet" in reasons["same.csv.parquet"]
    assert "does not exist" in reasons["missing.csv"]
    assert "matches no" in reasons["nothing*.csv"]
    assert "unsupported file type" in reasons["notes.txt"]


def test_a_fifo_named_explicitly_is_not_a_regular_file(tmp_path: Path) -> None:
    pipe = tmp_path / "reviews.csv"
    os.mkfifo(pipe)
    (failure,) = discover_inputs([str(pipe)]).failures
    assert failure.reason == (
        f"Input {pipe} is not a regular file (a pipe, socket or device); write the reviews "
        "to a file and score that."
    )


def test_inputs_differing_only_in_compression_get_their_own_outputs(tmp_path: Path) -> None:
    write_csv(tmp_path / "reviews.csv", ROWS)
    (tmp_path / "reviews.csv.gz").write_bytes(
        gzip.compress((tmp_path / "reviews.csv").read_bytes())
    )
    discovery = discover_inputs([str(tmp_path)])
    assert discovery.failures == ()
    assert [item.output_name for item in discovery.inputs] == [
        "reviews.csv.parquet",
        "reviews.csv.gz.parquet",
    ]


def test_an_output_never_replaces_its_input(tmp_path: Path) -> None:
    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "reviews.parquet")
    discovery = discover_inputs([str(tmp_path / "reviews.parquet")], output_dir=tmp_path)
    assert discovery.inputs == ()
    assert "would overwrite the input" in discovery.failures[0].reason


def test_task_groups_put_small_files_together_and_large_ones_alone() -> None:

    sizes = [10, 10, 10, 500, 10, 10, 10, 10]
    manifests = [{"path": f"f{i}", "size": size} for i, size in enumerate(sizes)]
    groups = task_groups(manifests, group_bytes=100, group_files=3)
    assert [[item["path"] for item in group] for group in groups] == [
        ["f0", "f1", "f2"],
        ["f3"],
        ["f4", "f5", "f6"],
        ["f7"],
    ]
    assert task_groups([], 100, 3) == []


def test_a_listed_inbox_on_object_storage_is_planned_without_a_request_per_file(
    s3: pafs.S3FileSystem,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each request to an object store costs a round trip: the sizes a plan needs come
    # from the listing that found the files, not from one lookup per file.
    contents = {"inbox/a.csv": b"text\nfine\n", "inbox/b.csv": b"text\nawful film\n"}
    contents["dump/c.jsonl"] = b'{"text": "great"}\n'
    for key, data in contents.items():
        with s3.open_output_stream(f"{BUCKET}/plan/{key}") as stream:
            stream.write(data)
    root = f"s3://{BUCKET}/plan"
    discovery = discover_inputs([f"{root}/inbox", f"{root}/dump/*.jsonl"])

    def per_file_lookup(where: object) -> None:
        raise AssertionError(f"a request for {where} alone")

    monkeypatch.setattr(storage, "_info", per_file_lookup)
    manifests = discovery.manifests()
    assert {manifest["path"]: manifest["size"] for manifest in manifests} == {
        f"{root}/{key}": len(data) for key, data in contents.items()
    }
    assert sum(manifest["share"] for manifest in manifests) == pytest.approx(1.0)


def test_a_failures_file_is_never_taken_for_an_input(tmp_path: Path) -> None:
    # A refused run (an input named inside its --output) writes failed.jsonl there; a
    # later scan or glob of that directory must not score it as reviews.
    write_csv(tmp_path / "reviews.csv", ROWS)
    (tmp_path / "failed.jsonl").write_text('{"path": "x.csv", "reason": "Input x.csv ..."}\n')
    for pattern in (str(tmp_path), str(tmp_path / "*")):
        discovery = discover_inputs([pattern])
        assert [item.path.name for item in discovery.inputs] == ["reviews.csv"]
        assert not discovery.failures


def test_an_unreachable_object_store_fails_its_inputs_in_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(name, "us-east-1" if name == "AWS_DEFAULT_REGION" else "unreachable")
    write_csv(tmp_path / "local.csv", ROWS)
    url = "s3://nowhere/reviews.csv"
    discovery = discover_inputs([url, str(tmp_path / "local.csv")])
    assert [item.path.name for item in discovery.inputs] == ["local.csv"]
    (failure,) = discovery.failures
    assert failure.reason.startswith(f"Input {url} cannot be reached (")
    assert failure.reason.endswith(
        "); check the address, the network, the endpoint (AWS_ENDPOINT_URL) and the "
        "credentials (AWS_* variables)."
    )

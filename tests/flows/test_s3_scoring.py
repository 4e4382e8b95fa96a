"""Scoring from and to object storage: a real S3-compatible server (moto's server mode,
started by the test on loopback and stopped afterwards, tests/support/s3_server.py),
reached through the standard ``AWS_*`` environment, as a user would reach a bucket."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from cli.main import main
from flows.score import score_flow
from sentiment.scoring.results import FAILED_FILE
from sentiment.scoring.scorer import ScoringFailedError
from tests.flows.test_score_flow import TEXTS, home  # noqa: F401 - the shared bundle fixture
from tests.support.s3_server import BUCKET, s3  # noqa: F401 - the real S3 server fixture

BIG_ROWS = 30_000


def _write_dump(directory: Path) -> None:
    """Parquet, CSV and JSON-lines files, and large ones of each (split on Dask)."""
    directory.mkdir(parents=True, exist_ok=True)
    for index in range(3):
        texts = [TEXTS[(index + i) % len(TEXTS)] for i in range(10 + index)]
        pq.write_table(
            pa.table({"id": list(range(len(texts))), "text": texts}),
            directory / f"small-{index}.parquet",
        )
    (directory / "notes.csv").write_text(
        'id,review,stars\n1,"a great film, great acting",9\n2,"boring\nand long",2\n3,,5\n'
    )
    (directory / "lines.jsonl").write_text(
        "".join(json.dumps({"text": text, "n": index}) + "\n" for index, text in enumerate(TEXTS))
    )
    texts = [f"{TEXTS[i % len(TEXTS)]} {i}" for i in range(BIG_ROWS)]
    pq.write_table(
        pa.table({"review_id": list(range(BIG_ROWS)), "text": texts}),
        directory / "big.parquet",
        row_group_size=5_000,
    )
    with (directory / "big.jsonl").open("w") as handle:
        for index in range(BIG_ROWS // 3):
            handle.write(json.dumps({"text": TEXTS[index % len(TEXTS)], "n": index}) + "\n")
    with (directory / "big.csv").open("w") as handle:
        handle.write("n,review\n")
        for index in range(BIG_ROWS // 3):
            # Quoted line breaks: most line ends are not record ends.
            handle.write(f'{index},"{TEXTS[index % len(TEXTS)]}\nsecond line, {index}"\n')


def _upload(filesystem: pafs.S3FileSystem, directory: Path, prefix: str) -> None:
    for path in sorted(directory.iterdir()):
        with filesystem.open_output_stream(f"{BUCKET}/{prefix}/{path.name}") as stream:
            stream.write(path.read_bytes())


def _keys(filesystem: pafs.S3FileSystem, prefix: str) -> list[str]:
    selector = pafs.FileSelector(f"{BUCKET}/{prefix}", recursive=True, allow_not_found=True)
    return sorted(
        info.path[len(f"{BUCKET}/{prefix}/") :]
        for info in filesystem.get_file_info(selector)
        if info.type == pafs.FileType.File
    )


def _remote_outputs(filesystem: pafs.S3FileSystem, prefix: str) -> dict[str, pa.Table]:
    return {
        key: pq.read_table(f"{BUCKET}/{prefix}/{key}", filesystem=filesystem)
        for key in _keys(filesystem, prefix)
        if key.endswith(".parquet")
    }


def _local_outputs(directory: Path) -> dict[str, pa.Table]:
    return {path.name: pq.read_table(path) for path in sorted(directory.glob("*.parquet"))}


EXPECTED = [
    "big.csv.parquet",
    "big.jsonl.parquet",
    "big.parquet",
    "lines.jsonl.parquet",
    "notes.csv.parquet",
    "small-0.parquet",
    "small-1.parquet",
    "small-2.parquet",
]


def test_s3_inputs_scored_into_s3_equal_local_scoring_and_a_rerun_skips_them(
    home: Path,  # noqa: F811
    s3: pafs.S3FileSystem,  # noqa: F811
    tmp_path: Path,
) -> None:
    _write_dump(tmp_path / "dump")
    _upload(s3, tmp_path / "dump", "in")
    score_flow([str(tmp_path / "dump")], str(tmp_path / "local"), home=str(home))
    expected = _local_outputs(tmp_path / "local")
    assert sorted(expected) == EXPECTED

    summary = score_flow([f"s3://{BUCKET}/in/"], f"s3://{BUCKET}/out", home=str(home))
    assert (summary["files_scored"], summary["files_failed"]) == (len(EXPECTED), 0)
    # Only the outputs: no temporary key, no probe, no failed.jsonl.
    assert _keys(s3, "out") == EXPECTED
    scored = _remote_outputs(s3, "out")
    for name, table in expected.items():
        assert scored[name].equals(table), name
    metadata = pq.read_metadata(f"{BUCKET}/out/big.parquet", filesystem=s3).metadata
    assert metadata[b"sentiment.input_path"] == f"s3://{BUCKET}/in/big.parquet".encode()

    again = score_flow([f"s3://{BUCKET}/in/*.parquet"], f"s3://{BUCKET}/out", home=str(home))
    assert (again["files_scored"], again["files_skipped"]) == (0, 4)

    # A bad input fails alone, and failed.jsonl lands beside the outputs in the bucket.
    with s3.open_output_stream(f"{BUCKET}/in/broken.parquet") as stream:
        stream.write(b"not parquet at all")
    with pytest.raises(ScoringFailedError, match=rf"1 of {len(EXPECTED) + 1} input\(s\) failed"):
        score_flow([f"s3://{BUCKET}/in"], f"s3://{BUCKET}/out", home=str(home))
    with s3.open_input_stream(f"{BUCKET}/out/{FAILED_FILE}") as stream:
        (failure,) = [json.loads(line) for line in stream.read().decode().splitlines()]
    assert failure["path"] == f"s3://{BUCKET}/in/broken.parquet"
    assert "broken.parquet" in failure["reason"]
    s3.delete_file(f"{BUCKET}/in/broken.parquet")

    # The command line, from one bucket prefix to another; then a rerun that skips all.
    arguments = ["--home", str(home), "score", f"s3://{BUCKET}/in/", "--output"]
    assert main([*arguments, f"s3://{BUCKET}/cli/"]) == 0
    assert _keys(s3, "cli") == EXPECTED
    for name, table in _remote_outputs(s3, "cli").items():
        assert table.equals(expected[name]), name
    rerun = score_flow([f"s3://{BUCKET}/in/"], f"s3://{BUCKET}/out/", home=str(home))
    assert (rerun["files_scored"], rerun["files_skipped"], rerun["files_failed"]) == (
        0,
        len(EXPECTED),
        0,
    )
    assert FAILED_FILE not in _keys(s3, "out")

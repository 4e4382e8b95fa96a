"""Scoring from and to object storage: a real S3-compatible server (moto's server mode,
started by the test on loopback and stopped afterwards, tests/support/s3_server.py),
reached through the standard ``AWS_*`` environment, as a user would reach a bucket."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from cli.main import main
from flows.score import score_flow
from sentiment.scoring.results import FAILED_FILE
from sentiment.scoring.scorer import ScoringFailedError
from tests.support.s3_dumps import (
    EXPECTED,
    local_outputs,
    object_keys,
    remote_outputs,
    upload,
    write_dump,
)
from tests.support.s3_server import BUCKET


def test_s3_inputs_scored_into_s3_equal_local_scoring_and_a_rerun_skips_them(
    champion_home: Path,
    s3: pafs.S3FileSystem,
    tmp_path: Path,
) -> None:
    write_dump(tmp_path / "dump")
    upload(s3, tmp_path / "dump", "in")
    score_flow([str(tmp_path / "dump")], str(tmp_path / "local"), home=str(champion_home))
    expected = local_outputs(tmp_path / "local")
    assert sorted(expected) == EXPECTED

    summary = score_flow([f"s3://{BUCKET}/in/"], f"s3://{BUCKET}/out", home=str(champion_home))
    assert (summary["files_scored"], summary["files_failed"]) == (len(EXPECTED), 0)
    # Only the outputs: no temporary key, no probe, no failed.jsonl.
    assert object_keys(s3, "out") == EXPECTED
    scored = remote_outputs(s3, "out")
    for name, table in expected.items():
        assert scored[name].equals(table), name
    metadata = pq.read_metadata(f"{BUCKET}/out/big.parquet", filesystem=s3).metadata
    assert metadata[b"sentiment.input_path"] == f"s3://{BUCKET}/in/big.parquet".encode()

    again = score_flow(
        [f"s3://{BUCKET}/in/*.parquet"], f"s3://{BUCKET}/out", home=str(champion_home)
    )
    assert (again["files_scored"], again["files_skipped"]) == (0, 4)

    # A bad input fails alone, and failed.jsonl lands beside the outputs in the bucket.
    with s3.open_output_stream(f"{BUCKET}/in/broken.parquet") as stream:
        stream.write(b"not parquet at all")
    with pytest.raises(ScoringFailedError, match=rf"1 of {len(EXPECTED) + 1} input\(s\) failed"):
        score_flow([f"s3://{BUCKET}/in"], f"s3://{BUCKET}/out", home=str(champion_home))
    with s3.open_input_stream(f"{BUCKET}/out/{FAILED_FILE}") as stream:
        (failure,) = [json.loads(line) for line in stream.read().decode().splitlines()]
    assert failure["path"] == f"s3://{BUCKET}/in/broken.parquet"
    assert "broken.parquet" in failure["reason"]
    s3.delete_file(f"{BUCKET}/in/broken.parquet")

    # The command line, from one bucket prefix to another; then a rerun that skips all.
    arguments = ["--home", str(champion_home), "score", f"s3://{BUCKET}/in/", "--output"]
    assert main([*arguments, f"s3://{BUCKET}/cli/"]) == 0
    assert object_keys(s3, "cli") == EXPECTED
    for name, table in remote_outputs(s3, "cli").items():
        assert table.equals(expected[name]), name
    rerun = score_flow([f"s3://{BUCKET}/in/"], f"s3://{BUCKET}/out/", home=str(champion_home))
    assert (rerun["files_scored"], rerun["files_skipped"], rerun["files_failed"]) == (
        0,
        len(EXPECTED),
        0,
    )
    assert FAILED_FILE not in object_keys(s3, "out")

"""Labelled intake on the real data: IMDB reviews are caught as leaks, new ones sliced.

The labelled batch is built from real IMDB test reviews under a new source name: as
they are, every one is refused as a duplicate of the test split; cut to their first
half (a critic's excerpt, a text IMDB does not hold) they are accepted and the session's
trained MLP is evaluated on the new snapshot with a slice per source.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

ROWS = 1_000


@pytest.fixture
def labelled_home(tmp_path: Path, imdb_home: Path, trained_mlp: Any) -> Path:
    """A home of its own (so the session home's snapshot stays IMDB alone)."""
    home = tmp_path / "labelled-home"
    (home / "raw").mkdir(parents=True)
    (home / "raw" / "imdb").symlink_to(imdb_home / "raw" / "imdb", target_is_directory=True)
    shutil.copytree(trained_mlp.directory, home / "models" / trained_mlp.version)
    return home


def test_real_reviews_are_guarded_and_a_new_source_is_sliced(
    labelled_home: Path, tmp_path: Path, trained_mlp: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli.main import main
    from sentiment.release.evaluation import evaluate_version
    from sentiment.release.promotion import record_evaluation

    raw = pq.read_table(labelled_home / "raw" / "imdb" / "test.parquet")
    # Every 25th review: both labels (the file is sorted by label), spread over the file.
    raw = raw.take(pa.array(range(0, raw.num_rows, raw.num_rows // ROWS)))
    labels = ["positive" if label else "negative" for label in raw.column("label").to_pylist()]
    texts = raw.column("text").to_pylist()
    copied = tmp_path / "copied.parquet"
    pq.write_table(pa.table({"review": texts, "verdict": labels}), copied)
    excerpts = tmp_path / "excerpts.parquet"
    halves = [text[: len(text) // 2] for text in texts]
    pq.write_table(pa.table({"review": halves, "verdict": labels}), excerpts)
    options = ["--source", "critics", "--text-column", "review", "--label-column", "verdict"]

    assert main(["--home", str(labelled_home), "add-labels", str(copied), *options]) == 1
    assert "0 accepted" in capsys.readouterr().out
    assert (
        main(["--home", str(labelled_home), "add-labels", str(excerpts), *options, "--json"]) == 0
    )
    (result,) = json.loads(capsys.readouterr().out)
    assert result["accepted"] + result["duplicates"] + result["conflicts"] == ROWS
    assert result["accepted"] > 0.95 * ROWS
    assert 0.15 < result["test"] / result["accepted"] < 0.25

    evaluation = evaluate_version(labelled_home, trained_mlp.version)
    record_evaluation(labelled_home, trained_mlp.version)
    slices = evaluation["metrics"]["slices"]
    assert slices["imdb"]["rows"] == 25_000
    assert slices["critics"]["rows"] == result["test"]
    assert evaluation["test_data"]["data_snapshot"] == result["snapshot"]
    # Half a review is still a review: the model reads it well above chance.
    assert slices["critics"]["accuracy"] > 0.7
    assert slices["critics"]["roc_auc"] > 0.75
    assert main(["--home", str(labelled_home), "models", "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["metrics"]["slices"]["critics"]["rows"] == result["test"]
    assert entry["data_snapshot"] == trained_mlp.metadata["data_snapshot"]
    assert main(["--home", str(labelled_home), "snapshots", "--json"]) == 0
    snapshots = json.loads(capsys.readouterr().out)
    assert [entry["current"] for entry in snapshots] == [False, True]

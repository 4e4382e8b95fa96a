"""The home's labelling queue: from scored outputs to a CSV to fill, leaving out what is
labelled or queued already, and back in through add-labels, partly filled."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sentiment.core.errors import DataError
from sentiment.core.paths import HomeLayout
from sentiment.data.config import LabelsConfig
from sentiment.data.labels import add_labels
from sentiment.labelling.config import QueueConfig
from sentiment.labelling.queue import build_queue
from sentiment.scoring.outputs import metadata_entries
from tests.support.raw_homes import POSITIVE, make_home


def write_scored(
    path: Path,
    texts: list[str],
    scores: list[float],
    threshold: float = 0.5,
    version: str = "m-1",
) -> Path:
    """A scored output as `sentiment score` writes it: columns and sentiment.* metadata."""
    table = pa.table(
        {
            "review_id": [f"{path.stem}-{index}" for index in range(len(texts))],
            "text": texts,
            "sentiment_score": pa.array(scores, pa.float32()),
        }
    )
    metadata = {"threshold": repr(threshold), "model_version": version, "text_column": "text"}
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table.replace_schema_metadata(metadata_entries(metadata)), path)
    return path


def texts(count: int, prefix: str) -> list[str]:
    return [" ".join(f"{prefix}{index}w{word}" for word in range(10)) for index in range(count)]


def read_queue(path: str) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return make_home(tmp_path / "home")


def test_queue_file_lists_the_least_sure_unlabelled_reviews_with_an_empty_label(
    home: Path,
) -> None:
    layout = HomeLayout(home)
    # An IMDB training text scored right at the threshold: labelled already, left out.
    reviews = [POSITIVE[0], *texts(5, "r")]
    write_scored(layout.scored_dir / "week1.parquet", reviews, [0.5, 0.9, 0.45, 0.52, 0.1, 0.7])

    result = build_queue(home, QueueConfig(size=3))

    assert result.output is not None
    assert Path(result.output).parent == layout.to_label_dir
    rows = read_queue(result.output)
    assert list(rows[0]) == [
        "review_id",
        "text",
        "sentiment_score",
        "source_file",
        "picked_because",
        "queue",
        "label",
    ]
    assert [row["review_id"] for row in rows] == ["week1-3", "week1-2", "week1-5"]
    assert [row["text"] for row in rows] == [reviews[3], reviews[2], reviews[5]]
    assert {row["label"] for row in rows} == {""}
    assert {row["source_file"] for row in rows} == {str(layout.scored_dir / "week1.parquet")}
    assert "0.0200 from the threshold 0.5000" in rows[0]["picked_because"]


def test_a_later_queue_leaves_out_earlier_queued_and_labelled_reviews(
    home: Path, tmp_path: Path
) -> None:
    layout = HomeLayout(home)
    reviews = texts(6, "r")
    write_scored(layout.scores_dir / "dump.parquet", reviews, [0.5, 0.51, 0.52, 0.53, 0.54, 0.9])
    first = build_queue(home, QueueConfig(size=2), output=tmp_path / "first.csv")
    labelled = tmp_path / "labelled.csv"
    labelled.write_text(f"text,label\n{reviews[2]},pos\n", encoding="utf-8")
    add_labels(home, labelled, LabelsConfig(source="critics"))

    second = build_queue(home, QueueConfig(size=2), output=tmp_path / "second.csv")

    assert [row["text"] for row in read_queue(first.output)] == reviews[:2]
    assert [row["text"] for row in read_queue(second.output)] == reviews[3:5]
    third = build_queue(home, QueueConfig(size=5), output=tmp_path / "third.csv")
    assert [row["text"] for row in read_queue(third.output)] == reviews[5:]
    assert build_queue(home, QueueConfig(size=5)).output is None


def test_a_partly_filled_queue_goes_back_in_and_can_be_given_back_again(
    home: Path, tmp_path: Path
) -> None:
    write_scored(HomeLayout(home).scored_dir / "a.parquet", texts(4, "q"), [0.5, 0.49, 0.48, 0.9])
    queue = build_queue(home, QueueConfig(size=3), output=tmp_path / "queue.csv")
    rows = read_queue(queue.output)
    rows[0]["label"] = "positive"
    fields = list(rows[0])

    def write(rows: list[dict[str, str]]) -> Path:
        with open(tmp_path / "queue.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fields)
            writer.writeheader()
            writer.writerows(rows)
        return tmp_path / "queue.csv"

    partly = add_labels(home, write(rows), LabelsConfig(source="queue"))

    assert (partly.accepted, partly.unlabelled, partly.refused, partly.queued) == (1, 2, 0, 1)
    assert partly.rejected_file is None
    # Filled further, plus a row the person added without a label: the queue's rows are
    # taken in, the one already accepted is a duplicate, the added row is refused.
    rows[1]["label"] = "neg"
    extra = {name: "" for name in fields} | {"text": "an added review without a label"}
    again = add_labels(home, write([*rows, extra]), LabelsConfig(source="queue"))

    assert (again.accepted, again.duplicates, again.unlabelled, again.refused) == (1, 1, 1, 1)
    assert again.reasons["missing label in column 'label'"] == 1


def test_files_scored_by_another_bundle_than_the_champion_are_left_out(home: Path) -> None:
    from sentiment.release.champion import champion_version
    from tests.support.bundles import SCORING_TEXTS, promoted_home

    promoted_home(home, SCORING_TEXTS)
    champion = champion_version(home)
    layout = HomeLayout(home)
    write_scored(layout.scored_dir / "old.parquet", texts(3, "o"), [0.5, 0.5, 0.5], version="old")
    write_scored(
        layout.scored_dir / "new.parquet", texts(3, "n"), [0.9, 0.8, 0.7], version=champion
    )

    result = build_queue(home, QueueConfig(size=5))

    assert result.skipped_files == {
        str(layout.scored_dir / "old.parquet"): f"scored by old, not the champion {champion}"
    }
    assert [row["text"] for row in read_queue(result.output)] == texts(3, "n")[::-1]


def test_a_named_file_that_is_no_scored_output_is_refused_in_one_sentence(
    home: Path, tmp_path: Path
) -> None:
    plain = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"text": ["x"], "score": np.array([0.5])}), plain)

    with pytest.raises(DataError, match=r"plain\.parquet is no scored output.*sentiment score"):
        build_queue(home, inputs=[plain])


def test_label_queue_then_add_labels_on_the_command_line(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli.main import main

    write_scored(HomeLayout(home).scores_dir / "dump.parquet", texts(3, "c"), [0.5, 0.6, 0.9])
    queue = tmp_path / "to-label.csv"

    assert main(["--home", str(home), "label-queue", "--size", "2", "--output", str(queue)]) == 0
    assert f"Queued 2 review(s) from 1 scored file(s) into {queue}" in capsys.readouterr().out
    rows = read_queue(str(queue))
    rows[0]["label"] = "negative"
    with open(queue, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    assert main(["--home", str(home), "add-labels", str(queue), "--source", "queue"]) == 0
    assert "1 accepted as 'queue'" in (out := capsys.readouterr().out)
    assert "1 not yet labelled" in out


def test_building_a_queue_says_each_step_as_it_starts(
    home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_scored(HomeLayout(home).scored_dir / "week1.parquet", texts(4, "r"), [0.5] * 4)
    with caplog.at_level(logging.INFO, logger="sentiment.labelling.queue"):
        build_queue(home, QueueConfig(size=3))
    lines = [record.getMessage() for record in caplog.records]
    assert lines[:4] == [
        "Labelling queue: started.",
        "Labelling queue: reading the texts already labelled or queued.",
        "Labelling queue: reading the 1 scored file(s) of the champion.",
        "Labelling queue: choosing 3 of 4 reviews.",
    ]
    assert lines[4].startswith("Queued 3 review(s)")

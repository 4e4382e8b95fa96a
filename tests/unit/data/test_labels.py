"""Labelled-data intake: label parsing, quarantine, duplicate and leak guard, split, snapshots."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv
import pyarrow.parquet as pq
import pytest

from sentiment.core.errors import ConfigError, DataError
from sentiment.core.paths import HomeLayout
from sentiment.data.config import LabelsConfig, PreprocessConfig
from sentiment.data.labelled_inbox import take_in_inbox
from sentiment.data.labels import add_labels
from sentiment.data.preprocess import find_processed, preprocess
from sentiment.data.snapshot import current_snapshot, describe_snapshots, snapshot_id
from sentiment.encoding.config import VectorizerConfig
from tests.support.raw_homes import make_home

SMALL = PreprocessConfig(vectorizer=VectorizerConfig(num_words=30, max_length=6))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return make_home(tmp_path / "home")


def write_csv(path: Path, rows: list[tuple[str, str]], header: str = "text,label") -> Path:
    lines = [header] + [f'"{text}",{label}' for text, label in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def fresh_rows(count: int, prefix: str = "review") -> list[tuple[str, str]]:
    return [
        (f"{prefix} number {index} was fine", "pos" if index % 2 else "neg")
        for index in range(count)
    ]


def test_rows_are_checked_one_by_one_and_refused_rows_quarantined(
    home: Path, tmp_path: Path
) -> None:
    rows = [
        *fresh_rows(10),
        ("no label here", ""),
        ("a label we cannot read", "maybe"),
        ("", "pos"),
    ]
    path = write_csv(tmp_path / "labels.csv", rows)

    result = add_labels(home, path, LabelsConfig(source="critics"))

    assert (result.rows, result.accepted, result.refused) == (13, 10, 3)
    assert result.train + result.test == 10
    rejected = pq.read_table(result.rejected_file)
    assert rejected.column("_row").to_pylist() == [10, 11, 12]
    assert rejected.column("text").to_pylist() == ["no label here", "a label we cannot read", ""]
    reasons = rejected.column("_reason").to_pylist()
    assert reasons[0].startswith("missing label")
    assert reasons[1].startswith("unknown label 'maybe'")
    assert reasons[2].startswith("no text")
    batch = HomeLayout(home).labelled_batch(result.batch)
    accepted = pa.concat_tables(
        pq.read_table(batch / f"{part}.parquet") for part in ("train", "test")
    )
    assert sorted(accepted.column("row").to_pylist()) == list(range(10))
    assert set(accepted.column("source").to_pylist()) == {"critics"}
    assert current_snapshot(home).batches == (result.batch,)


def test_a_labelling_queue_s_empty_labels_are_not_yet_labelled_not_refused(
    home: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "labelled-inbox"
    inbox.mkdir()
    rows = [
        '"queued and labelled",pos,queue-1.csv',
        '"queued, not labelled yet",,queue-1.csv',
        '"added by hand without a label",,',
    ]
    (inbox / "queue-1.csv").write_text("text,label,queue\n" + "\n".join(rows) + "\n")
    unfilled = ['"nothing filled in yet",,queue-2.csv']
    (inbox / "queue-2.csv").write_text("text,label,queue\n" + "\n".join(unfilled) + "\n")

    intake = take_in_inbox(home, inbox)

    assert intake["skipped"] == []
    first, second = intake["files"]
    assert (first["accepted"], first["unlabelled"], first["refused"]) == (1, 1, 1)
    assert first["queued"] == 1
    assert first["reasons"] == {"missing label in column 'label'": 1}
    assert (second["accepted"], second["unlabelled"], second["refused"]) == (0, 1, 0)
    assert second["rejected_file"] is None


def test_texts_already_in_imdb_or_an_earlier_batch_are_left_out_and_conflicts_named(
    home: Path, tmp_path: Path
) -> None:
    first = add_labels(home, write_csv(tmp_path / "first.csv", fresh_rows(6)))
    rows = [
        ("A GREAT film", "pos"),  # IMDB train/test hold "a great film" as positive
        ("a bad film", "pos"),  # ... and "a bad film" as negative: a conflict
        (fresh_rows(6)[1][0], "pos"),  # in the first batch with the same label
        (fresh_rows(6)[2][0], "pos"),  # in the first batch as negative: a conflict
        ("something new entirely", "1"),
        ("something  NEW entirely", "1"),  # the same text twice in one file
    ]
    second = add_labels(home, write_csv(tmp_path / "second.csv", rows))

    assert (second.accepted, second.duplicates, second.conflicts) == (1, 3, 2)
    reasons = pq.read_table(second.rejected_file).column("_reason").to_pylist()
    assert reasons[0].startswith("duplicate: the same text is in imdb/")
    assert reasons[1].startswith("conflict: the same text is in imdb/") and "label 0" in reasons[1]
    assert f"labelled/{first.batch}" in reasons[2]
    assert reasons[3].startswith("conflict") and first.batch in reasons[3]
    assert reasons[4].startswith("duplicate") and "row 4" in reasons[4]
    assert current_snapshot(home).batches == (first.batch, second.batch)


def test_a_file_of_duplicates_only_accepts_nothing_and_records_no_snapshot(
    home: Path, tmp_path: Path
) -> None:
    result = add_labels(home, write_csv(tmp_path / "old.csv", [("a great film", "pos")]))
    assert (result.accepted, result.duplicates) == (0, 1)
    assert current_snapshot(home).batches == ()


def test_adding_the_same_file_again_changes_nothing(home: Path, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "labels.csv", fresh_rows(8))
    first = add_labels(home, path)
    files_before = sorted(str(p) for p in HomeLayout(home).labelled_dir.rglob("*"))
    again = add_labels(home, path)
    assert again.already_taken_in and again.batch == first.batch
    assert again.accepted == first.accepted and again.snapshot == first.snapshot
    assert sorted(str(p) for p in HomeLayout(home).labelled_dir.rglob("*")) == files_before


def test_snapshot_id_follows_imdb_and_the_ordered_batches(home: Path, tmp_path: Path) -> None:
    base = current_snapshot(home)
    assert base.id == snapshot_id(base.imdb, ())
    first = add_labels(home, write_csv(tmp_path / "a.csv", fresh_rows(4, "alpha")))
    second = add_labels(home, write_csv(tmp_path / "b.csv", fresh_rows(4, "beta")))
    assert len({base.id, first.snapshot, second.snapshot}) == 3
    assert second.snapshot == snapshot_id(base.imdb, (first.batch, second.batch))
    assert snapshot_id(base.imdb, (second.batch, first.batch)) != second.snapshot
    described = describe_snapshots(home)
    assert [entry["id"] for entry in described] == [base.id, first.snapshot, second.snapshot]
    assert described[-1]["current"] and not described[0]["current"]
    assert described[-1]["rows"]["train"] + described[-1]["rows"]["test"] == 40 + 20 + 8


@pytest.mark.parametrize("suffix", ["parquet", "csv.gz", "jsonl", "jsonl.gz"])
def test_every_format_is_read(home: Path, tmp_path: Path, suffix: str) -> None:
    rows = fresh_rows(5, suffix)
    table = pa.table({"review": [text for text, _ in rows], "stars": [label for _, label in rows]})
    path = tmp_path / f"labels.{suffix}"
    if suffix == "parquet":
        pq.write_table(table, path)
    elif suffix == "csv.gz":
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write("review,stars\n" + "".join(f"{t},{label}\n" for t, label in rows))
    else:
        lines = "".join(json.dumps({"review": t, "stars": label}) + "\n" for t, label in rows)
        if suffix.endswith(".gz"):
            with gzip.open(path, "wt", encoding="utf-8") as handle:
                handle.write(lines)
        else:
            path.write_text(lines, encoding="utf-8")
    config = LabelsConfig(text_column="review", label_column="stars")
    assert add_labels(home, path, config).accepted == 5


def test_missing_columns_and_no_valid_row_are_one_sentence_and_write_nothing(
    home: Path, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "labels.csv", fresh_rows(3), header="body,label")
    with pytest.raises(DataError, match=r"labels\.csv has no text column 'text'.*--text-column"):
        add_labels(home, path)
    path = write_csv(tmp_path / "other.csv", fresh_rows(3), header="text,stars")
    with pytest.raises(DataError, match=r"no label column 'label'.*--label-column"):
        add_labels(home, path)
    path = write_csv(tmp_path / "bad.csv", [("fine text", "maybe"), ("more text", "7")])
    with pytest.raises(DataError, match=r"bad\.csv has no valid row.*column 'label'"):
        add_labels(home, path)
    assert not HomeLayout(home).labelled_dir.exists() or not any(
        HomeLayout(home).labelled_batches_dir.glob("*")
    )
    assert current_snapshot(home).batches == ()


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match="'imdb'"):
        LabelsConfig(source="imdb")
    with pytest.raises(ConfigError, match="source"):
        LabelsConfig(source="Bad Name")
    with pytest.raises(ConfigError, match="test_share"):
        LabelsConfig(test_share=1.0)


def test_inbox_takes_in_new_files_once_and_skips_bad_ones(home: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "critics").mkdir(parents=True)
    write_csv(inbox / "critics" / "week1.csv", fresh_rows(6))
    write_csv(inbox / "broken.csv", fresh_rows(2), header="body,label")
    first = take_in_inbox(home, inbox)
    assert first["new_rows"] == 6 and len(first["skipped"]) == 1
    assert first["files"][0]["source"] == "critics"
    second = take_in_inbox(home, inbox)
    assert second["new_rows"] == 0 and second["snapshot"] == first["snapshot"]


def test_preprocess_trains_and_tests_on_the_snapshot_and_keys_by_it(
    home: Path, tmp_path: Path
) -> None:
    before = preprocess(home, SMALL)
    result = add_labels(home, write_csv(tmp_path / "labels.csv", fresh_rows(30)))
    after = preprocess(home, SMALL)

    assert after.key != before.key and not after.cache_hit
    assert after.manifest["data_snapshot"] == result.snapshot == after.data_snapshot
    assert after.manifest["rows"]["test"] == 20 + result.test
    assert (
        after.manifest["rows"]["train"] + after.manifest["rows"]["validation"] == 40 + result.train
    )
    test_ids = set(pq.read_table(after.split_path("test")).column("review_id").to_pylist())
    train_ids = set(pq.read_table(after.split_path("train")).column("review_id").to_pylist())
    train_ids |= set(pq.read_table(after.split_path("validation")).column("review_id").to_pylist())
    assert not test_ids & train_ids
    assert find_processed(home, SMALL).key == after.key
    assert before.data_snapshot != after.data_snapshot


# --- issue 27: the leak guard, wrong training data, what quarantine keeps ----------------

IMDB_TEST_REVIEW = "An odd film: Straße scenes.<br /><br />Worth   it, I think."


def home_with_imdb_review(home: Path) -> Path:
    """The small home, with one IMDB test review holding line breaks and an ß."""
    from tests.support.raw_homes import raw_table, write_raw

    texts = [POSITIVE_TEXT, NEGATIVE_TEXT] * 10
    texts[0] = IMDB_TEST_REVIEW
    write_raw(home, "test", raw_table("test", texts, [1, 0] * 10))
    return home


POSITIVE_TEXT, NEGATIVE_TEXT = "a great film", "a bad film"


@pytest.mark.parametrize(
    "variant",
    [
        IMDB_TEST_REVIEW.upper(),
        IMDB_TEST_REVIEW.replace("<br />", "<BR />"),
        IMDB_TEST_REVIEW.replace("<br />", "<br/>"),
        IMDB_TEST_REVIEW.replace("<br />", "<Br >"),
        IMDB_TEST_REVIEW.replace("<br />", "<br>\n"),
        "  " + IMDB_TEST_REVIEW.replace(" ", "\t  ").swapcase() + " ",
    ],
)
def test_the_leak_guard_catches_case_and_line_break_variants(
    home: Path, tmp_path: Path, variant: str
) -> None:
    home_with_imdb_review(home)
    rows = [*fresh_rows(4), (variant, "pos")]
    path = tmp_path / "variants.csv"
    pa.csv.write_csv(pa.table({"text": [t for t, _ in rows], "label": [x for _, x in rows]}), path)
    result = add_labels(home, path)
    assert (result.accepted, result.duplicates) == (4, 1)
    reason = pq.read_table(result.rejected_file).column("_reason").to_pylist()[0]
    assert reason.startswith("duplicate: the same text is in imdb/test")


def test_a_text_labelled_both_ways_in_one_file_is_not_trained_on(
    home: Path, tmp_path: Path
) -> None:
    rows = [
        ("two minds about this one", "pos"),
        *fresh_rows(4),
        ("Two minds about THIS one", "neg"),
        ("two  minds about this one", "pos"),
    ]
    result = add_labels(home, write_csv(tmp_path / "both.csv", rows))
    assert (result.accepted, result.conflicts, result.duplicates) == (4, 3, 0)
    rejected = pq.read_table(result.rejected_file)
    assert rejected.column("_row").to_pylist() == [0, 5, 6]
    reasons = rejected.column("_reason").to_pylist()
    assert all(reason.startswith("conflict: labelled both") for reason in reasons)
    assert "rows 0, 5, 6" in reasons[0]
    batch = HomeLayout(home).labelled_batch(result.batch)
    texts = pa.concat_tables(pq.read_table(batch / f"{part}.parquet") for part in ("train", "test"))
    assert not any("minds" in text for text in texts.column("text").to_pylist())


def test_a_review_of_only_markup_is_refused(home: Path, tmp_path: Path) -> None:
    rows = [
        *fresh_rows(3),
        ("<br /><br />", "pos"),
        ("<BR/> \n <br>", "neg"),
        ("<p><i></i></p>", "pos"),
        ("&nbsp; ... --", "neg"),
        ("<i>fine</i>", "pos"),
    ]
    result = add_labels(home, write_csv(tmp_path / "markup.csv", rows))
    assert (result.accepted, result.refused) == (4, 4)
    reasons = pq.read_table(result.rejected_file).column("_reason").to_pylist()
    assert all(reason.startswith("no text") for reason in reasons)


def test_quarantine_keeps_input_values_exactly_and_never_duplicates_a_column(
    home: Path, tmp_path: Path
) -> None:
    path = tmp_path / "columns.csv"
    path.write_text(
        "text,label,row,reason,code,_row\n"
        "a fine new review,pos,7,mine,007,x\n"
        "an unreadable label,maybe,8,theirs,0010,y\n",
        encoding="utf-8",
    )
    result = add_labels(home, path)
    rejected = pq.read_table(result.rejected_file)
    assert len(set(rejected.column_names)) == len(rejected.column_names)
    assert rejected.column("code").to_pylist() == ["0010"]
    assert rejected.column("row").to_pylist() == ["8"]
    assert rejected.column("reason").to_pylist() == ["theirs"]
    assert rejected.column("_row").to_pylist() == ["y"]
    own = [name for name in rejected.column_names if name.endswith("_reason")]
    assert own == ["__reason"] or own == ["_reason"]
    assert rejected.column(own[0]).to_pylist()[0].startswith("unknown label 'maybe'")


def test_a_pandas_csv_with_line_breaks_in_quoted_texts_is_read_as_scoring_reads_it(
    home: Path, tmp_path: Path
) -> None:
    import pandas as pd

    from sentiment.reading.files import InputFile
    from sentiment.reading.readers import BatchReader

    texts = [
        "first line\nsecond line of a fine review",
        'He said "great",\r\nand meant it',
        "plain one-line review here",
        "ends with a break\n",
    ]
    frame = pd.DataFrame({"text": texts, "label": ["1", "0", "1.0", "0.0"], "code": ["007"] * 4})
    path = tmp_path / "pandas.csv"
    frame.to_csv(path, index=False)

    result = add_labels(home, path)

    assert (result.rows, result.accepted, result.refused) == (4, 4, 0)
    batch = HomeLayout(home).labelled_batch(result.batch)
    accepted = pa.concat_tables(
        pq.read_table(batch / f"{part}.parquet") for part in ("train", "test")
    ).sort_by("row")
    with BatchReader(InputFile(path, "csv", False, "pandas.csv.parquet")) as reader:
        scored_texts = pa.Table.from_batches(list(reader)).column("text").to_pylist()
    assert accepted.column("text").to_pylist() == scored_texts == texts
    assert accepted.column("label").to_pylist() == [1, 0, 1, 0]


@pytest.mark.parametrize(
    ("suffix", "labels"),
    [
        ("csv", ["1.0", "0.0"]),
        ("jsonl", ["1.0", "0.0"]),
        ("jsonl", [1.0, 0.0]),
        ("parquet", ["1.0", "0.0"]),
        ("parquet", [1.0, 0.0]),
    ],
)
def test_a_label_written_as_a_decimal_reads_alike_in_every_format(
    home: Path, tmp_path: Path, suffix: str, labels: list[object]
) -> None:
    rows = fresh_rows(4, f"decimal {suffix}")
    texts, values = [text for text, _ in rows], labels * 2
    path = tmp_path / f"labels.{suffix}"
    if suffix == "csv":
        write_csv(path, [(text, str(value)) for text, value in zip(texts, values, strict=True)])
    elif suffix == "jsonl":
        lines = [
            json.dumps({"text": text, "label": value})
            for text, value in zip(texts, values, strict=True)
        ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        pq.write_table(pa.table({"text": texts, "label": values}), path)
    result = add_labels(home, path)
    assert (result.accepted, result.refused) == (4, 0)


def test_add_labels_removes_the_temporaries_a_killed_intake_left(
    home: Path, tmp_path: Path
) -> None:
    from tests.support.temporaries import dead_pid, plant_orphans

    layout = HomeLayout(home)
    pid = dead_pid()
    orphans = [
        *plant_orphans(layout.labelled_batches_dir, pid),
        *plant_orphans(layout.labelled_rejected("x").parent, pid),
        *plant_orphans(layout.snapshots_dir, pid),
        *plant_orphans(layout.labelled_index_dir, pid),
    ]
    add_labels(home, write_csv(tmp_path / "labels.csv", fresh_rows(4)))
    assert not any(path.exists() for path in orphans)

"""Scoring loses no row and changes no value: faults an adversary found, one test each."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sentiment.core.errors import ConfigError, DataError
from sentiment.reading import readers, textformats
from sentiment.reading.readers import BatchReader
from sentiment.scoring.config import ScoringConfig
from sentiment.scoring.discovery import discover_inputs
from sentiment.scoring.outputs import (
    LABEL_COLUMN,
    NOTE_COLUMN,
    SCORE_COLUMN,
    prepare_output_directory,
    write_failures,
)
from sentiment.scoring.results import FileResult
from sentiment.scoring.summary import ScoringSummary
from tests.support.scoring import SMALL, FakeModel, dump, inputs_of, score_files


def read_all(path: Path, block_bytes: int = 1 << 12, **options: object) -> pa.Table:
    (input_file,) = inputs_of(path)
    with BatchReader(input_file, batch_rows=100, block_bytes=block_bytes, **options) as reader:
        return pa.Table.from_batches(list(reader), schema=reader.schema)


def score_one(path: Path, output: Path, config: ScoringConfig = SMALL, **options) -> FileResult:
    (result,) = score_files(inputs_of(path), output, FakeModel(), config, **options)
    return result


# --- 1. an input that changes while it is scored -------------------------------------


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_an_input_appended_to_while_scored_fails_and_keeps_nothing(
    tmp_path: Path, kind: str
) -> None:
    source = tmp_path / f"in.{kind}"
    if kind == "csv":
        source.write_text("id,text\n" + "".join(f"{i},good film\n" for i in range(30)))
    else:
        dump(source, rows=30)
    output = tmp_path / "out"

    def append(rows_done: int, fraction: float) -> None:
        if rows_done == 7 and kind == "csv":
            with open(source, "ab") as handle:
                handle.write(b"30,bad film\n")
        elif rows_done == 7:
            dump(source, rows=31)  # a writer replacing the file in place

    result = score_one(source, output, on_batch=append)
    assert result.status == "failed"
    assert "changed while it was being scored" in result.reason
    assert not (output / "in.parquet").exists()
    # The next run scores what the file holds now, and only then is it up to date.
    rerun = score_one(source, output)
    assert rerun.status == "scored"
    assert score_one(source, output).status == "skipped"


# --- 2. columns other than the text pass through byte for byte ------------------------


def test_csv_columns_other_than_the_text_keep_their_exact_text(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text('id,text,code,flag,note\n007,good film,N/A,true,\n010,"bad",null,0,""\n')
    result = score_one(source, tmp_path / "out")
    assert result.status == "scored", result.reason
    output = pq.read_table(result.output_path)
    assert output.column("id").to_pylist() == ["007", "010"]
    assert output.column("code").to_pylist() == ["N/A", "null"]
    assert output.column("flag").to_pylist() == ["true", "0"]
    assert output.column("note").to_pylist() == ["", ""]


def test_a_json_integer_beyond_64_bits_fails_naming_its_column(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        '{"id": 1, "text": "good"}\n'
        '{"id": 18446744073709551616, "text": "the number 12345678901234567890"}\n'
    )
    result = score_one(source, tmp_path / "out")
    assert result.status == "failed"
    assert "'id'" in result.reason and "line 2" in result.reason


def test_json_integers_stay_exact_integers(tmp_path: Path) -> None:
    big = 2**62 + 1  # not representable as a double
    source = tmp_path / "in.jsonl"
    source.write_text(f'{{"id": {big}, "text": "good"}}\n{{"id": 2, "text": "bad"}}\n')
    result = score_one(source, tmp_path / "out")
    assert result.status == "scored", result.reason
    output = pq.read_table(result.output_path)
    assert output.schema.field("id").type == pa.int64()
    assert output.column("id").to_pylist() == [big, 2]


def test_json_integers_mixed_with_fractions_that_would_lose_digits_fail(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(f'{{"v": 1.5, "text": "good"}}\n{{"v": {2**62 + 1}, "text": "bad"}}\n')
    result = score_one(source, tmp_path / "out")
    assert result.status == "failed"
    assert "'v'" in result.reason and "line 2" in result.reason


# --- 3. valid files whose content changes after the first block ----------------------


def test_a_csv_column_that_turns_from_numbers_to_words_is_read_whole(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    rows = [f"{i},{'unrated' if i == 2000 else i % 10},good film" for i in range(2500)]
    source.write_text("id,stars,text\n" + "\n".join(rows) + "\n")
    table = read_all(source)
    assert table.num_rows == 2500
    assert table.column("stars")[2000].as_py() == "unrated"


def test_a_json_field_first_appearing_late_is_kept(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    lines = [json.dumps({"id": i, "text": "good", "note": None}) for i in range(2000)]
    lines.append(json.dumps({"id": 2000, "text": "bad", "note": "late", "extra": True}))
    source.write_text("\n".join(lines) + "\n")
    table = read_all(source)
    assert table.num_rows == 2001
    assert table.column("note").to_pylist()[-2:] == [None, "late"]
    assert table.column("extra").to_pylist()[-2:] == [None, True]


def _mixed_json(path: Path) -> None:
    # Across 4 KB blocks: an integer column that later holds fractions, a column null
    # until late, a field that first appears late, and 17-digit runs inside review text
    # (not numbers).
    lines = []
    for i in range(1500):
        row: dict[str, object] = {"id": i, "score": i if i < 1200 else i + 0.5, "note": None}
        row["text"] = f"good film, call 0{i:016d} now" if i % 7 == 0 else "bad film"
        if i >= 1400:
            row["note"], row["late"] = "late", True
        lines.append(json.dumps(row))
    path.write_text("\n".join(lines) + "\n")


def test_json_lines_read_once_give_the_rows_of_a_second_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "in.jsonl"
    _mixed_json(source)
    kept = read_all(source)
    monkeypatch.setattr(textformats, "KEPT_TABLE_BYTES", 0)
    parsed_twice = read_all(source)
    assert kept.num_rows == 1500
    assert kept.schema == parsed_twice.schema
    assert kept.equals(parsed_twice)
    assert kept.column("score").to_pylist()[1199:1201] == [1199.0, 1200.5]


def test_a_json_lines_file_that_fits_in_memory_is_read_from_storage_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"id": i, "text": "good"}) + "\n" for i in range(300)))
    opened: list[object] = []

    class CountingFile(readers.HashingFile):
        def __init__(self, *args: object, **kwargs: object) -> None:
            opened.append(args)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(readers, "HashingFile", CountingFile)
    (input_file,) = inputs_of(source)
    with BatchReader(input_file, batch_rows=100, block_bytes=1 << 12) as reader:
        assert sum(batch.num_rows for batch in reader) == 300
        assert reader.fingerprint()
    assert len(opened) == 1


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_one_review_longer_than_a_block_is_read(tmp_path: Path, kind: str) -> None:
    long_text = "good film, " * 5000  # 55 KB against 4 KB blocks
    texts = ["short", long_text, "another"]
    source = tmp_path / f"in.{kind}"
    if kind == "csv":
        source.write_text("id,text\n" + "".join(f'{i},"{t}"\n' for i, t in enumerate(texts)))
    else:
        source.write_text(
            "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(texts))
        )
    table = read_all(source)
    assert table.column("text").to_pylist() == texts


def test_malformed_json_names_the_absolute_line(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    lines = [json.dumps({"id": i, "text": "good film"}) for i in range(1000)]
    lines[700] = '{"id": 700, "text": "good film"'
    source.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"line 701\b"):
        read_all(source)


def test_a_json_field_changing_type_names_line_and_column(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    lines = [json.dumps({"id": i, "stars": 3, "text": "good film"}) for i in range(1000)]
    lines[800] = json.dumps({"id": 800, "stars": "three", "text": "good film"})
    source.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"line 801\b.*'stars'"):
        read_all(source)


def test_malformed_csv_names_the_absolute_line(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    rows = [f'{i},"good\nfilm"' for i in range(1000)]  # two lines per record
    rows[600] = "600,good,extra"
    source.write_text("id,text\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"line 1202\b"):  # header, then 600 records of 2 lines
        read_all(source)


# --- 4. a file cut short --------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True])
def test_a_csv_cut_inside_its_last_quoted_field_fails(tmp_path: Path, compress: bool) -> None:
    payload = b'id,text\n1,"good film"\n2,"a long review that was cut'
    source = tmp_path / ("in.csv.gz" if compress else "in.csv")
    source.write_bytes(gzip.compress(payload) if compress else payload)
    result = score_one(source, tmp_path / "out")
    assert result.status == "failed"
    assert "cut short" in result.reason and "line 3" in result.reason


def test_an_unfinished_last_json_line_fails(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": 1, "text": "good"}\n{"id": 2, "text": "a long review that')
    result = score_one(source, tmp_path / "out")
    assert result.status == "failed"
    assert "line 2" in result.reason


def test_a_complete_file_without_a_final_line_break_is_fine(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text('id,text\n1,"good ""film"""\n2,bad')
    table = read_all(source)
    assert table.column("text").to_pylist() == ['good "film"', "bad"]


# --- 6. reviews without a known word --------------------------------------------------


def test_reviews_without_a_known_word_are_left_unscored(tmp_path: Path) -> None:
    texts = ["good film", "<br /><br />", "😀😀", "日本語のレビュー", "12345", "\u200b", None]
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"text": texts}), source)
    result = score_one(source, tmp_path / "out")
    assert result.status == "scored", result.reason
    output = pq.read_table(result.output_path)
    scores = output.column(SCORE_COLUMN).to_pylist()
    assert scores[0] is not None and scores[1:] == [None] * 6
    assert output.column(LABEL_COLUMN).to_pylist()[1:] == [None] * 6
    notes = output.column(NOTE_COLUMN).to_pylist()
    assert notes[0] is None
    assert set(notes[1:6]) == {"no known word"} and notes[6] == "no text"
    assert result.profile.unknown_text_rows == 5
    assert result.profile.null_text_rows == 1
    summary = ScoringSummary("v", 0.5, str(tmp_path / "out"), (result,), seconds=1.0).to_dict()
    assert summary["unknown_text_rows"] == 5
    assert summary["null_text_rows"] == 1
    assert summary["positive_share"] == 1.0  # of the one row that was scored


# --- 7. output problems blame the output ----------------------------------------------


def test_an_output_that_is_a_file_is_reported_as_the_output(tmp_path: Path) -> None:
    source = dump(tmp_path / "in.parquet")
    output = tmp_path / "out"
    output.write_text("a file, not a directory")
    with pytest.raises(ConfigError, match=rf"Output directory {output}"):
        prepare_output_directory(output)
    result = score_one(source, output)
    assert result.status == "failed"
    assert str(output) in result.reason and not result.reason.startswith("Input")


def test_failures_that_cannot_be_written_beside_the_outputs_go_elsewhere(
    tmp_path: Path,
) -> None:
    blocked = tmp_path / "out"
    blocked.write_text("a file")
    failed = FileResult("x.csv", None, "failed", reason="Input x.csv is bad.")
    written = write_failures(blocked, [failed])
    assert written is not None and written.parent != blocked
    assert json.loads(written.read_text().splitlines()[0])["path"] == "x.csv"


def test_an_output_directory_that_is_an_input_directory_is_refused(tmp_path: Path) -> None:
    dump(tmp_path / "in.parquet")
    # A setting to change, not a bad input: refused before anything (failed.jsonl
    # included) is written into the input directory.
    with pytest.raises(ConfigError, match="is also the output directory"):
        discover_inputs([str(tmp_path)], output_dir=tmp_path)
    assert [path.name for path in tmp_path.iterdir()] == ["in.parquet"]


def test_a_recursive_glob_never_takes_outputs_as_inputs(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    dump(data / "in.parquet")
    output = data / "scored"
    score_files(inputs_of(data / "in.parquet"), output, FakeModel(), SMALL)
    discovery = discover_inputs([str(data / "**" / "*.parquet")], output_dir=output)
    assert [item.path.name for item in discovery.inputs] == ["in.parquet"]
    assert discovery.failures == ()


# --- 8. rough edges -------------------------------------------------------------------


def test_a_same_size_edit_with_its_time_restored_is_rescored(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,text\n1,good film\n")
    output = tmp_path / "out"
    assert score_one(source, output).status == "scored"
    stat = source.stat()
    source.write_text("id,text\n1,bad! film\n")
    assert source.stat().st_size == stat.st_size
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    rerun = score_one(source, output)
    assert rerun.status == "scored"
    assert pq.read_table(rerun.output_path).column(LABEL_COLUMN).to_pylist() == ["negative"]


def test_a_different_text_column_rescores(tmp_path: Path) -> None:
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"text": ["good film"], "review": ["bad film"]}), source)
    output = tmp_path / "out"
    first = score_one(source, output, ScoringConfig(text_column="review"))
    assert first.status == "scored"
    second = score_one(source, output, ScoringConfig())
    assert second.status == "scored"
    assert pq.read_table(second.output_path).column(LABEL_COLUMN).to_pylist() == ["positive"]


def test_a_killed_runs_temporary_of_another_input_is_cleaned(tmp_path: Path) -> None:
    output = tmp_path / "out"
    output.mkdir()
    stale = output / ".tmp-1234abcd-other.parquet"
    stale.write_bytes(b"half a file")
    score_one(dump(tmp_path / "in.parquet"), output)
    assert not stale.exists()


def test_a_text_column_appearing_twice_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "in.parquet"
    table = pa.Table.from_arrays([pa.array(["good"]), pa.array(["bad"])], names=["text", "text"])
    pq.write_table(table, source)
    result = score_one(source, tmp_path / "out")
    assert result.status == "failed"
    assert "twice" in result.reason and "KeyError" not in result.reason


def test_a_binary_text_column_of_utf8_is_scored(tmp_path: Path) -> None:
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"text": pa.array([b"good film", b"bad"], pa.binary())}), source)
    result = score_one(source, tmp_path / "out")
    assert result.status == "scored", result.reason
    output = pq.read_table(result.output_path)
    assert output.schema.field("text").type == pa.binary()  # passed through unchanged
    assert output.column(LABEL_COLUMN).to_pylist() == ["positive", "negative"]


def test_a_binary_text_column_that_is_not_utf8_says_so(tmp_path: Path) -> None:
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"text": pa.array([b"good", b"caf\xe9"], pa.binary())}), source)
    result = score_one(source, tmp_path / "out")
    assert result.status == "failed"
    assert "UTF-8" in result.reason and "--text-column" not in result.reason


def test_a_string_text_column_holding_invalid_utf8_names_the_row(tmp_path: Path) -> None:
    # Parquet writers (and Arrow itself) can store string values that are not UTF-8.
    raw = pa.array([b"good film", b"fine", b"caf\xe9 awful"], pa.binary())
    text = pa.StringArray.from_buffers(3, raw.buffers()[1], raw.buffers()[2])
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "c"], "text": text}), source)
    result = score_one(source, tmp_path / "out")
    assert result.status == "failed"
    assert "column 'text' row 3" in result.reason and "UTF-8" in result.reason, result.reason
    assert "UnicodeDecodeError" not in result.reason
    assert not any((tmp_path / "out").glob("*.parquet"))


@pytest.mark.parametrize("name", ["empty.csv", "empty.jsonl", "empty.csv.gz"])
def test_an_empty_file_scores_as_zero_rows(tmp_path: Path, name: str) -> None:
    source = tmp_path / name
    source.write_bytes(gzip.compress(b"") if name.endswith(".gz") else b"")
    result = score_one(source, tmp_path / "out")
    assert result.status == "scored", result.reason
    assert result.rows == 0
    assert pq.read_metadata(result.output_path).num_rows == 0


def test_scores_are_unchanged_by_the_new_readers(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,text\n1,good film\n2,bad film\n3,great great\n")
    output = pq.read_table(score_one(source, tmp_path / "out").output_path)
    expected = FakeModel().predict_texts(["good film", "bad film", "great great"])
    np.testing.assert_allclose(output.column(SCORE_COLUMN).to_numpy(), expected, rtol=1e-6)

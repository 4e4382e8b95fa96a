"""Streaming readers for batch scoring."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sentiment.core.errors import DataError
from sentiment.reading.readers import BatchReader, choose_text_column
from sentiment.scoring.discovery import discover_inputs
from tests.support.scoring import ROWS, write_csv, write_jsonl


def read_all(path: Path, batch_rows: int = 2, **options: object) -> pa.Table:
    discovery = discover_inputs([str(path)])
    assert not discovery.failures
    with BatchReader(discovery.inputs[0], batch_rows=batch_rows, **options) as reader:
        batches = list(reader)
        assert reader.fraction_done() == pytest.approx(1.0, abs=0.01)
        assert all(batch.num_rows <= batch_rows for batch in batches)
    return pa.Table.from_batches(batches)


@pytest.mark.parametrize("kind", ["parquet", "csv", "csv.gz", "jsonl", "json", "jsonl.gz"])
def test_each_format_streams_every_row_in_order(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"reviews.{kind}"
    if kind == "parquet":
        pq.write_table(pa.Table.from_pylist(ROWS), path)
    elif kind.startswith("csv"):
        write_csv(path, ROWS, compress=kind.endswith(".gz"))
    else:
        write_jsonl(path, ROWS, compress=kind.endswith(".gz"))
    table = read_all(path)
    # CSV has no types: its fields keep their exact text.
    expected_ids = ["1", "2", "3"] if kind.startswith("csv") else [1, 2, 3]
    assert table.column("id").to_pylist() == expected_ids
    texts = table.column("text").to_pylist()
    assert texts[:2] == [ROWS[0]["text"], ROWS[1]["text"]]
    assert texts[2] in (None, "")  # CSV has no null: an empty field stays empty


def test_csv_text_column_of_numbers_is_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "numbers.csv"
    path.write_text("id,review\n1,10\n2,7\n")
    table = read_all(path)
    assert table.column("review").to_pylist() == ["10", "7"]


def test_text_column_auto_detection_and_error() -> None:
    schema = pa.schema([("id", pa.int64()), ("Review", pa.string())])
    assert choose_text_column(schema, Path("x"), None) == "Review"
    both = pa.schema([("review", pa.string()), ("text", pa.string())])
    assert choose_text_column(both, Path("x"), None) == "text"
    with pytest.raises(DataError, match=r"columns: id, body.*--text-column"):
        choose_text_column(pa.schema([("id", pa.int64()), ("body", pa.string())]), Path("x"), None)
    with pytest.raises(DataError, match="no column 'body'"):
        choose_text_column(schema, Path("x"), "body")


def test_non_text_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "typed.parquet"
    pq.write_table(pa.table({"text": [1, 2]}), path)
    (input_file,) = discover_inputs([str(path)]).inputs
    with pytest.raises(DataError, match="holds int64, not text"), BatchReader(input_file):
        pass


@pytest.mark.parametrize("damage", ["garbled", "cut short"])
def test_a_damaged_gzip_file_fails_in_one_sentence(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "reviews.csv.gz"
    packed = gzip.compress(b"id,text\n" + b"1,a fine film\n" * 200)
    garbled = packed[:10] + b"\xff" * 40 + packed[50:]
    path.write_bytes(garbled if damage == "garbled" else packed[:-30])
    (input_file,) = discover_inputs([str(path)]).inputs
    with pytest.raises(DataError) as caught, BatchReader(input_file) as reader:
        list(reader)
    message = str(caught.value)
    assert message.startswith(f"Input {path} is not a complete gzip file (")
    assert message.endswith("); compress or fetch it again.")


@pytest.mark.parametrize("value_type", [pa.string(), pa.binary()])
def test_invalid_utf8_in_a_dictionary_text_column_names_the_row(
    tmp_path: Path, value_type: pa.DataType
) -> None:
    values = pa.array([b"fine", b"bad \xff here"], pa.binary()).view(value_type)
    texts = pa.DictionaryArray.from_arrays(pa.array([0, 0, 1, 0], pa.int32()), values)
    path = tmp_path / "reviews.parquet"
    pq.write_table(pa.table({"id": [1, 2, 3, 4], "text": texts}), path)
    (input_file,) = discover_inputs([str(path)]).inputs
    with pytest.raises(DataError) as caught, BatchReader(input_file) as reader:
        list(reader)
    assert str(caught.value) == (
        f"Input {path} column 'text' row 3 holds bytes that are not UTF-8 text (invalid start "
        "byte); store the reviews as UTF-8."
    )


def test_json_objects_without_fields_are_rows_not_an_empty_file(tmp_path: Path) -> None:
    # Two rows ({} each) must not vanish as if the file were empty: they have no text.
    path = tmp_path / "reviews.jsonl"
    path.write_text("{}\n{}\n")
    (input_file,) = discover_inputs([str(path)]).inputs
    with pytest.raises(DataError, match=r"has no 'text' or 'review' column \(columns: none\)"):
        BatchReader(input_file).__enter__()
    empty = tmp_path / "nothing.jsonl"
    empty.write_text("")
    (input_file,) = discover_inputs([str(empty)]).inputs
    with BatchReader(input_file) as reader:
        assert reader.empty and list(reader) == []

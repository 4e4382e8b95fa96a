"""CSV is read exactly as Python's ``csv`` module reads it, or refused in one sentence
(issue 27 class 1): every line ending (``\\n``, ``\\r\\n``, a lone ``\\r``), quoting,
separators, quotes and line breaks inside fields, and encodings; whole files, files cut
into small chunks, and files split into byte-range shards."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sentiment.core import storage
from sentiment.core.errors import DataError
from sentiment.reading.chunks import csv_byte_ranges
from sentiment.reading.readers import BatchReader
from sentiment.scoring.discovery import discover_inputs
from tests.support.s3_server import BUCKET, s3  # noqa: F401 - the real S3 server fixture


def read_rows(
    path: str | Path, block_bytes: int = 1 << 20, text_column: str | None = None
) -> tuple[list[str], list[list[str]]]:
    """The header and rows scoring reads from a CSV file."""
    (input_file,) = discover_inputs([str(path)]).inputs
    with BatchReader(input_file, text_column=text_column, block_bytes=block_bytes) as reader:
        names = list(reader.schema.names)
        table = pa.Table.from_batches(list(reader), schema=reader.schema)
    return names, [list(row.values()) for row in table.to_pylist()]


def read_shards(
    path: Path, shards: int, block_bytes: int, text_column: str
) -> tuple[int, list[list[str]]]:
    """The rows counted by the shard planner and the rows its byte ranges read."""
    (input_file,) = discover_inputs([str(path)]).inputs
    with BatchReader(input_file, text_column=text_column) as reader:
        schema = reader.schema
    with open(path, "rb") as handle:
        ranges, counted, _ = csv_byte_ranges(handle, path.stat().st_size, shards, 1, block_bytes)
    rows: list[list[str]] = []
    for start, stop, first_line, first_row in ranges:
        with BatchReader(
            input_file,
            text_column=text_column,
            block_bytes=block_bytes,
            byte_range=(start, stop, first_line),
            schema=schema,
            first_row=first_row,
        ) as reader:
            for batch in reader:
                rows.extend(list(row.values()) for row in batch.to_pylist())
    return counted, rows


def python_records(data: bytes) -> list[list[str]] | None:
    """What ``csv.reader`` reads (blank lines hold no record), or None if it refuses."""
    try:
        text = data.decode("utf-8-sig")
        csv.field_size_limit(1 << 30)
        return [record for record in csv.reader(io.StringIO(text, newline="")) if record]
    except (UnicodeDecodeError, csv.Error):
        return None


def ends_inside_quotes(data: bytes) -> bool:
    """Whether Python's csv module would still be inside a quoted field at the end."""
    text = data.decode("utf-8", errors="replace") + "\nEND\n"
    records = list(csv.reader(io.StringIO(text, newline="")))
    return records[-1] != ["END"]


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_every_line_ending_reads_every_row(tmp_path: Path, ending: str) -> None:
    path = tmp_path / "reviews.csv"
    lines = ["id,text", '1,"Great, truly."', '2,"Two\rline\r\nbreaks\n"', "3,Awful."]
    path.write_bytes((ending.join(lines) + ending).encode())
    names, rows = read_rows(path, block_bytes=8)
    assert names == ["id", "text"]
    assert rows == [["1", "Great, truly."], ["2", "Two\rline\r\nbreaks\n"], ["3", "Awful."]]


def test_a_lone_carriage_return_ends_the_header(tmp_path: Path) -> None:
    path = tmp_path / "reviews.csv"
    path.write_bytes(b"id,text\r1,Great.\n2,Awful.\n")
    assert read_rows(path) == (["id", "text"], [["1", "Great."], ["2", "Awful."]])


def test_lone_carriage_returns_from_an_object_store(s3: pafs.S3FileSystem) -> None:  # noqa: F811
    with s3.open_output_stream(f"{BUCKET}/mac/reviews.csv") as stream:
        stream.write(b"id,text\r1,Great.\r2,Awful.\r")
    location = storage.location(f"s3://{BUCKET}/mac/reviews.csv")
    assert read_rows(location) == (["id", "text"], [["1", "Great."], ["2", "Awful."]])


# Fields drawn from the characters that matter to CSV, plus some that need UTF-8.
FIELD = st.text(alphabet=st.sampled_from(list("ab ,\"\r\n\t'é€😀")), max_size=8)
ENDINGS = st.sampled_from(["\n", "\r\n", "\r"])
QUOTING = st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])


@st.composite
def written_csv(draw: st.DrawFn) -> bytes:
    """A file a CSV writer would produce: a header and rows, with any line ending."""
    width = draw(st.integers(1, 3))
    names = draw(
        st.lists(
            st.text(alphabet=st.sampled_from(list("ab,\r\né")), min_size=1, max_size=4),
            min_size=width,
            max_size=width,
            unique=True,
        )
    )
    rows = draw(st.lists(st.lists(FIELD, min_size=width, max_size=width), max_size=6))
    buffer = io.StringIO(newline="")
    buffer.write(draw(st.sampled_from(["", "\ufeff"])))  # a byte-order mark, or none
    writer = csv.writer(buffer, lineterminator=draw(ENDINGS), quoting=draw(QUOTING))
    writer.writerow(names)
    writer.writerows(rows)
    return buffer.getvalue().encode()


@st.composite
def raw_csv(draw: st.DrawFn) -> bytes:
    """Any bytes built from CSV's special characters: malformed files too."""
    header = draw(
        st.sampled_from(
            [b"text\n", b"text,b\r\n", b"text,b\r", b'"te\rxt",b\n', b"\xef\xbb\xbf\r\n\rtext\r"]
        )
    )
    pieces = st.sampled_from([b"a", b",", b'"', b"\r", b"\n", b"\r\n", b" ", "é".encode(), b"\xff"])
    return header + b"".join(draw(st.lists(pieces, max_size=30)))


# A hundred files per property keeps the tier quick; tmp_path is shared by a test's
# examples, which is safe because every example writes the same file whole.
QUICK = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def assert_read_as_python_does(path: Path, data: bytes) -> list[list[str]] | None:
    """Check that scoring reads the file as Python does or refuses it; return the rows."""
    expected = python_records(data)
    read = None
    text_column = expected[0][0] if expected else "text"
    for block_bytes in (7, 1 << 20):
        try:
            names, rows = read_rows(path, block_bytes, text_column)
        except DataError as error:
            message = str(error)
            # A refusal names the file in one sentence, and only where the file is not
            # a table Python reads whole.
            assert str(path) in message and "\n" not in message and message.endswith("."), message
            assert (
                expected is None
                or len({len(record) for record in expected}) > 1
                or len(set(expected[0])) < len(expected[0])  # a column named twice
                or ends_inside_quotes(data)  # cut short
            ), f"refused a file csv.reader reads: {message}"
            continue
        assert expected is not None
        assert ([names, *rows] if names else rows) == expected
        read = rows
    return read


@QUICK
@given(data=written_csv())
def test_written_csv_reads_as_python_reads_it(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "reviews.csv"
    path.write_bytes(data)
    rows = assert_read_as_python_does(path, data)
    if not rows:
        return  # refused (a writer left a line break unquoted), or no rows to split
    text_column = str(python_records(data)[0][0])  # type: ignore[index]
    counted, shard_rows = read_shards(path, 3, 5, text_column)
    assert (counted, shard_rows) == (len(rows), rows)


@QUICK
@given(data=raw_csv())
def test_any_csv_reads_as_python_reads_it_or_is_refused(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "reviews.csv"
    path.write_bytes(data)
    assert_read_as_python_does(path, data)

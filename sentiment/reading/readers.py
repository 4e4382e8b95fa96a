"""Reading review files in bounded record batches.

Every reader streams: Parquet through ``ParquetFile.iter_batches``, CSV and JSON lines
in chunks of whole records, so memory is bounded by the chunk size (and the longest
record), never by the file size. Columns other than the text pass through unchanged:
CSV fields as their exact text, JSON values with their own types.
"""

from __future__ import annotations

import gzip
import logging
import zlib
from collections.abc import Iterator
from types import TracebackType
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from sentiment.core import storage
from sentiment.core.errors import DataError
from sentiment.core.storage import Location
from sentiment.reading.chunks import BYTE_ORDER_MARK, Chunk, line_breaks, record_chunks
from sentiment.reading.files import InputFile
from sentiment.reading.fingerprint import HashingFile, InputChangedError, content_fingerprint
from sentiment.reading.textformats import (
    JsonSchemaScan,
    csv_header,
    csv_schema,
    parse_csv_chunk,
    parse_json_chunk,
)

logger = logging.getLogger(__name__)

# Columns taken as the review text, in order, when the user names none.
TEXT_COLUMN_CANDIDATES = ("text", "review")
# CSV and JSON blocks of this many bytes hold roughly 10k IMDB reviews.
DEFAULT_BLOCK_BYTES = 16 << 20


def choose_text_column(schema: pa.Schema, path: Location, text_column: str | None) -> str:
    """Return the column holding the review text.

    Args:
        schema: The file's schema.
        path: The file, for the error message.
        text_column: The column the user named, or None to auto-detect ``text`` or
            ``review`` (exact name first, then ignoring case).

    Returns:
        The column's name as spelled in the file.

    Raises:
        DataError: If the column is absent; the message lists the columns found.
    """
    names = list(schema.names)
    if text_column is not None:
        if text_column in names:
            return text_column
        raise DataError(
            f"Input {path} has no column '{text_column}' (columns: {', '.join(names) or 'none'}); "
            "pass --text-column with one of them."
        )
    for candidate in TEXT_COLUMN_CANDIDATES:
        if candidate in names:
            return candidate
    for candidate in TEXT_COLUMN_CANDIDATES:
        for name in names:
            if name.lower() == candidate:
                return name
    raise DataError(
        f"Input {path} has no 'text' or 'review' column (columns: {', '.join(names) or 'none'}); "
        "pass --text-column naming the column that holds the review text."
    )


def is_text_type(data_type: pa.DataType) -> bool:
    """Whether a column of this type can hold review text (strings, UTF-8 bytes, or all
    nulls)."""
    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    return (
        pa.types.is_string(data_type)
        or pa.types.is_binary(data_type)
        or pa.types.is_large_binary(data_type)
        or pa.types.is_large_string(data_type)
        or pa.types.is_string_view(data_type)
        or pa.types.is_null(data_type)
    )


class _BoundedFile:
    """At most ``limit`` bytes of an open binary file, from its current position."""

    def __init__(self, handle: BinaryIO, limit: int) -> None:
        self._handle = handle
        self._left = limit

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        size = self._left if size < 0 else min(size, self._left)
        data = self._handle.read(size)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._handle.close()


class BatchReader:
    """Streams one input file as record batches of at most about ``batch_rows`` rows.

    Use as a context manager. ``schema`` is known after opening; ``fraction_done`` is the
    share of the file consumed so far; after the last batch, :meth:`fingerprint` is the
    fingerprint of exactly the bytes that were read (the whole file).

    CSV and JSON lines are cut into chunks of whole records (:mod:`sentiment.reading.chunks`)
    and parsed chunk by chunk, so a record may be any size up to
    :data:`~sentiment.reading.chunks.MAX_RECORD_BYTES` and nothing after the first block
    can change the schema. JSON lines are read twice: once for the schema of the whole
    file, once for the rows; both reads must hash the same.
    """

    def __init__(
        self,
        input_file: InputFile,
        batch_rows: int = 8192,
        text_column: str | None = None,
        block_bytes: int = DEFAULT_BLOCK_BYTES,
        rows: tuple[int, int] | None = None,
        byte_range: tuple[int, int, int] | None = None,
        schema: pa.Schema | None = None,
        first_row: int = 0,
    ) -> None:
        if rows is not None and input_file.format != "parquet":
            raise ValueError("only Parquet inputs are read by row range")
        if byte_range is not None and (
            input_file.format == "parquet" or input_file.compressed or schema is None
        ):
            raise ValueError("only plain CSV or JSON lines, with a schema, are read by byte range")
        # A shard of a large CSV or JSON-lines file: bytes [start, stop) of whole records
        # beginning on line ``first line``, parsed with the whole file's schema (the CSV
        # header's names, or the JSON fields scanned once by the run).
        self.byte_range = byte_range
        self._given_schema = schema
        self.input_file = input_file
        # A shard of a large Parquet file: rows [start, stop) only, not hashed here (the
        # run hashes the whole file once, before and after its shards).
        self.rows = rows
        # Batches end at multiples of batch_rows counted from the file's first row, so
        # a shard's batches are the whole file's (see _aligned).
        self.first_row = rows[0] if rows is not None else first_row
        self.batch_rows = batch_rows
        self.block_bytes = block_bytes
        self._requested_column = text_column
        self._parquet: pq.ParquetFile | None = None
        self._hashing: HashingFile | None = None
        self._stream: BinaryIO | None = None
        self._first_chunk: Chunk | None = None
        self._pending_chunks: Iterator[Chunk] = iter(())
        self._csv_names: list[str] = []
        self._header_bytes = 0
        self._size = max(1, storage.size(input_file.path))
        self._rows_read = 0
        self._fingerprint: str | None = None
        self._first_pass_fingerprint: str | None = None
        self._parsed_tables: list[pa.Table] | None = None
        self.num_rows: int | None = None
        self.schema: pa.Schema = pa.schema([])
        self.text_column: str = ""

    @property
    def size_bytes(self) -> int:
        """The file's size on disk when it was opened."""
        return self._size

    @property
    def empty(self) -> bool:
        """Whether the file holds nothing at all (an empty file): zero rows to score.

        JSON lines of objects without fields (``{}``) are rows, not an empty file: they
        fail for want of a text column instead of vanishing from the output.
        """
        return not self.schema.names and not self.num_rows

    def __enter__(self) -> BatchReader:
        try:
            self._open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exception_type: type[BaseException] | None,
        exception: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the file handles."""
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        self._close_text_stream()

    def _close_text_stream(self) -> None:
        if self._stream is not None and self._stream is not self._hashing:
            self._stream.close()  # closes a shard's own handle too
        if self._hashing is not None:
            self._hashing.close()
        self._stream = None
        self._hashing = None

    def _open_text_stream(self) -> BinaryIO:
        self._close_text_stream()
        if self.byte_range is not None:
            start, stop, _ = self.byte_range
            handle = storage.open_input(self.input_file.path)
            handle.seek(start)
            self._stream = _BoundedFile(handle, stop - start)  # type: ignore[assignment]
            return self._stream  # type: ignore[return-value]
        self._hashing = HashingFile(self.input_file.path)
        if self.input_file.compressed:
            # GzipFile checks the trailer's CRC and length, so a cut archive fails.
            self._stream = gzip.GzipFile(fileobj=self._hashing, mode="rb")  # type: ignore[assignment]
        else:
            self._stream = self._hashing  # type: ignore[assignment]
        return self._stream  # type: ignore[return-value]

    def _chunks(self) -> Iterator[Chunk]:
        stream = self._open_text_stream()
        kind = "csv" if self.input_file.format == "csv" else "jsonl"
        first_line = self.byte_range[2] if self.byte_range is not None else 1
        chunks = record_chunks(
            stream, kind, self.input_file.path, self.block_bytes, first_line=first_line
        )
        return _gzip_checked(chunks, self.input_file.path) if self.input_file.compressed else chunks

    def _finish_text_stream(self) -> str:
        if self.byte_range is not None:
            self._close_text_stream()
            return ""  # a shard: the run hashes the whole file before and after
        assert self._hashing is not None
        if self.input_file.compressed:
            # Whatever gzip left unread is part of the file; plain files were read to
            # their end already, and bytes appended since must not be hashed unparsed.
            self._hashing.drain()
        fingerprint = self._hashing.fingerprint()
        self._close_text_stream()
        return fingerprint

    def _open(self) -> None:
        path = self.input_file.path
        if self.input_file.format == "parquet":
            # Hashed before reading; the scorer hashes again after, and both must agree.
            if self.rows is None:
                self._fingerprint = content_fingerprint(path)
            # Buffered column reads: a huge row group is decoded page by page instead of
            # being loaded whole, so memory stays flat whatever the writer chose.
            filesystem, where = storage.filesystem(path)
            self._parquet = pq.ParquetFile(
                where, filesystem=filesystem, buffer_size=1 << 20, pre_buffer=False
            )
            self.schema = self._parquet.schema_arrow
            self.num_rows = self._parquet.metadata.num_rows
            if self.rows is not None:
                self.num_rows = max(0, min(self.rows[1], self.num_rows) - self.rows[0])
        elif self.input_file.format == "csv" and self.byte_range is not None:
            assert self._given_schema is not None
            self.schema = self._given_schema
            self._csv_names = list(self.schema.names)
            chunks = self._chunks()
            self._pending_chunks = chunks
            self._first_chunk = next(chunks, None)
        elif self.input_file.format == "csv":
            chunks = self._chunks()
            self._pending_chunks = chunks
            self._first_chunk = _first_csv_chunk(chunks)
            if self._first_chunk is not None:
                self._csv_names, self._header_bytes = csv_header(self._first_chunk, path)
                self.schema = csv_schema(self._csv_names)
        elif self.byte_range is not None:
            assert self._given_schema is not None
            self.schema = self._given_schema
        else:
            scan = JsonSchemaScan(path)
            for chunk in self._chunks():
                scan.add(chunk)
            self._first_pass_fingerprint = self._finish_text_stream()
            self.schema = scan.schema()
            self.num_rows = scan.rows
            self._parsed_tables = scan.parsed_tables(self.schema)
        if self.empty:
            return
        self.text_column = choose_text_column(self.schema, path, self._requested_column)
        if len(self.schema.get_all_field_indices(self.text_column)) > 1:
            raise DataError(
                f"Input {path} has the column '{self.text_column}' twice; rename one of them "
                "so the review text is unambiguous."
            )
        text_type = self.schema.field(self.text_column).type
        if not is_text_type(text_type):
            raise DataError(
                f"Input {path} column '{self.text_column}' holds {text_type}, not text; "
                "pass --text-column naming the column that holds the review text."
            )

    def fraction_done(self) -> float:
        """Share of the file read so far, between 0 and 1."""
        # By rows where they are known and no stream is being read: Parquet, and JSON
        # lines served from their schema pass.
        if self.num_rows is not None and (
            self.input_file.format == "parquet" or self._hashing is None
        ):
            return min(1.0, self._rows_read / max(1, self.num_rows))
        if self._hashing is None:
            return 1.0 if self._fingerprint is not None else 0.0
        return min(1.0, self._hashing.bytes_read / self._size)

    def fingerprint(self) -> str:
        """The fingerprint of the bytes read (call after the last batch).

        Raises:
            InputChangedError: If the two reads of a JSON-lines file saw different bytes.
        """
        if self._fingerprint is None:
            raise RuntimeError("read every batch before asking for the fingerprint")
        if self._first_pass_fingerprint not in (None, self._fingerprint):
            raise InputChangedError(
                f"Input {self.input_file.path} changed while it was being scored; no output "
                "was kept, so score it again once whatever writes it has finished."
            )
        return self._fingerprint

    def _tables(self) -> Iterator[pa.Table]:
        path = self.input_file.path
        if self.input_file.format == "csv":
            if self._first_chunk is None:
                self._fingerprint = self._finish_text_stream()
                return
            first = self._first_chunk
            self._first_chunk = None
            header_lines = line_breaks(first.data, 0, self._header_bytes)
            yield parse_csv_chunk(
                first.data[self._header_bytes :],
                self._csv_names,
                path,
                first.first_line + header_lines,
            )
            for chunk in self._pending_chunks:
                yield parse_csv_chunk(chunk.data, self._csv_names, path, chunk.first_line)
        elif self._parsed_tables is not None:
            # Parsed by the schema pass already: these rows are exactly the bytes it hashed.
            yield from self._parsed_tables
            self._parsed_tables = None
            self._fingerprint = self._first_pass_fingerprint
            return
        else:
            for chunk in self._chunks():
                yield parse_json_chunk(chunk, self.schema, path)
        self._fingerprint = self._finish_text_stream()

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return _aligned(self._batches(), self.first_row, self.batch_rows)

    def _batches(self) -> Iterator[pa.RecordBatch]:
        if self._parquet is not None:
            for batch in self._parquet_batches():
                self._rows_read += batch.num_rows
                self._check_text(batch)
                yield batch
            return
        for table in self._tables():
            for batch in table.to_batches(max_chunksize=self.batch_rows):
                if batch.schema != self.schema:
                    batch = pa.RecordBatch.from_arrays(batch.columns, schema=self.schema)
                self._rows_read += batch.num_rows
                yield batch

    def _parquet_batches(self) -> Iterator[pa.RecordBatch]:
        assert self._parquet is not None
        if self.rows is None:
            yield from self._parquet.iter_batches(batch_size=self.batch_rows)
            return
        start, stop = self.rows
        metadata = self._parquet.metadata
        selected, first_row, position = [], None, 0
        for index in range(metadata.num_row_groups):
            count = metadata.row_group(index).num_rows
            if position < stop and position + count > start:
                selected.append(index)
                first_row = position if first_row is None else first_row
            position += count
        if not selected or first_row is None:
            return
        # Rows of a shard that starts inside a row group are decoded and dropped: Parquet
        # cannot seek to a row, and reading is a small share of scoring a row.
        position = first_row
        for batch in self._parquet.iter_batches(batch_size=self.batch_rows, row_groups=selected):
            low, high = max(start, position), min(stop, position + batch.num_rows)
            position += batch.num_rows
            if high > low:
                yield batch.slice(low - (position - batch.num_rows), high - low)
            if position >= stop:
                return

    def _check_text(self, batch: pa.RecordBatch) -> None:
        """Bytes in the text column must be UTF-8 text; name the first row that is not.

        Parquet string columns are checked too: writers (Arrow included) can store
        values that are not UTF-8, and a full check costs ~0.1 ms per MB.
        """
        column = batch.column(self.schema.get_field_index(self.text_column))
        if pa.types.is_dictionary(column.type):
            values = column.dictionary  # the few distinct values
            try:
                if pa.types.is_binary(values.type) or pa.types.is_large_binary(values.type):
                    values.cast(pa.string())
                else:
                    values.validate(full=True)
                return
            except pa.ArrowInvalid:
                column = column.dictionary_decode()  # to name the first row using a bad one
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            try:
                column.validate(full=True)
                return
            except pa.ArrowInvalid:
                binary = pa.large_binary() if pa.types.is_large_string(column.type) else pa.binary()
                column = column.view(binary)
        elif not (pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type)):
            return
        try:
            column.cast(pa.string())
        except pa.ArrowInvalid:
            for offset, value in enumerate(column.to_pylist()):
                try:
                    if value is not None:
                        value.decode("utf-8")
                except UnicodeDecodeError as error:
                    first = (self.rows[0] if self.rows else 0) + self._rows_read - batch.num_rows
                    row = first + offset + 1
                    raise DataError(
                        f"Input {self.input_file.path} column '{self.text_column}' row {row} "
                        f"holds bytes that are not UTF-8 text ({error.reason}); store the "
                        "reviews as UTF-8."
                    ) from error
            raise


def _gzip_checked(chunks: Iterator[Chunk], path: Location) -> Iterator[Chunk]:
    """``chunks``, a damaged gzip stream failing in one sentence instead of zlib's words."""
    try:
        yield from chunks
    except (gzip.BadGzipFile, zlib.error, EOFError) as error:
        raise DataError(
            f"Input {path} is not a complete gzip file ({error}); compress or fetch it again."
        ) from error


def _first_csv_chunk(chunks: Iterator[Chunk]) -> Chunk | None:
    """The first chunk of a CSV file holding its header: chunks of only blank lines (and
    a byte-order mark) before it are joined to it, as Python's csv module skips them."""
    first = next(chunks, None)
    while first is not None and not first.last:
        if first.data.removeprefix(BYTE_ORDER_MARK).strip(b"\r\n"):
            break
        following = next(chunks, None)
        if following is None:
            break
        first = Chunk(first.data + following.data, first.first_line, following.last)
    return first


def _aligned(
    batches: Iterator[pa.RecordBatch], first_row: int, size: int
) -> Iterator[pa.RecordBatch]:
    """Re-cut batches so each ends at a multiple of ``size`` rows from the file's start.

    A neural network's score for a row moves in its last bits with the batch the row is
    predicted in, so a run must cut batches at the same rows whether it reads the whole
    file or a shard starting at ``first_row``; readers otherwise restart their batches
    at every chunk, row group or shard. Holds fewer than ``size`` rows back.
    """
    pending: list[pa.RecordBatch] = []
    position = first_row
    boundary = (first_row // size + 1) * size
    for batch in batches:
        offset = 0
        while offset < batch.num_rows:
            take = min(batch.num_rows - offset, boundary - position)
            pending.append(batch if take == batch.num_rows else batch.slice(offset, take))
            offset += take
            position += take
            if position == boundary:
                yield pending[0] if len(pending) == 1 else pa.concat_batches(pending)
                pending = []
                boundary += size
    if pending:
        yield pending[0] if len(pending) == 1 else pa.concat_batches(pending)

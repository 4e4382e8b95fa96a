"""Finding review files to score and reading them in bounded record batches.

Scoring accepts any mix of files, directories and glob patterns naming Parquet, CSV or
JSON-lines files (CSV and JSON lines optionally gzip-compressed). Every reader streams:
Parquet through ``ParquetFile.iter_batches``, CSV and JSON lines in chunks of whole
records, so memory is bounded by the chunk size (and the longest record), never by the
file size. Columns other than the text pass through unchanged: CSV fields as their exact
text, JSON values with their own types.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, BinaryIO, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from sentiment.core import storage
from sentiment.core.errors import ConfigError, DataError
from sentiment.core.storage import Location
from sentiment.scoring.chunks import Chunk, record_chunks
from sentiment.scoring.fingerprint import HashingFile, InputChangedError, content_fingerprint
from sentiment.scoring.textformats import (
    JsonSchemaScan,
    csv_header,
    csv_schema,
    parse_csv_chunk,
    parse_json_chunk,
)

logger = logging.getLogger(__name__)

FileFormat = Literal["parquet", "csv", "jsonl"]

# Longest suffixes first, so "reviews.csv.gz" is gzip CSV, not an unknown ".gz".
SUFFIX_FORMATS: tuple[tuple[str, FileFormat, bool], ...] = (
    (".jsonl.gz", "jsonl", True),
    (".json.gz", "jsonl", True),
    (".csv.gz", "csv", True),
    (".parquet", "parquet", False),
    (".jsonl", "jsonl", False),
    (".json", "jsonl", False),
    (".csv", "csv", False),
)
SUPPORTED_SUFFIXES = tuple(suffix for suffix, _, _ in SUFFIX_FORMATS)
# Columns taken as the review text, in order, when the user names none.
TEXT_COLUMN_CANDIDATES = ("text", "review")
# CSV and JSON blocks of this many bytes hold roughly 10k IMDB reviews.
DEFAULT_BLOCK_BYTES = 16 << 20


@dataclass(frozen=True)
class InputFile:
    """One file to score.

    Attributes:
        path: The file: a local path, or a URL (:mod:`sentiment.core.storage`).
        format: ``parquet``, ``csv`` or ``jsonl``.
        compressed: Whether the file is gzip-compressed.
        output_name: The scored Parquet file's name: the input's whole name, plus
            ``.parquet`` unless it already ends so (``reviews.csv.gz`` ->
            ``reviews.csv.gz.parquet``), so ``reviews.csv`` and ``reviews.csv.gz`` never
            collide.
    """

    path: Location
    format: FileFormat
    compressed: bool
    output_name: str

    def to_manifest(self) -> dict[str, Any]:
        """The file as a small JSON-serializable dict (what tasks pass each other)."""
        return {
            "path": str(self.path),
            "format": self.format,
            "compressed": self.compressed,
            "output_name": self.output_name,
        }

    @classmethod
    def from_manifest(cls, payload: dict[str, Any]) -> InputFile:
        """Rebuild a file from :meth:`to_manifest` (extra keys are ignored)."""
        return cls(
            path=storage.location(payload["path"]),
            format=payload["format"],
            compressed=bool(payload["compressed"]),
            output_name=payload["output_name"],
        )


@dataclass(frozen=True)
class InputFailure:
    """An input that cannot be scored, and why (one sentence naming the fix)."""

    path: str
    reason: str


@dataclass(frozen=True)
class Discovery:
    """The files found for a list of inputs and the inputs rejected up front."""

    inputs: tuple[InputFile, ...]
    failures: tuple[InputFailure, ...]
    # The sizes the listings gave, by location as listed: on an object store a lookup
    # per file would cost a round trip each before any scoring starts.
    listed_sizes: Mapping[str, int] = field(default_factory=dict)

    def manifests(self) -> list[dict[str, Any]]:
        """Each input's manifest plus its size, its share of all the bytes and the
        share before it (what a run's progress bar advances by)."""
        sizes = [self._size(item.path) for item in self.inputs]
        total = float(sum(sizes)) or 1.0
        manifests, done = [], 0.0
        for item, size in zip(self.inputs, sizes, strict=True):
            share = size / total
            manifests.append(
                {**item.to_manifest(), "size": size, "share": share, "progress_offset": done}
            )
            done += share
        return manifests

    def _size(self, path: Location) -> int:
        listed = self.listed_sizes.get(str(path))
        return storage.size(path) if listed is None else listed


def task_groups(
    manifests: Sequence[dict[str, Any]], group_bytes: int, group_files: int
) -> list[list[dict[str, Any]]]:
    """Split a discovery's manifests into the groups one task scores each.

    A task costs the orchestrator tens of milliseconds whatever it does, more than
    scoring a one-row file, so small files go together: in discovery order, a group
    takes files until it holds ``group_bytes`` or ``group_files`` files; a file of
    ``group_bytes`` or more is a group of its own.

    Args:
        manifests: From :meth:`Discovery.manifests` (each has a ``size``).
        group_bytes: Input bytes per group.
        group_files: Files per group at most.

    Returns:
        The groups, in order; every manifest is in exactly one.
    """
    groups: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    current_bytes = 0
    for manifest in manifests:
        size = int(manifest.get("size", 0))
        if current and (current_bytes + size > group_bytes or len(current) >= group_files):
            groups.append(current)
            current, current_bytes = [], 0
        current.append(manifest)
        current_bytes += size
    if current:
        groups.append(current)
    return groups


def detect_format(path: Location) -> tuple[FileFormat, bool, str] | None:
    """Return ``(format, compressed, stem)`` from a file's name, or None if unsupported."""
    name = storage.name(path)
    lowered = name.lower()
    for suffix, file_format, compressed in SUFFIX_FORMATS:
        if lowered.endswith(suffix) and len(name) > len(suffix):
            return file_format, compressed, name[: -len(suffix)]
    return None


def _input_file(path: Location) -> InputFile | None:
    detected = detect_format(path)
    if detected is None:
        return None
    file_format, compressed, _ = detected
    return InputFile(
        path=path, format=file_format, compressed=compressed, output_name=output_name(path)
    )


def output_name(path: Location) -> str:
    """The scored file's name for an input: its whole name, ending in ``.parquet``."""
    name = storage.name(path)
    return name if name.lower().endswith(".parquet") else f"{name}.parquet"


def _is_candidate(path: Location) -> bool:
    # Hidden files include our own half-written temporaries (".tmp-...").
    return not storage.name(path).startswith(".") and detect_format(path) is not None


def discover_inputs(patterns: Sequence[str], output_dir: Location | None = None) -> Discovery:
    """Expand files, directories and glob patterns into the files to score.

    A directory contributes its supported files (not recursively, so two inputs never
    share a relative name by accident); hidden files are skipped, and so are files in
    the output directory that a glob matches (outputs are never inputs). A named
    file inside the output directory is refused, and an input directory that is the
    output directory stops the run.
    Inputs are deduplicated and sorted by path. Each pattern may be a local path or a
    URL (``s3://bucket/dump/``, ``s3://bucket/dump/*.parquet``).
    Problems that concern one input (no match, unsupported suffix, two inputs that
    would write the same output name, an output that would overwrite its input) become
    failures so the rest of the batch still runs.

    Args:
        patterns: Paths, directories or glob patterns, as the user typed them.
        output_dir: Where outputs go; its own files are never taken as inputs from a
            directory scan, and no output may replace an input.

    Returns:
        The inputs to score and the failures found while expanding.

    Raises:
        ConfigError: If an input directory is the output directory (a setting to
            change, refused before anything is written there).
    """
    failures: list[InputFailure] = []
    found: dict[str, InputFile] = {}
    listed_sizes: dict[str, int] = {}
    resolved_output = storage.resolve(output_dir) if output_dir is not None else None

    def in_output(path: Location) -> bool:
        return resolved_output is not None and storage.same(
            storage.parent(storage.resolve(path)), resolved_output
        )

    def remember(entries: list[storage.Entry]) -> list[Location]:
        """Keep the listed entries' sizes; return their locations."""
        for entry in entries:
            listed_sizes[str(entry.location)] = entry.size
        return [entry.location for entry in entries]

    def add(path: Location, explicit: bool) -> None:
        input_file = _input_file(path)
        if input_file is None:
            if explicit:
                failures.append(
                    InputFailure(
                        str(path),
                        f"Input {path} has an unsupported file type; use one of "
                        f"{', '.join(SUPPORTED_SUFFIXES)}.",
                    )
                )
            return
        found.setdefault(storage.identity(path), input_file)

    for pattern in patterns:
        where = storage.location(pattern)
        if storage.is_pattern(str(where)) and not storage.exists(where):
            matches = storage.glob_entries(str(where))
            # The outputs of this or an earlier run are never inputs, whatever the pattern.
            files = remember(
                [
                    entry
                    for entry in matches
                    if _is_candidate(entry.location) and not in_output(entry.location)
                ]
            )
            if not files:
                failures.append(
                    InputFailure(
                        pattern,
                        f"Input pattern {pattern} matches no {'/'.join(SUPPORTED_SUFFIXES)} "
                        "file; check the pattern or quote it so the shell does not expand it.",
                    )
                )
            for match in files:
                add(match, explicit=False)
            continue
        path = where
        if storage.is_dir(path):
            if resolved_output is not None and storage.same(path, resolved_output):
                raise ConfigError(
                    f"Input directory {path} is also the output directory; choose another "
                    "--output so outputs are never taken for inputs."
                )
            children = remember(
                [entry for entry in storage.list_files(path) if _is_candidate(entry.location)]
            )
            if not children:
                failures.append(
                    InputFailure(
                        str(path),
                        f"Input directory {path} holds no {'/'.join(SUPPORTED_SUFFIXES)} file "
                        "to score; point at the directory that holds the review files.",
                    )
                )
            for child in children:
                add(child, explicit=False)
        elif storage.is_file(path):
            add(path, explicit=True)
        else:
            failures.append(
                InputFailure(
                    str(path), f"Input {path} does not exist; check the path and try again."
                )
            )

    inputs = sorted(found.values(), key=lambda item: str(item.path))
    by_output: dict[str, list[InputFile]] = {}
    for input_file in inputs:
        by_output.setdefault(input_file.output_name, []).append(input_file)
    kept: list[InputFile] = []
    for output_name, group in by_output.items():
        if len(group) > 1:
            names = ", ".join(str(item.path) for item in group)
            for item in group:
                failures.append(
                    InputFailure(
                        str(item.path),
                        f"Inputs {names} would all be written to {output_name}; rename one "
                        "of them or score them into different --output directories.",
                    )
                )
            continue
        input_file = group[0]
        if resolved_output is not None and storage.same(
            storage.join(resolved_output, output_name), input_file.path
        ):
            failures.append(
                InputFailure(
                    str(input_file.path),
                    f"Scoring {input_file.path} into {output_dir} would overwrite the input; "
                    "choose another --output directory.",
                )
            )
            continue
        if in_output(input_file.path):
            failures.append(
                InputFailure(
                    str(input_file.path),
                    f"Input {input_file.path} lies in the output directory {output_dir}; "
                    "choose another --output so outputs are never taken for inputs.",
                )
            )
            continue
        kept.append(input_file)
    kept.sort(key=lambda item: str(item.path))
    return Discovery(inputs=tuple(kept), failures=tuple(failures), listed_sizes=listed_sizes)


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

    CSV and JSON lines are cut into chunks of whole records (:mod:`sentiment.scoring.chunks`)
    and parsed chunk by chunk, so a record may be any size up to
    :data:`~sentiment.scoring.chunks.MAX_RECORD_BYTES` and nothing after the first block
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
        self.num_rows: int | None = None
        self.schema: pa.Schema = pa.schema([])
        self.text_column: str = ""

    @property
    def size_bytes(self) -> int:
        """The file's size on disk when it was opened."""
        return self._size

    @property
    def empty(self) -> bool:
        """Whether the file holds no columns at all (an empty file): zero rows to score."""
        return not self.schema.names

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
        return record_chunks(
            stream, kind, self.input_file.path, self.block_bytes, first_line=first_line
        )

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
            self._first_chunk = next(chunks, None)
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
        if self.num_rows is not None and self.input_file.format == "parquet":
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
            header_lines = first.data.count(b"\n", 0, self._header_bytes)
            yield parse_csv_chunk(
                first.data[self._header_bytes :],
                self._csv_names,
                path,
                first.first_line + header_lines,
            )
            for chunk in self._pending_chunks:
                yield parse_csv_chunk(chunk.data, self._csv_names, path, chunk.first_line)
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

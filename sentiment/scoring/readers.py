"""Finding review files to score and reading them in bounded record batches.

Scoring accepts any mix of files, directories and glob patterns naming Parquet, CSV or
JSON-lines files (CSV and JSON lines optionally gzip-compressed). Every reader streams:
Parquet through ``ParquetFile.iter_batches``, CSV and JSON lines through pyarrow's block
readers, so memory is bounded by the batch size, never by the file size.
"""

from __future__ import annotations

import glob
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from sentiment.core.errors import DataError

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
_GLOB_CHARACTERS = frozenset("*?[")


@dataclass(frozen=True)
class InputFile:
    """One file to score.

    Attributes:
        path: The file.
        format: ``parquet``, ``csv`` or ``jsonl``.
        compressed: Whether the file is gzip-compressed.
        output_name: The scored Parquet file's name: the input's whole name, plus
            ``.parquet`` unless it already ends so (``reviews.csv.gz`` ->
            ``reviews.csv.gz.parquet``), so ``reviews.csv`` and ``reviews.csv.gz`` never
            collide.
    """

    path: Path
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
            path=Path(payload["path"]),
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

    def manifests(self) -> list[dict[str, Any]]:
        """Each input's manifest plus its size, its share of all the bytes and the
        share before it (what a run's progress bar advances by)."""
        sizes = [item.path.stat().st_size for item in self.inputs]
        total = float(sum(sizes)) or 1.0
        manifests, done = [], 0.0
        for item, size in zip(self.inputs, sizes, strict=True):
            share = size / total
            manifests.append(
                {**item.to_manifest(), "size": size, "share": share, "progress_offset": done}
            )
            done += share
        return manifests


def detect_format(path: Path) -> tuple[FileFormat, bool, str] | None:
    """Return ``(format, compressed, stem)`` from a file's name, or None if unsupported."""
    name = path.name
    lowered = name.lower()
    for suffix, file_format, compressed in SUFFIX_FORMATS:
        if lowered.endswith(suffix) and len(name) > len(suffix):
            return file_format, compressed, name[: -len(suffix)]
    return None


def _input_file(path: Path) -> InputFile | None:
    detected = detect_format(path)
    if detected is None:
        return None
    file_format, compressed, _ = detected
    return InputFile(
        path=path, format=file_format, compressed=compressed, output_name=output_name(path)
    )


def output_name(path: Path) -> str:
    """The scored file's name for an input: its whole name, ending in ``.parquet``."""
    return path.name if path.name.lower().endswith(".parquet") else f"{path.name}.parquet"


def _is_candidate(path: Path) -> bool:
    # Hidden files include our own half-written temporaries (".tmp-...").
    return path.is_file() and not path.name.startswith(".") and detect_format(path) is not None


def discover_inputs(patterns: Sequence[str], output_dir: Path | None = None) -> Discovery:
    """Expand files, directories and glob patterns into the files to score.

    A directory contributes its supported files (not recursively, so two inputs never
    share a relative name by accident); hidden files and, when the output directory is
    scanned, files inside it are skipped. Inputs are deduplicated and sorted by path.
    Problems that concern one input (no match, unsupported suffix, two inputs that
    would write the same output name, an output that would overwrite its input) become
    failures so the rest of the batch still runs.

    Args:
        patterns: Paths, directories or glob patterns, as the user typed them.
        output_dir: Where outputs go; its own files are never taken as inputs from a
            directory scan, and no output may replace an input.

    Returns:
        The inputs to score and the failures found while expanding.
    """
    failures: list[InputFailure] = []
    found: dict[Path, InputFile] = {}
    resolved_output = output_dir.resolve() if output_dir is not None else None

    def add(path: Path, explicit: bool) -> None:
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
        found.setdefault(path.resolve(), input_file)

    for pattern in patterns:
        if (
            any(character in pattern for character in _GLOB_CHARACTERS)
            and not Path(pattern).exists()
        ):
            matches = sorted(Path(match) for match in glob.glob(pattern, recursive=True))
            files = [match for match in matches if _is_candidate(match)]
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
        path = Path(pattern)
        if path.is_dir():
            children = sorted(child for child in path.iterdir() if _is_candidate(child))
            if resolved_output is not None and path.resolve() == resolved_output:
                children = []
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
        elif path.is_file():
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
        if (
            resolved_output is not None
            and (resolved_output / output_name).resolve() == input_file.path.resolve()
        ):
            failures.append(
                InputFailure(
                    str(input_file.path),
                    f"Scoring {input_file.path} into {output_dir} would overwrite the input; "
                    "choose another --output directory.",
                )
            )
            continue
        kept.append(input_file)
    kept.sort(key=lambda item: str(item.path))
    return Discovery(inputs=tuple(kept), failures=tuple(failures))


def choose_text_column(schema: pa.Schema, path: Path, text_column: str | None) -> str:
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
    """Whether a column of this type can hold review text (strings, or all nulls)."""
    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    return (
        pa.types.is_string(data_type)
        or pa.types.is_large_string(data_type)
        or pa.types.is_string_view(data_type)
        or pa.types.is_null(data_type)
    )


class BatchReader:
    """Streams one input file as record batches of at most about ``batch_rows`` rows.

    Use as a context manager. ``schema`` is known after opening; ``fraction_done`` is the
    share of the file consumed so far (rows for Parquet, bytes for CSV/JSON lines).
    """

    def __init__(
        self,
        input_file: InputFile,
        batch_rows: int = 8192,
        text_column: str | None = None,
        block_bytes: int = DEFAULT_BLOCK_BYTES,
    ) -> None:
        self.input_file = input_file
        self.batch_rows = batch_rows
        self.block_bytes = block_bytes
        self._requested_column = text_column
        self._raw: pa.NativeFile | None = None
        self._parquet: pq.ParquetFile | None = None
        self._stream: pa.ipc.RecordBatchReader | None = None
        self._size = max(1, input_file.path.stat().st_size)
        self._rows_read = 0
        self.num_rows: int | None = None
        self.schema: pa.Schema = pa.schema([])
        self.text_column: str = ""

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
        if self._raw is not None and not self._raw.closed:
            self._raw.close()
        self._raw = None
        self._stream = None

    def _open_text_stream(self) -> pa.NativeFile:
        if self._raw is not None and not self._raw.closed:
            self._raw.close()
        self._raw = pa.OSFile(str(self.input_file.path), "rb")
        if self.input_file.compressed:
            return pa.CompressedInputStream(self._raw, "gzip")
        return self._raw

    def _open_csv(self, column_types: dict[str, pa.DataType]) -> pa.ipc.RecordBatchReader:
        return pa_csv.open_csv(
            self._open_text_stream(),
            read_options=pa_csv.ReadOptions(block_size=self.block_bytes),
            # Reviews may hold line breaks inside quoted fields.
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(column_types=column_types),
        )

    def _open(self) -> None:
        path = self.input_file.path
        if self.input_file.format == "parquet":
            # Buffered column reads: a huge row group is decoded page by page instead of
            # being loaded whole, so memory stays flat whatever the writer chose.
            self._parquet = pq.ParquetFile(path, buffer_size=1 << 20, pre_buffer=False)
            self.schema = self._parquet.schema_arrow
            self.num_rows = self._parquet.metadata.num_rows
        elif self.input_file.format == "csv":
            self._stream = self._open_csv({})
            self.schema = self._stream.schema
        else:
            self._stream = pa_json.open_json(
                self._open_text_stream(),
                read_options=pa_json.ReadOptions(block_size=self.block_bytes),
            )
            self.schema = self._stream.schema
        self.text_column = choose_text_column(self.schema, path, self._requested_column)
        text_type = self.schema.field(self.text_column).type
        if self.input_file.format == "csv" and not pa.types.is_string(text_type):
            # CSV has no types: a text column inferred as numbers (or all empty) is still
            # text, and pinning it avoids a type change between blocks.
            self._stream = self._open_csv({self.text_column: pa.string()})
            self.schema = self._stream.schema
            text_type = self.schema.field(self.text_column).type
        if not is_text_type(text_type):
            raise DataError(
                f"Input {path} column '{self.text_column}' holds {text_type}, not text; "
                "pass --text-column naming the column that holds the review text."
            )

    def fraction_done(self) -> float:
        """Share of the file read so far, between 0 and 1."""
        if self.num_rows is not None:
            return min(1.0, self._rows_read / max(1, self.num_rows))
        if self._raw is None or self._raw.closed:
            return 1.0
        return min(1.0, self._raw.tell() / self._size)

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        if self._parquet is not None:
            for batch in self._parquet.iter_batches(batch_size=self.batch_rows):
                self._rows_read += batch.num_rows
                yield batch
            return
        assert self._stream is not None, "open the reader with 'with' first"
        for block in self._stream:
            # A CSV/JSON block may hold more rows than one batch should.
            for start in range(0, block.num_rows, self.batch_rows):
                batch = block.slice(start, self.batch_rows)
                self._rows_read += batch.num_rows
                yield batch

"""Parsing CSV and JSON-lines chunks without changing a value, and naming bad lines.

CSV has no types, so every CSV column is read as the exact text of its fields: ``007``
stays ``007``, ``N/A`` and ``true`` stay strings and an empty field is an empty string,
never null. JSON has types, and they are kept: the whole file's schema is gathered
first (a field may first appear, or stop being null, anywhere), then every chunk is
parsed with it. A value that would not survive (an integer beyond 64 bits, or one that
a double would round) fails the file naming its line and column.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json

from sentiment.core.errors import DataError
from sentiment.reading.chunks import (
    MAX_JSON_DEPTH,
    Chunk,
    header_span,
    line_breaks,
    too_deep_offset,
)

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# Doubles hold every integer up to 2**53 exactly.
_EXACT_IN_DOUBLE = 2**53
# A run of 16 digits or more may be an integer a double cannot hold; its line is parsed
# to see. Runs are found by mapping every digit to "0" and searching for sixteen of them
# (C speed over the whole chunk), not line by line: digits inside review text match too.
_ZERO_DIGITS = bytes.maketrans(b"123456789", b"000000000")
_SIXTEEN_DIGITS = b"0" * 16
# Tables parsed by the schema pass are kept up to this many bytes, so a JSON-lines file
# that fits is parsed once instead of twice (docs/performance.md, "Reading JSON lines").
KEPT_TABLE_BYTES = 256 << 20


# --- CSV --------------------------------------------------------------------------------


def csv_header(first_chunk: Chunk, path: Path) -> tuple[list[str], int]:
    """The column names of a CSV file and the byte length of its header record (with
    the byte-order mark and blank lines before it, which Python's csv module skips)."""
    data = first_chunk.data
    start, end = header_span(data)
    try:
        text = data[start:end].decode("utf-8")
    except UnicodeDecodeError as error:
        raise DataError(
            f"Input {path} line 1 (the header) is not valid UTF-8 ({error.reason}); save the "
            "file as UTF-8."
        ) from error
    names = next(csv.reader(io.StringIO(text, newline="")), [])
    return names, end


def parse_csv_chunk(data: bytes, names: list[str], path: Path, first_line: int) -> pa.Table:
    """Parse whole CSV records into a table of string columns, every value as written.

    Raises:
        DataError: Naming the absolute line (and column) of the first bad record.
    """
    schema = csv_schema(names)
    if not data.strip(b"\r\n"):
        return schema.empty_table()
    try:
        return pa_csv.read_csv(
            io.BytesIO(data),
            read_options=pa_csv.ReadOptions(
                column_names=names, block_size=len(data) + 1, use_threads=False
            ),
            # Reviews may hold line breaks inside quoted fields.
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                null_values=[],
            ),
        )
    except pa.ArrowInvalid as error:
        raise _csv_problem(data, names, path, first_line, error) from error


def csv_schema(names: list[str]) -> pa.Schema:
    """A CSV file's schema: one string column per header name."""
    return pa.schema([pa.field(name, pa.string()) for name in names])


def _csv_problem(
    data: bytes, names: list[str], path: Path, first_line: int, error: Exception
) -> DataError:
    text = data.decode("utf-8", errors="surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""))
    line = first_line
    try:
        for record in reader:
            for index, value in enumerate(record):
                if any("\udc80" <= character <= "\udcff" for character in value):
                    column = names[index] if index < len(names) else f"#{index + 1}"
                    return DataError(
                        f"Input {path} line {line} column '{column}' is not valid UTF-8; save "
                        "the file as UTF-8."
                    )
            if record and len(record) != len(names):
                return DataError(
                    f"Input {path} line {line} has {len(record)} fields but the header has "
                    f"{len(names)}; quote fields that hold commas or line breaks."
                )
            line = first_line + reader.line_num
    except csv.Error as problem:
        return DataError(f"Input {path} line {line} is not valid CSV ({problem}); fix that line.")
    detail = " ".join(str(error).split())[:200]
    return DataError(
        f"Input {path} has a CSV record pyarrow cannot parse between lines {first_line} and "
        f"{first_line + line_breaks(data)} ({detail}); fix that record."
    )


# --- JSON lines ---------------------------------------------------------------------------


def _kept_type(data_type: pa.DataType) -> pa.DataType:
    """The type a JSON value keeps: pyarrow's inferred timestamps were strings."""
    if pa.types.is_timestamp(data_type):
        return pa.string()
    if pa.types.is_struct(data_type):
        return pa.struct([field.with_type(_kept_type(field.type)) for field in data_type])
    if pa.types.is_list(data_type):
        return pa.list_(data_type.value_field.with_type(_kept_type(data_type.value_type)))
    return data_type


def _json_kinds(data_type: pa.DataType) -> tuple[type, ...]:
    """The Python types of JSON values that a column of ``data_type`` holds."""
    if pa.types.is_boolean(data_type):
        return (bool,)
    if pa.types.is_integer(data_type):
        return (int,)
    if pa.types.is_floating(data_type):
        return (int, float)
    if pa.types.is_string(data_type):
        return (str,)
    if pa.types.is_struct(data_type):
        return (dict,)
    if pa.types.is_list(data_type):
        return (list,)
    return ()


def _kind_name(value: Any) -> str:
    return {bool: "true/false", int: "a number", float: "a number", str: "a string"}.get(
        type(value), "an object" if isinstance(value, dict) else "a list"
    )


def _lines(chunk: Chunk) -> Iterable[tuple[int, bytes]]:
    for offset, line in enumerate(chunk.data.split(b"\n")):
        if line.strip():
            yield chunk.first_line + offset, line


def _line_problem(chunk: Chunk, path: Path) -> DataError | None:
    """The first line of the chunk that is not a JSON object, as an error."""
    lines = chunk.data.split(b"\n")
    for offset, line in enumerate(lines):
        if not line.strip():
            continue
        number = chunk.first_line + offset
        try:
            value = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            unfinished = chunk.last and offset == len(lines) - 1
            hint = (
                "; it is the last line and has no line break, so the file looks cut short"
                if unfinished
                else ""
            )
            return DataError(
                f"Input {path} line {number} is not a complete JSON object "
                f"({getattr(error, 'msg', error)}){hint}; fix that line or fetch the file again."
            )
        if not isinstance(value, dict):
            return DataError(
                f"Input {path} line {number} holds {_kind_name(value)}, not a JSON object; "
                "JSON-lines inputs hold one object per line."
            )
    return None


def _value_kinds(value: Any) -> tuple[type, ...]:
    if isinstance(value, bool):
        return (bool,)
    if isinstance(value, int | float):
        return (int, float)
    return (type(value),)


def _fits(value: Any, kinds: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in kinds
    return isinstance(value, kinds)


def _type_problem(
    chunk: Chunk, path: Path, column: str, established: pa.DataType | None
) -> DataError | None:
    """The first line where ``column`` holds a value of another kind than before."""
    kinds = _json_kinds(established) if established is not None else None
    for number, line in _lines(chunk):
        try:
            value = json.loads(line).get(column)
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            continue
        if value is None:
            continue
        if kinds is None:
            kinds = _value_kinds(value)
        elif not _fits(value, kinds):
            return DataError(
                f"Input {path} line {number} column '{column}' holds {_kind_name(value)} where "
                "earlier lines hold another type; give the column one type throughout."
            )
    return None


def _last_line(chunk: Chunk) -> int:
    return chunk.first_line + chunk.data.count(b"\n")


def _check_depth(chunk: Chunk, path: Path) -> None:
    """Refuse nesting no parser survives, before one sees it (chunks.MAX_JSON_DEPTH)."""
    offset = too_deep_offset(chunk.data)
    if offset >= 0:
        line = chunk.first_line + chunk.data.count(b"\n", 0, offset)
        raise DataError(
            f"Input {path} line {line} nests objects or lists more than {MAX_JSON_DEPTH} "
            "levels deep; flatten that record or remove it."
        )


def _read_json(chunk: Chunk, path: Path, schema: pa.Schema | None) -> pa.Table:
    _check_depth(chunk, path)
    data = chunk.data
    return pa_json.read_json(
        io.BytesIO(data),
        read_options=pa_json.ReadOptions(block_size=len(data) + 1, use_threads=False),
        parse_options=pa_json.ParseOptions(
            explicit_schema=schema, unexpected_field_behavior="error" if schema else "infer"
        ),
    )


class JsonSchemaScan:
    """The schema of a whole JSON-lines file, gathered chunk by chunk (the first pass)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fields: dict[str, pa.Field] = {}
        self.rows = 0
        # Integers a double cannot hold exactly: (column path, line, value), first seen.
        self._long_integers: dict[str, tuple[int, int]] = {}
        # What each chunk parsed to, while they fit in KEPT_TABLE_BYTES (None after).
        self._tables: list[pa.Table] | None = []
        self._kept_bytes = 0

    def add(self, chunk: Chunk) -> None:
        """Parse one chunk and widen the schema with what it holds."""
        try:
            table = _read_json(chunk, self.path, None)
        except pa.ArrowInvalid as error:
            raise self._chunk_problem(chunk, error) from error
        self.rows += table.num_rows
        for field in table.schema:
            self._merge(field.with_type(_kept_type(field.type)), chunk)
        self._find_long_integers(chunk)
        if self._tables is not None:
            self._kept_bytes += table.nbytes
            if self._kept_bytes <= KEPT_TABLE_BYTES:
                self._tables.append(table)
            else:
                self._tables = None

    def _chunk_problem(self, chunk: Chunk, error: Exception) -> DataError:
        problem = _line_problem(chunk, self.path)
        if problem is not None:
            return problem
        column = re.search(r"Column\(/([^)/]*)", str(error))
        if column is not None:
            name = column.group(1)
            problem = _type_problem(chunk, self.path, name, None)
            if problem is not None:
                return problem
        detail = " ".join(str(error).split())[:200]
        return DataError(
            f"Input {self.path} lines {chunk.first_line}-{_last_line(chunk)} cannot be read "
            f"as JSON lines ({detail}); give each field one type throughout."
        )

    def _merge(self, field: pa.Field, chunk: Chunk) -> None:
        current = self.fields.get(field.name)
        if current is None or pa.types.is_null(current.type):
            self.fields[field.name] = field
            return
        if pa.types.is_null(field.type) or current.type == field.type:
            return
        types = {current.type, field.type}
        if types == {pa.int64(), pa.float64()}:
            self.fields[field.name] = field.with_type(pa.float64())
            return
        if pa.types.is_nested(current.type) and pa.types.is_nested(field.type):
            try:
                merged = pa.unify_schemas(
                    [pa.schema([current]), pa.schema([field])], promote_options="permissive"
                ).field(field.name)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                merged = None
            if merged is not None:
                self.fields[field.name] = merged
                return
        problem = _type_problem(chunk, self.path, field.name, current.type)
        raise problem or DataError(
            f"Input {self.path} column '{field.name}' holds {current.type} before line "
            f"{chunk.first_line} and {field.type} after; give the column one type throughout."
        )

    def _find_long_integers(self, chunk: Chunk) -> None:
        data = chunk.data
        digits = data.translate(_ZERO_DIGITS)
        position = digits.find(_SIXTEEN_DIGITS)
        while position >= 0:
            start = data.rfind(b"\n", 0, position) + 1
            end = data.find(b"\n", position)
            end = len(data) if end < 0 else end
            number = chunk.first_line + data.count(b"\n", 0, start)
            for column, value in _integers(json.loads(data[start:end])):
                if abs(value) >= _EXACT_IN_DOUBLE:
                    self._long_integers.setdefault(column, (number, value))
            position = digits.find(_SIXTEEN_DIGITS, end)

    def parsed_tables(self, schema: pa.Schema) -> list[pa.Table] | None:
        """The chunks parsed by this pass, as ``schema`` (from :meth:`schema`), if every
        one was kept and needs no change but a column of nulls or an integer column
        widened to doubles; else None, and the file must be parsed again with ``schema``.
        """
        if self._tables is None:
            return None
        conformed = []
        for table in self._tables:
            columns = []
            for field in schema:
                if field.name not in table.column_names:
                    columns.append(pa.nulls(table.num_rows, field.type))
                    continue
                column = table.column(field.name)
                if column.type != field.type:
                    if not (
                        pa.types.is_null(column.type)
                        or (column.type == pa.int64() and field.type == pa.float64())
                    ):
                        return None
                    column = column.cast(field.type)
                columns.append(column)
            conformed.append(pa.Table.from_arrays(columns, schema=schema))
        return conformed

    def schema(self) -> pa.Schema:
        """The file's schema; checks that every integer keeps its exact value in it.

        Raises:
            DataError: If an integer would not fit its column's type.
        """
        schema = pa.schema(list(self.fields.values()))
        for column, (line, value) in self._long_integers.items():
            top = column.split(".")[0]
            data_type = schema.field(top).type if top in schema.names else None
            if not _INT64_MIN <= value <= _INT64_MAX:
                problem = "does not fit a 64-bit integer"
            elif "." not in column and data_type is not None and pa.types.is_floating(data_type):
                problem = "would lose digits in a column that also holds fractions"
            else:
                continue
            raise DataError(
                f"Input {self.path} line {line} column '{column}' holds the integer {value}, which "
                f"{problem}; write it as a string to keep it exactly."
            )
        return schema


def _integers(value: Any, prefix: str = "") -> Iterable[tuple[str, int]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _integers(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for item in value:
            yield from _integers(item, prefix)
    elif isinstance(value, int) and not isinstance(value, bool):
        yield prefix, value


def parse_json_chunk(chunk: Chunk, schema: pa.Schema, path: Path) -> pa.Table:
    """Parse whole JSON lines with the file's schema (from :class:`JsonSchemaScan`)."""
    if not schema.names:
        return schema.empty_table()
    try:
        return _read_json(chunk, path, schema)
    except pa.ArrowInvalid as error:
        problem = _line_problem(chunk, path)
        detail = " ".join(str(error).split())[:200]
        raise problem or DataError(
            f"Input {path} lines {chunk.first_line}-{_last_line(chunk)} "
            f"no longer match the file's schema ({detail}); the file may have changed while "
            "being read, so score it again."
        ) from error

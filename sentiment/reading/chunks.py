"""Cutting CSV and JSON-lines streams into chunks of whole records.

pyarrow's streaming readers fix a file's schema from its first block and cannot hold a
record longer than a block, so a valid file could fail on whatever came after its first
16 MB. Scoring instead cuts the decompressed stream at record boundaries itself (a line
break outside quotes for CSV, any line break for JSON lines), grows a chunk until it
holds at least one whole record, and parses each chunk on its own. Knowing where every
chunk starts also gives absolute line numbers, and knowing the quoting state at the end
of the stream tells a file cut inside a quoted field from a complete one.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import numba
import numpy as np

from sentiment.core.errors import DataError

ChunkKind = Literal["csv", "jsonl"]
# The longest record (one CSV row or JSON line) a file may hold. Memory while scoring
# is a few times the longest record, so this bounds it; IMDB's longest review is 14 KB.
MAX_RECORD_BYTES = 512 << 20

# The CSV scanner's states, following Python's csv module and pyarrow's parser, which
# agree: a quote opens a quoted field only at the start of a field; "" inside quotes is
# a quote; after the closing quote the field goes on unquoted; outside quotes a line
# feed, a carriage return, or the two together end a record (classic Mac files end
# every record with a lone carriage return).
_FIELD_START = 0
_UNQUOTED = 1
_QUOTED = 2
_QUOTE_IN_QUOTED = 3
# A record ended at a carriage return; a line feed right after it belongs to that end.
_AFTER_CARRIAGE_RETURN = 4
_QUOTE = 34
_COMMA = 44
_NEWLINE = 10
_CARRIAGE_RETURN = 13
# What a byte does to the current record (the second value of _csv_step).
_GOES_ON = 0
_ENDS_AFTER = 1  # the record ends after this byte
_ENDS_BEFORE = 2  # the record ended at the carriage return before this byte
BYTE_ORDER_MARK = b"\xef\xbb\xbf"


@numba.njit(cache=True, nogil=True)
def _csv_step(state: int, byte: int) -> tuple[int, int]:
    """The CSV scanner's state after ``byte``, and whether a record ends at it (one of
    ``_GOES_ON``, ``_ENDS_AFTER``, ``_ENDS_BEFORE``)."""
    ends = _GOES_ON
    if state == _AFTER_CARRIAGE_RETURN:
        if byte == _NEWLINE:
            return _FIELD_START, _ENDS_AFTER
        state = _FIELD_START
        ends = _ENDS_BEFORE
    if state == _QUOTED:
        return (_QUOTE_IN_QUOTED if byte == _QUOTE else _QUOTED), _GOES_ON
    if byte == _NEWLINE:
        return _FIELD_START, _ENDS_AFTER
    if byte == _CARRIAGE_RETURN:
        # Whether a line feed follows is known only at the next byte.
        return _AFTER_CARRIAGE_RETURN, ends
    if byte == _COMMA:
        return _FIELD_START, ends
    if byte == _QUOTE:
        # Opens a quoted field at its start; "" inside one is a quote; elsewhere a quote
        # is text.
        if state in (_FIELD_START, _QUOTE_IN_QUOTED):
            return _QUOTED, ends
        return _UNQUOTED, ends
    return _UNQUOTED, ends


@numba.njit(cache=True, nogil=True)
def _scan_csv(data: np.ndarray, start: int, state: int, first_only: bool) -> tuple[int, int, int]:
    """Scan ``data[start:]`` from ``state``; return (end of the last record, or of the
    first with ``first_only``, -1 if none; the state at the end; where the last quoted
    field opened, -1 if none)."""
    boundary = -1
    opened = -1
    for index in range(start, data.size):
        byte = data[index]
        if state == _QUOTED:
            # Most of a file is quoted review text: only a quote changes anything there.
            if byte == _QUOTE:
                state = _QUOTE_IN_QUOTED
            continue
        previous = state
        state, ends = _csv_step(state, byte)
        if state == _QUOTED and previous != _QUOTE_IN_QUOTED:
            opened = index
        if ends != _GOES_ON:
            boundary = index + 1 if ends == _ENDS_AFTER else index
            if first_only:
                return boundary, state, opened
    return boundary, state, opened


@numba.njit(cache=True, nogil=True)
def _csv_record_ends(data: np.ndarray, start: int, state: int) -> tuple[np.ndarray, int]:
    """Every CSV record end in ``data[start:]`` (offsets after their line breaks),
    scanning from ``state``; and the state at the end."""
    ends = np.empty(data.size + 1, dtype=np.int64)
    count = 0
    for index in range(start, data.size):
        byte = data[index]
        if state == _QUOTED:
            if byte == _QUOTE:
                state = _QUOTE_IN_QUOTED
            continue
        state, record_ends = _csv_step(state, byte)
        if record_ends != _GOES_ON:
            ends[count] = index + 1 if record_ends == _ENDS_AFTER else index
            count += 1
    return ends[:count].copy(), state


# JSON nesting deeper than this is refused before any parser sees it: pyarrow's JSON
# parser recurses per level and kills the process (a segmentation fault) near 10,000
# levels, Python's json module raises RecursionError near 1,000, and no review file
# needs more than a few levels.
MAX_JSON_DEPTH = 64
_OPEN_BRACE, _CLOSE_BRACE, _OPEN_BRACKET, _CLOSE_BRACKET = 123, 125, 91, 93
_BACKSLASH = 92


@numba.njit(cache=True, nogil=True)
def _too_deep(data: np.ndarray, bound: int) -> int:
    """The offset of the first bracket that nests deeper than ``bound`` in JSON lines,
    or -1. Brackets inside strings do not count; every line starts at depth 0."""
    depth = 0
    in_string = False
    escaped = False
    for index in range(data.size):
        byte = data[index]
        if byte == _NEWLINE:
            depth = 0
            in_string = False
            escaped = False
        elif in_string:
            if escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in (_OPEN_BRACE, _OPEN_BRACKET):
            depth += 1
            if depth > bound:
                return index
        elif byte in (_CLOSE_BRACE, _CLOSE_BRACKET):
            depth -= 1
    return -1


def too_deep_offset(data: bytes, bound: int = MAX_JSON_DEPTH) -> int:
    """Where JSON lines in ``data`` first nest deeper than ``bound`` levels, or -1."""
    if data.count(b"[") + data.count(b"{") <= bound:
        return -1  # too few brackets to nest that deep: no compiled scan (nor its start-up)
    return int(_too_deep(np.frombuffer(data, np.uint8), bound))


def line_breaks(data: bytes, start: int = 0, stop: int | None = None) -> int:
    """The line breaks in ``data[start:stop]`` as Python counts them: a line feed, a
    carriage return, or the two together."""
    stop = len(data) if stop is None else stop
    feeds = data.count(b"\n", start, stop)
    returns = data.count(b"\r", start, stop)  # most files have none: no third pass
    return feeds + returns - data.count(b"\r\n", start, stop) if returns else feeds


def _line_break_marks(data: np.ndarray, after_carriage_return: bool) -> np.ndarray:
    """1 at each byte that ends a line (see :func:`line_breaks`), else 0; a line feed
    right after a carriage return (at the end of the previous block, too) marks none."""
    marks = (data == _NEWLINE) | (data == _CARRIAGE_RETURN)
    if data.size:
        marks[1:] &= ~((data[1:] == _NEWLINE) & (data[:-1] == _CARRIAGE_RETURN))
        if after_carriage_return and data[0] == _NEWLINE:
            marks[0] = False
    return marks


def csv_byte_ranges(
    stream: BinaryIO, size: int, shards: int, align_rows: int = 1, block_bytes: int = 1 << 20
) -> tuple[list[tuple[int, int, int, int]], int, bool]:
    """Cut a plain CSV stream into about ``shards`` byte ranges at record ends.

    The stream is scanned from its first byte with the parser's own quoting rules, so a
    line break inside a quoted field (a review of several paragraphs) is never taken
    for a record's end: every cut is exact, wherever the file's quoted line breaks are.
    Each range after the first starts after a multiple of ``align_rows`` records, so
    its batches are those of a whole-file run.

    Returns:
        The ranges ``(start, stop, first_line, first_row)`` (the first starts after the
        header), the records after the header (blank lines hold none), and whether the
        stream ended outside quotes (False: it is cut short; do not split it).
    """
    shards = max(1, shards)
    align_rows = max(1, align_rows)
    targets = [size * index // shards for index in range(1, shards)]
    cuts: list[tuple[int, int, int]] = []
    state = _FIELD_START
    offset = 0  # of the block in the stream
    lines = 1  # the line number at the block's start
    previous = 0  # where the last record ended
    rows = 0
    header = True
    before = -1  # the last byte of the previous block
    while block := stream.read(block_bytes):
        data = np.frombuffer(block, np.uint8)
        if offset == 0 and block.startswith(BYTE_ORDER_MARK):
            previous = len(BYTE_ORDER_MARK)  # no part of the header (Python's utf-8-sig)
        ends, state = _csv_record_ends(data, previous if offset == 0 else 0, state)
        marks = _line_break_marks(data, before == _CARRIAGE_RETURN)
        counted = None
        for end in ends.tolist():
            absolute = offset + end
            blank = _blank(block, end, absolute - previous, before)
            if header and not blank:
                header = False
                cuts.append((absolute, lines + int(np.count_nonzero(marks[:end])), 0))
            elif not header and not blank:
                rows += 1
            previous = absolute
            if (
                not header
                and targets
                and absolute >= targets[0]
                and rows % align_rows == 0
                and absolute < size
            ):
                if counted is None:
                    counted = np.concatenate(([0], np.cumsum(marks)))
                cuts.append((absolute, lines + int(counted[end]), rows))
                while targets and targets[0] <= absolute:
                    targets.pop(0)
        lines += int(np.count_nonzero(marks))
        offset += len(block)
        before = block[-1]
    # A last record without a line break, unless it is a lone carriage return (blank).
    last_blank = offset - previous == 1 and state == _AFTER_CARRIAGE_RETURN
    if offset > previous and not header and not last_blank:
        rows += 1
    if not cuts:
        return [], rows, state != _QUOTED
    # The header's own cut is where the first range starts; drop duplicates of it.
    unique = [cuts[0], *(cut for cut in cuts[1:] if cut[0] > cuts[0][0])]
    ranges = [
        (start, stop, first_line, first_row)
        for (start, first_line, first_row), (stop, _, _) in itertools.pairwise(
            [*unique, (offset, 0, 0)]
        )
        if stop > start
    ]
    return ranges, rows, state != _QUOTED


def _blank(block: bytes, end: int, length: int, before: int) -> bool:
    """Whether the record of ``length`` bytes ending at ``end`` of the block is only a
    line break, so it holds no row (``before``: the last byte of the previous block)."""
    if length == 1:
        return True
    if length != 2 or end < 1 or block[end - 1] != _NEWLINE:
        return False
    return (block[end - 2] if end >= 2 else before) == _CARRIAGE_RETURN


def header_span(data: bytes) -> tuple[int, int]:
    """Where the header record of a CSV file starting with ``data`` begins and ends.

    As Python's csv module reads a file: a byte-order mark and blank lines before the
    header are not part of it. The end is after its line break, or the data's length.
    """
    start = len(BYTE_ORDER_MARK) if data.startswith(BYTE_ORDER_MARK) else 0
    while start < len(data) and data[start] in b"\r\n":
        start += 1
    boundary, _, _ = _scan_csv(np.frombuffer(data, np.uint8), start, _FIELD_START, True)
    return start, len(data) if boundary < 0 else boundary


@dataclass(frozen=True)
class Chunk:
    """Whole records cut from a stream.

    Attributes:
        data: The records' bytes.
        first_line: The absolute, 1-based line number of the chunk's first byte.
        last: Whether the chunk ends the stream.
        ends_with_newline: Whether its last record ends with a line break (a file cut
            short usually does not).
    """

    data: bytes
    first_line: int
    last: bool

    @property
    def ends_with_newline(self) -> bool:
        return self.data.endswith(b"\n")


def record_chunks(
    stream: BinaryIO,
    kind: ChunkKind,
    path: Path,
    block_bytes: int,
    max_record_bytes: int = MAX_RECORD_BYTES,
    first_line: int = 1,
) -> Iterator[Chunk]:
    """Yield the stream as chunks of about ``block_bytes`` holding whole records.

    Args:
        stream: The decompressed file, read to its end.
        kind: ``csv`` (records end at a line break outside quotes, counted as Python
            counts lines) or ``jsonl`` (records and lines end at a line feed).
        path: The file, for error messages.
        block_bytes: The size to read at a time and to aim each chunk at.
        max_record_bytes: The longest record accepted.
        first_line: The line number of the stream's first byte (a shard's start).

    Raises:
        DataError: If a CSV file ends inside a quoted field (it was cut short), or a
            record is longer than ``max_record_bytes``.
    """
    buffer = bytearray()
    scanned = -1  # bytes of the buffer the CSV scanner has seen (-1: none yet)
    state = _FIELD_START
    opened = -1
    boundary = -1
    while True:
        block = stream.read(block_bytes)
        if block:
            buffer += block
            if kind == "csv":
                if scanned < 0:
                    # A byte-order mark is no part of the first field (Python's utf-8-sig).
                    at_mark = first_line == 1 and buffer.startswith(BYTE_ORDER_MARK)
                    scanned = len(BYTE_ORDER_MARK) if at_mark else 0
                view = np.frombuffer(buffer, np.uint8)
                found, state, newly_opened = _scan_csv(view, scanned, state, False)
                del view  # a live view would stop the buffer from resizing
                if found >= 0:
                    boundary = found
                if newly_opened >= 0:
                    opened = newly_opened
                scanned = len(buffer)
            else:
                boundary = buffer.rfind(b"\n") + 1 or -1
        if not block:
            if kind == "csv" and state == _QUOTED:
                line = first_line + line_breaks(buffer, 0, max(opened, 0))
                raise DataError(
                    f"Input {path} ends inside the quoted field that opens on line {line}; the "
                    "file is cut short, so fetch or export it again."
                )
            if buffer:
                yield Chunk(bytes(buffer), first_line, last=True)
            return
        if boundary < 0 or len(buffer) < block_bytes:
            if boundary < 0 and len(buffer) > max_record_bytes:
                raise DataError(
                    f"Input {path} has a record over {max_record_bytes >> 20} MiB starting "
                    f"on line {first_line}; split that review or check that the file is "
                    f"{'CSV' if kind == 'csv' else 'JSON lines'}."
                )
            continue
        data = bytes(buffer[:boundary])
        del buffer[:boundary]
        scanned -= boundary
        opened = opened - boundary if opened >= boundary else -1
        boundary = -1
        yield Chunk(data, first_line, last=False)
        first_line += line_breaks(data) if kind == "csv" else data.count(b"\n")

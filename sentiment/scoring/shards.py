"""A scoring job as a list of shards.

A shard is a small manifest a worker scores on its own: either several small files
(:func:`~sentiment.reading.readers.task_groups`), or a row range ``[start, stop)`` of a
large Parquet file (or a byte range of a plain CSV or JSON-lines file). Shards carry
paths and numbers, never rows or models, so a cluster's scheduler moves a few hundred
bytes per shard. Scoring a part and joining the parts: :mod:`sentiment.scoring.parts`.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sentiment.core import storage
from sentiment.core.storage import Location
from sentiment.modeling.profile import TextProfile
from sentiment.reading.chunks import csv_byte_ranges
from sentiment.reading.fingerprint import HashingFile, content_fingerprint
from sentiment.reading.readers import BatchReader
from sentiment.scoring.config import ScoringConfig
from sentiment.scoring.discovery import InputFile, task_groups
from sentiment.scoring.outputs import (
    read_scoring_metadata,
    scoring_key_of,
)
from sentiment.scoring.results import FileResult

logger = logging.getLogger(__name__)


@dataclass
class ShardPlan:
    """What a run scores: shards for workers, large inputs to join, inputs up to date.

    Attributes:
        shards: ``{"kind": "files", "files": [manifest, ...]}`` or ``{"kind": "part",
            "file": manifest, "index": i, "count": n, "rows": [start, stop],
            "fingerprint": ...}``, in input order.
        large: The manifests (with ``fingerprint`` and ``parts``) of inputs scored in
            parts, joined by :func:`assemble_parts`.
        skipped: Results of large inputs already up to date (nothing to score).
    """

    shards: list[dict[str, Any]] = field(default_factory=list)
    large: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[FileResult] = field(default_factory=list)


def row_ranges(row_group_rows: Sequence[int], shards: int, align: int = 1) -> list[tuple[int, int]]:
    """Cut a file of row groups into about ``shards`` ranges of rows.

    Every cut is a multiple of ``align`` (the rows per read batch): a part then reads
    exactly the batches a whole-file run reads, so a model whose results move in their
    last bits with the batch a row is in (a neural network) scores each row the same.
    Cuts fall on row-group boundaries where one such lies within a quarter of a shard
    of the even cut, so most shards read whole row groups; otherwise a row group is cut
    inside (a single-row-group file still spreads over workers).

    Returns:
        Contiguous ``(start, stop)`` ranges covering every row once, in order.
    """
    total = sum(row_group_rows)
    shards = max(1, min(shards, total))
    if total == 0:
        return [(0, 0)]
    align = max(1, align)
    boundaries, position = [], 0
    for count in row_group_rows:
        position += count
        if position % align == 0:
            boundaries.append(position)
    size = total / shards
    cuts = [0]
    for index in range(1, shards):
        target = round(index * size)
        nearest = min(boundaries, key=lambda boundary: abs(boundary - target), default=None)
        if nearest is not None and abs(nearest - target) <= size / 4:
            cut = nearest
        else:
            cut = round(target / align) * align
        if cuts[-1] < cut < total:
            cuts.append(cut)
    cuts.append(total)
    return list(itertools.pairwise(cuts))


def _up_to_date(
    output_path: Location, identity: Any, config: ScoringConfig, fingerprint: str
) -> dict[str, str] | None:
    if config.force or not storage.exists(output_path):
        return None
    existing = read_scoring_metadata(output_path)
    if existing is None:
        return None
    key = scoring_key_of(identity, config, existing.get("text_column", ""))
    if existing.get("scoring_key") != key or existing.get("input_fingerprint") != fingerprint:
        return None
    return existing


def plan_shards(
    manifests: Sequence[dict[str, Any]],
    output_dir: Location,
    identity: Any,
    config: ScoringConfig,
    cut_large: bool = True,
) -> ShardPlan:
    """Turn a discovery's manifests into shards.

    A Parquet input of more than ``config.shard_bytes`` bytes with more than one row is
    hashed here once, skipped if its output is up to date, else cut into row ranges;
    every other input goes into a group of small files, scored whole as before, unless
    its output is already up to date (same scoring key, same content hashed now): then
    it is skipped here, so a rerun with nothing new runs no scoring task and loads no
    model.

    Args:
        manifests: From :meth:`~sentiment.reading.readers.Discovery.manifests`.
        output_dir: The run's output directory.
        identity: The bundle's ``version`` and ``threshold``
            (:func:`sentiment.modeling.bundle_files.bundle_identity`).
        config: The scoring settings.
        cut_large: Cut large inputs into parts (off: every input is scored whole; in one
            process parts gain nothing and cost a join).

    Returns:
        The plan: shards in input order, the inputs to join, the inputs skipped.
    """
    plan = ShardPlan()
    whole: list[dict[str, Any]] = []

    def flush() -> None:
        for group in task_groups(whole, config.task_bytes, config.task_files):
            plan.shards.append({"kind": "files", "files": group})
        whole.clear()

    for manifest in manifests:
        item = InputFile.from_manifest(manifest)
        large = cut_large and int(manifest.get("size", 0)) > config.shard_bytes
        if not large:
            skipped = _skipped_whole(item, output_dir, identity, config)
            if skipped is not None:
                plan.skipped.append(skipped)
            else:
                whole.append(manifest)
            continue
        if item.format in ("jsonl", "csv") and not item.compressed:
            # A rerun hashes the file (one read) before paying for a scan.
            with contextlib.suppress(OSError):
                skipped = _skipped(
                    item, output_dir, identity, config, content_fingerprint(item.path)
                )
                if skipped is not None:
                    flush()
                    plan.skipped.append(skipped)
                    continue
            if item.format == "jsonl":
                scanned = _json_plan(item, config)
                if scanned is not None:
                    flush()
                    _plan_json(plan, manifest, item, scanned, output_dir, identity, config)
                    continue
            else:
                text_plan = _csv_plan(item, int(manifest["size"]), config)
                if text_plan is not None:
                    flush()
                    _add_text_parts(plan, manifest, item, text_plan, output_dir, identity, config)
                    continue
        metadata = None
        if item.format == "parquet" and large:
            with contextlib.suppress(OSError, pa.ArrowException):
                filesystem, where = storage.filesystem(item.path)
                metadata = pq.read_metadata(where, filesystem=filesystem)
        if metadata is None or metadata.num_rows < 2:
            whole.append(manifest)  # a broken file fails in its task, as before
            continue
        flush()
        started = time.perf_counter()
        fingerprint = content_fingerprint(item.path)
        output_path = storage.join(output_dir, item.output_name)
        existing = _up_to_date(output_path, identity, config, fingerprint)
        if existing is not None:
            plan.skipped.append(
                FileResult(
                    input_path=str(item.path),
                    output_path=str(output_path),
                    status="skipped",
                    reason=(
                        f"{storage.name(output_path)} already scored with model {identity.version}"
                    ),
                    profile=TextProfile.from_dict(json.loads(existing["profile"])),
                    seconds=time.perf_counter() - started,
                )
            )
            continue
        count = math.ceil(int(manifest["size"]) / config.shard_bytes)
        rows = [metadata.row_group(index).num_rows for index in range(metadata.num_row_groups)]
        ranges = row_ranges(rows, count, config.read_rows)
        plan.large.append(
            {
                **manifest,
                "fingerprint": fingerprint,
                "parts": len(ranges),
                "rows": metadata.num_rows,
            }
        )
        for index, (start, stop) in enumerate(ranges):
            plan.shards.append(
                {
                    "kind": "part",
                    "file": manifest,
                    "index": index,
                    "count": len(ranges),
                    "rows": [start, stop],
                    "fingerprint": fingerprint,
                }
            )
    flush()
    return plan


def _skipped(
    item: InputFile,
    output_dir: Location,
    identity: Any,
    config: ScoringConfig,
    fingerprint: str,
    started: float | None = None,
) -> FileResult | None:
    output_path = storage.join(output_dir, item.output_name)
    existing = _up_to_date(output_path, identity, config, fingerprint)
    if existing is None:
        return None
    return FileResult(
        input_path=str(item.path),
        output_path=str(output_path),
        status="skipped",
        reason=f"{storage.name(output_path)} already scored with model {identity.version}",
        profile=TextProfile.from_dict(json.loads(existing["profile"])),
        seconds=0.0 if started is None else time.perf_counter() - started,
    )


def _skipped_whole(
    item: InputFile, output_dir: Location, identity: Any, config: ScoringConfig
) -> FileResult | None:
    """The skipped result of a small input whose output is up to date, else None (its
    task then scores it, or fails it with the reason: an unreadable input is not
    judged here)."""
    if config.force or not storage.exists(storage.join(output_dir, item.output_name)):
        return None  # nothing to compare: no hash spent
    started = time.perf_counter()
    try:
        fingerprint = content_fingerprint(item.path)
    except OSError:
        return None
    return _skipped(item, output_dir, identity, config, fingerprint, started)


def _json_plan(item: InputFile, config: ScoringConfig) -> tuple[pa.Schema, int, str] | None:
    """The whole file's schema, row count and fingerprint (one read), or None where the
    file cannot be scanned (it then fails in its own task, as before)."""
    try:
        with BatchReader(item, text_column=config.text_column) as reader:
            if reader.empty or not reader.num_rows or reader.num_rows < 2:
                return None
            fingerprint = reader._first_pass_fingerprint
            return reader.schema, int(reader.num_rows), str(fingerprint)
    except Exception:
        return None


def byte_ranges(
    path: Location, size: int, shards: int, align_rows: int = 1
) -> list[tuple[int, int, int, int]]:
    """Cut a JSON-lines file into about ``shards`` byte ranges at line ends.

    Each range starts after a multiple of ``align_rows`` rows (blank lines hold none),
    so its parts read the batches a whole-file run reads (see :func:`row_ranges`).

    Returns:
        ``(start, stop, first_line, first_row)`` per range, covering every byte once, in
        order: ``first_line`` is the 1-based line number at ``start``, ``first_row`` the
        rows before it.
    """
    shards = max(1, shards)
    align_rows = max(1, align_rows)
    targets = [size * index // shards for index in range(1, shards)]
    cuts = [(0, 1, 0)]
    position, line, rows = 0, 1, 0
    carry = b""
    with storage.open_input(path) as handle:
        while targets:
            block = handle.read(1 << 20)
            if not block:
                break
            lines = (carry + block).split(b"\n")
            carry = lines.pop()
            for text in lines:
                position += len(text) + 1
                line += 1
                if text.strip():
                    rows += 1
                if position >= targets[0] and rows % align_rows == 0 and position < size:
                    cuts.append((position, line, rows))
                    while targets and targets[0] <= position:
                        targets.pop(0)
                    if not targets:
                        break
    return [
        (start, stop, first_line, first_row)
        for (start, first_line, first_row), (stop, _, _) in itertools.pairwise(
            [*cuts, (size, 0, 0)]
        )
    ]


def _csv_plan(item: InputFile, size: int, config: ScoringConfig) -> _TextPlan | None:
    """The header's schema, the record-end ranges, the rows and the fingerprint of a plain
    CSV file (one read after the header's), or None where it cannot be split (it then
    scores whole in its own task and fails there, with its own message, if it is bad)."""
    try:
        with BatchReader(item, text_column=config.text_column) as reader:
            if reader.empty:
                return None
            schema = reader.schema
        with HashingFile(item.path) as handle:
            ranges, rows, complete = csv_byte_ranges(
                handle, size, math.ceil(size / config.shard_bytes), config.read_rows
            )
            handle.drain()
            fingerprint = handle.fingerprint()
    except Exception:
        return None
    if not complete or rows < 2 or len(ranges) < 1:
        return None
    return _TextPlan(schema, rows, fingerprint, ranges)


@dataclass(frozen=True)
class _TextPlan:
    schema: pa.Schema
    rows: int
    fingerprint: str
    ranges: list[tuple[int, int, int, int]]


def _plan_json(
    plan: ShardPlan,
    manifest: dict[str, Any],
    item: InputFile,
    scanned: tuple[pa.Schema, int, str],
    output_dir: Location,
    identity: Any,
    config: ScoringConfig,
) -> None:
    schema, rows, fingerprint = scanned
    size = int(manifest["size"])
    ranges = byte_ranges(item.path, size, math.ceil(size / config.shard_bytes), config.read_rows)
    _add_text_parts(
        plan,
        manifest,
        item,
        _TextPlan(schema, rows, fingerprint, ranges),
        output_dir,
        identity,
        config,
    )


def _add_text_parts(
    plan: ShardPlan,
    manifest: dict[str, Any],
    item: InputFile,
    text_plan: _TextPlan,
    output_dir: Location,
    identity: Any,
    config: ScoringConfig,
) -> None:
    """Add the byte-range parts of a CSV or JSON-lines input (or its skip) to the plan."""
    skipped = _skipped(item, output_dir, identity, config, text_plan.fingerprint)
    if skipped is not None:
        plan.skipped.append(skipped)
        return
    ranges = text_plan.ranges
    encoded = base64.b64encode(text_plan.schema.serialize().to_pybytes()).decode()
    plan.large.append(
        {
            **manifest,
            "fingerprint": text_plan.fingerprint,
            "parts": len(ranges),
            "rows": text_plan.rows,
        }
    )
    for index, (start, stop, first_line, first_row) in enumerate(ranges):
        plan.shards.append(
            {
                "kind": "part",
                "file": manifest,
                "index": index,
                "count": len(ranges),
                "bytes": [start, stop, first_line],
                "first_row": first_row,
                "schema": encoded,
                "fingerprint": text_plan.fingerprint,
            }
        )

"""A scoring job as a list of shards, and large inputs joined back from their parts.

A shard is a small manifest a worker scores on its own: either several small files
(:func:`~sentiment.scoring.readers.task_groups`), or a row range ``[start, stop)`` of a
large Parquet file. Shards carry paths and numbers, never rows or models, so a cluster's
scheduler moves a few hundred bytes per shard.

A part (the scored rows of one shard) is written atomically to
``<output>/.parts/<output_name>/<index>.parquet`` with the whole input's fingerprint,
the scoring key and its row range in its metadata; a rerun after a killed run keeps
the parts that are already done. When every part of an input is there, the driver
joins them, row group by row group and in row order, into the input's one output
(atomically, with the same metadata a single-process run writes), checks that the
input still hashes as it did before its shards ran, and removes the parts. A part that
fails on bad data fails its own input only.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import logging
import math
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sentiment.core.atomic import atomic_path
from sentiment.scoring.config import ScoringConfig
from sentiment.scoring.fingerprint import content_fingerprint, require_unchanged
from sentiment.scoring.outputs import output_errors
from sentiment.scoring.profile import TextProfile
from sentiment.scoring.readers import BatchReader, InputFile, task_groups
from sentiment.scoring.results import FileResult
from sentiment.scoring.scorer import (
    METADATA_PREFIX,
    _failure_reason,
    metadata_entries,
    output_metadata,
    read_scoring_metadata,
    scoring_key_of,
    write_scored,
)

logger = logging.getLogger(__name__)

PARTS_DIRECTORY = ".parts"


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


def parts_directory(output_dir: Path, output_name: str) -> Path:
    """Where the parts of one input's output are written."""
    return output_dir / PARTS_DIRECTORY / output_name


def row_ranges(row_group_rows: Sequence[int], shards: int) -> list[tuple[int, int]]:
    """Cut a file of row groups into about ``shards`` ranges of rows.

    Cuts fall on row-group boundaries where one lies within a quarter of a shard of the
    even cut, so most shards read whole row groups; a row group larger than that is cut
    inside (a single-row-group file still spreads over workers).

    Returns:
        Contiguous ``(start, stop)`` ranges covering every row once, in order.
    """
    total = sum(row_group_rows)
    shards = max(1, min(shards, total))
    if total == 0:
        return [(0, 0)]
    boundaries, position = [], 0
    for count in row_group_rows:
        position += count
        boundaries.append(position)
    size = total / shards
    cuts = [0]
    for index in range(1, shards):
        target = round(index * size)
        nearest = min(boundaries, key=lambda boundary: abs(boundary - target))
        cut = nearest if abs(nearest - target) <= size / 4 else target
        if cuts[-1] < cut < total:
            cuts.append(cut)
    cuts.append(total)
    return list(itertools.pairwise(cuts))


def _up_to_date(
    output_path: Path, identity: Any, config: ScoringConfig, fingerprint: str
) -> dict[str, str] | None:
    if config.force or not output_path.exists():
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
    output_dir: Path,
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
        manifests: From :meth:`~sentiment.scoring.readers.Discovery.manifests`.
        output_dir: The run's output directory.
        identity: The bundle's ``version`` and ``threshold``
            (:func:`sentiment.modeling.bundle.bundle_identity`).
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
        if item.format == "jsonl" and not item.compressed:
            # A rerun hashes the file (one read) before paying for a schema scan.
            with contextlib.suppress(OSError):
                skipped = _skipped(
                    item, output_dir, identity, config, content_fingerprint(item.path)
                )
                if skipped is not None:
                    flush()
                    plan.skipped.append(skipped)
                    continue
            json_plan = _json_plan(item, config)
            if json_plan is not None:
                flush()
                _plan_json(plan, manifest, item, json_plan, output_dir, identity, config)
                continue
        metadata = None
        if item.format == "parquet" and large:
            with contextlib.suppress(OSError, pa.ArrowException):
                metadata = pq.read_metadata(item.path)
        if metadata is None or metadata.num_rows < 2:
            whole.append(manifest)  # a broken file fails in its task, as before
            continue
        flush()
        started = time.perf_counter()
        fingerprint = content_fingerprint(item.path)
        output_path = output_dir / item.output_name
        existing = _up_to_date(output_path, identity, config, fingerprint)
        if existing is not None:
            plan.skipped.append(
                FileResult(
                    input_path=str(item.path),
                    output_path=str(output_path),
                    status="skipped",
                    reason=f"{output_path.name} already scored with model {identity.version}",
                    profile=TextProfile.from_dict(json.loads(existing["profile"])),
                    seconds=time.perf_counter() - started,
                )
            )
            continue
        count = math.ceil(int(manifest["size"]) / config.shard_bytes)
        rows = [metadata.row_group(index).num_rows for index in range(metadata.num_row_groups)]
        ranges = row_ranges(rows, count)
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
    output_dir: Path,
    identity: Any,
    config: ScoringConfig,
    fingerprint: str,
    started: float | None = None,
) -> FileResult | None:
    output_path = output_dir / item.output_name
    existing = _up_to_date(output_path, identity, config, fingerprint)
    if existing is None:
        return None
    return FileResult(
        input_path=str(item.path),
        output_path=str(output_path),
        status="skipped",
        reason=f"{output_path.name} already scored with model {identity.version}",
        profile=TextProfile.from_dict(json.loads(existing["profile"])),
        seconds=0.0 if started is None else time.perf_counter() - started,
    )


def _skipped_whole(
    item: InputFile, output_dir: Path, identity: Any, config: ScoringConfig
) -> FileResult | None:
    """The skipped result of a small input whose output is up to date, else None (its
    task then scores it, or fails it with the reason: an unreadable input is not
    judged here)."""
    if config.force or not (output_dir / item.output_name).exists():
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


def byte_ranges(path: Path, size: int, shards: int) -> list[tuple[int, int, int]]:
    """Cut a JSON-lines file into about ``shards`` byte ranges at line ends.

    Returns:
        ``(start, stop, first_line)`` per range, covering every byte once, in order.
    """
    cuts = [0]
    with open(path, "rb") as handle:
        for index in range(1, max(1, shards)):
            target = max(cuts[-1], size * index // shards)
            handle.seek(target)
            handle.readline()  # to the end of the line the even cut falls in
            cut = handle.tell()
            if cuts[-1] < cut < size:
                cuts.append(cut)
        cuts.append(size)
        ranges, line = [], 1
        for start, stop in itertools.pairwise(cuts):
            ranges.append((start, stop, line))
            handle.seek(start)
            line += handle.read(stop - start).count(b"\n")
    return ranges


def _plan_json(
    plan: ShardPlan,
    manifest: dict[str, Any],
    item: InputFile,
    scanned: tuple[pa.Schema, int, str],
    output_dir: Path,
    identity: Any,
    config: ScoringConfig,
) -> None:
    schema, rows, fingerprint = scanned
    skipped = _skipped(item, output_dir, identity, config, fingerprint)
    if skipped is not None:
        plan.skipped.append(skipped)
        return
    size = int(manifest["size"])
    ranges = byte_ranges(item.path, size, math.ceil(size / config.shard_bytes))
    encoded = base64.b64encode(schema.serialize().to_pybytes()).decode()
    plan.large.append({**manifest, "fingerprint": fingerprint, "parts": len(ranges), "rows": rows})
    for index, (start, stop, first_line) in enumerate(ranges):
        plan.shards.append(
            {
                "kind": "part",
                "file": manifest,
                "index": index,
                "count": len(ranges),
                "bytes": [start, stop, first_line],
                "schema": encoded,
                "fingerprint": fingerprint,
            }
        )


def _part_path(output_dir: Path, shard: dict[str, Any]) -> Path:
    name = shard["file"]["output_name"]
    return parts_directory(output_dir, name) / f"{shard['index']:06d}.parquet"


def _part_marker(identity: Any, config: ScoringConfig, shard: dict[str, Any], text: str) -> str:
    return json.dumps(
        {
            "scoring_key": scoring_key_of(identity, config, text),
            "fingerprint": shard["fingerprint"],
            "range": list(shard.get("rows") or shard["bytes"]),
        },
        sort_keys=True,
    )


def score_part(
    shard: dict[str, Any], output_dir: Path, model: Any, config: ScoringConfig
) -> dict[str, Any]:
    """Score one ``part`` shard into its part file; never raises for bad data.

    A part already written by an earlier (killed) run with the same input, settings and
    rows is kept, not rescored.

    Returns:
        ``{"output_name", "index", "status": "scored"|"kept"|"failed", "rows",
        "reason", "seconds"}``.
    """
    started = time.perf_counter()
    item = InputFile.from_manifest(shard["file"])
    part_path = _part_path(output_dir, shard)
    outcome: dict[str, Any] = {
        "output_name": item.output_name,
        "index": shard["index"],
        "rows": 0,
        "reason": None,
    }
    existing = read_scoring_metadata(part_path) if part_path.exists() else None
    if existing is not None and not config.force:
        marker = _part_marker(model, config, shard, existing.get("text_column", ""))
        if existing.get("part") == marker:
            profile = TextProfile.from_dict(json.loads(existing["profile"]))
            return {**outcome, "status": "kept", "rows": profile.rows, "seconds": 0.0}
    try:
        rows = shard.get("rows")
        byte_range = shard.get("bytes")
        json_schema = None
        if shard.get("schema"):
            json_schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(shard["schema"])))
        profile = write_scored(
            item,
            part_path,
            model,
            config,
            rows=None if rows is None else (int(rows[0]), int(rows[1])),
            byte_range=None if byte_range is None else tuple(int(v) for v in byte_range),
            json_schema=json_schema,
            planned_fingerprint=shard["fingerprint"],
            part_marker=lambda text: _part_marker(model, config, shard, text),
        )
    except Exception as error:  # bad data fails this input only, never the batch
        reason = _failure_reason(item.path, error)
        where = shard.get("rows") or shard.get("bytes")
        logger.warning("Failed to score part %s of %s: %s", where, item.path, reason)
        return {
            **outcome,
            "status": "failed",
            "reason": reason,
            "seconds": time.perf_counter() - started,
        }
    return {
        **outcome,
        "status": "scored",
        "rows": profile.rows,
        "seconds": time.perf_counter() - started,
    }


def assemble_parts(
    large: dict[str, Any],
    outcomes: Sequence[dict[str, Any]],
    output_dir: Path,
    identity: Any,
    config: ScoringConfig,
    seconds: float = 0.0,
) -> FileResult:
    """Join the parts of one large input into its output, or report why it failed.

    Args:
        large: One of :attr:`ShardPlan.large`.
        outcomes: Every part outcome of the run (others' are ignored).
        output_dir: The run's output directory.
        identity: The bundle's ``version`` and ``threshold``.
        config: The scoring settings.
        seconds: Time the parts took, added to the result's.

    Returns:
        The input's result: scored (one output, parts removed) or failed (no output).
    """
    started = time.perf_counter()
    item = InputFile.from_manifest(large)
    output_path = output_dir / item.output_name
    parts = parts_directory(output_dir, item.output_name)
    mine = sorted(
        (outcome for outcome in outcomes if outcome["output_name"] == item.output_name),
        key=lambda outcome: outcome["index"],
    )
    failed = [outcome for outcome in mine if outcome["status"] == "failed"]
    try:
        if failed:
            raise _PartFailed(failed[0]["reason"])
        if [outcome["index"] for outcome in mine] != list(range(large["parts"])):
            raise _PartFailed(
                f"Input {item.path} was not scored completely (parts missing); score it again."
            )
        profile = TextProfile()
        text_column = ""
        with contextlib.ExitStack() as output:
            with output_errors(output_path):
                temporary = output.enter_context(atomic_path(output_path))
            writer = None
            for index in range(large["parts"]):
                part = pq.ParquetFile(parts / f"{index:06d}.parquet")
                metadata = read_scoring_metadata(parts / f"{index:06d}.parquet") or {}
                profile.merge(TextProfile.from_dict(json.loads(metadata["profile"])))
                text_column = metadata["text_column"]
                if writer is None:
                    schema = _without_scoring_metadata(part.schema_arrow)
                    with output_errors(output_path):
                        writer = pq.ParquetWriter(temporary, schema, compression="snappy")
                    output.callback(writer.close)
                for group in range(part.num_row_groups):
                    table = part.read_row_group(group).cast(writer.schema)
                    with output_errors(output_path):
                        writer.write_table(table, row_group_size=config.read_rows)
                part.close()
            expected = int(large["rows"])
            if profile.rows != expected:
                raise _PartFailed(
                    f"Input {item.path} has {expected} rows but its parts hold {profile.rows}; "
                    "score it again."
                )
            fingerprint = require_unchanged(item.path, large["fingerprint"])
            metadata = output_metadata(
                identity, config, item.path, fingerprint, text_column, profile
            )
            assert writer is not None
            with output_errors(output_path):
                writer.add_key_value_metadata(metadata_entries(metadata))
                output.close()
    except Exception as error:
        reason = str(error) if isinstance(error, _PartFailed) else _failure_reason(item.path, error)
        shutil.rmtree(parts, ignore_errors=True)
        return FileResult(
            input_path=str(item.path),
            output_path=None,
            status="failed",
            reason=reason,
            seconds=seconds + time.perf_counter() - started,
        )
    shutil.rmtree(parts, ignore_errors=True)
    with contextlib.suppress(OSError):
        (output_dir / PARTS_DIRECTORY).rmdir()  # only once no input's parts are left
    return FileResult(
        input_path=str(item.path),
        output_path=str(output_path),
        status="scored",
        profile=profile,
        seconds=seconds + time.perf_counter() - started,
    )


class _PartFailed(Exception):
    """A part of the input failed; its reason is already one sentence."""


def _without_scoring_metadata(schema: pa.Schema) -> pa.Schema:
    metadata = {
        key: value
        for key, value in (schema.metadata or {}).items()
        if not key.startswith(METADATA_PREFIX.encode())
    }
    return schema.with_metadata(metadata or None)

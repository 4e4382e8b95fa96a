"""Large inputs scored in parts and joined back into their one output.

A part (the scored rows of one shard of :mod:`sentiment.scoring.shards`) is written
atomically to ``<output>/.parts/<output_name>/<index>.parquet`` with the whole input's
fingerprint, the scoring key and its row range in its metadata; a rerun after a killed
run keeps the parts that are already done. When every part of an input is there, the
driver joins them, row group by row group and in row order, into the input's one output
(atomically, with the same metadata a single-process run writes), checks that the input
still hashes as it did before its shards ran, and removes the parts. A part that fails
on bad data fails its own input only.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import time
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sentiment.core import storage
from sentiment.core.storage import Location
from sentiment.modeling.profile import TextProfile
from sentiment.scoring.config import ScoringConfig
from sentiment.scoring.discovery import InputFile
from sentiment.scoring.fingerprint import require_unchanged
from sentiment.scoring.outputs import (
    METADATA_PREFIX,
    metadata_entries,
    output_errors,
    output_metadata,
    read_scoring_metadata,
    scoring_key_of,
)
from sentiment.scoring.results import FileResult
from sentiment.scoring.scorer import failure_reason, write_scored

logger = logging.getLogger(__name__)


PARTS_DIRECTORY = ".parts"


def parts_directory(output_dir: Location, output_name: str) -> Location:
    """Where the parts of one input's output are written."""
    return storage.join(output_dir, PARTS_DIRECTORY, output_name)


def _part_path(output_dir: Location, shard: dict[str, Any]) -> Location:
    name = shard["file"]["output_name"]
    return storage.join(parts_directory(output_dir, name), f"{shard['index']:06d}.parquet")


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
    shard: dict[str, Any], output_dir: Location, model: Any, config: ScoringConfig
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
    existing = read_scoring_metadata(part_path) if storage.exists(part_path) else None
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
        profile, seconds = write_scored(
            item,
            part_path,
            model,
            config,
            rows=None if rows is None else (int(rows[0]), int(rows[1])),
            byte_range=None if byte_range is None else tuple(int(v) for v in byte_range),
            json_schema=json_schema,
            first_row=int(shard.get("first_row") or 0),
            planned_fingerprint=shard["fingerprint"],
            part_marker=lambda text: _part_marker(model, config, shard, text),
        )
    except Exception as error:  # bad data fails this input only, never the batch
        reason = failure_reason(item.path, error)
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
        "seconds": seconds,
    }


def assemble_parts(
    large: dict[str, Any],
    outcomes: Sequence[dict[str, Any]],
    output_dir: Location,
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
    output_path = storage.join(output_dir, item.output_name)
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
                temporary = output.enter_context(storage.atomic_output(output_path))
                filesystem, where = storage.filesystem(temporary)
            writer = None
            for index in range(large["parts"]):
                part_path = storage.join(parts, f"{index:06d}.parquet")
                part_filesystem, part_where = storage.filesystem(part_path)
                part = pq.ParquetFile(part_where, filesystem=part_filesystem)
                metadata = read_scoring_metadata(part_path) or {}
                profile.merge(TextProfile.from_dict(json.loads(metadata["profile"])))
                text_column = metadata["text_column"]
                if writer is None:
                    schema = _without_scoring_metadata(part.schema_arrow)
                    with output_errors(output_path):
                        writer = pq.ParquetWriter(
                            where, schema, filesystem=filesystem, compression="snappy"
                        )
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
        reason = str(error) if isinstance(error, _PartFailed) else failure_reason(item.path, error)
        storage.remove_tree(parts)
        return FileResult(
            input_path=str(item.path),
            output_path=None,
            status="failed",
            reason=reason,
            seconds=seconds + time.perf_counter() - started,
        )
    storage.remove_tree(parts)
    # Only once no input's parts are left.
    storage.remove_if_empty(storage.join(output_dir, PARTS_DIRECTORY))
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

"""What a scoring run writes: the output directory, the scored files' columns and
metadata, and ``failed.jsonl``.

The output directory is checked up front and cleaned of dead temporaries. A problem
with the output (a file where the directory should be, no permission, a full disk) is
reported as one sentence naming the output, never as a fault of the inputs. Each
scored file is its input's columns plus the scoring columns; its ``sentiment.*``
Parquet key-value metadata records how it was scored, so a rerun can tell whether it
is up to date.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sentiment.core import storage
from sentiment.core.atomic import TEMPORARY_PREFIX, write_text
from sentiment.core.errors import ConfigError, DataError
from sentiment.core.storage import Location
from sentiment.modeling.calibration import DEFAULT_THRESHOLD
from sentiment.modeling.profile import TextProfile
from sentiment.scoring.config import ScoringConfig
from sentiment.scoring.fingerprint import scoring_key
from sentiment.scoring.results import FAILED_FILE, FileResult

logger = logging.getLogger(__name__)

# ".tmp-<pid>-<hex>-<name>" (sentiment.core.atomic.temporary_name), or ".tmp-<hex>-<name>".
STALE_TEMPORARY = re.compile(
    rf"^{re.escape(TEMPORARY_PREFIX)}(?:[0-9]+-)?[0-9a-f]{{8}}-(?P<name>.+)$"
)
# Temporaries of small files (failed.jsonl) are not locked while written; one this old
# belongs to no live run.
_UNLOCKED_TEMPORARY_SECONDS = 600


class OutputError(ConfigError):
    """The output directory cannot be written (not a fault of any input)."""


def output_error(path: Location, error: OSError) -> OutputError:
    """One sentence naming the output that could not be written, and why."""
    reason = error.strerror or type(error).__name__
    return OutputError(
        f"Output {path} could not be written ({reason}); choose a writable --output directory "
        "with free space."
    )


@contextlib.contextmanager
def output_errors(path: Location) -> Iterator[None]:
    """Turn an OS error raised while writing ``path`` into an :class:`OutputError`."""
    try:
        yield
    except OutputError:
        raise
    except OSError as error:
        raise output_error(path, error) from error


def prepare_output_directory(output_dir: Location) -> int:
    """Create the output directory, check it is writable, and remove dead temporaries.

    Call once per run, before any input is scored: a temporary left by a killed run
    (whatever input it was for) does not outlive the next run into the directory.

    Returns:
        How many dead temporaries were removed.

    Raises:
        OutputError: If the directory cannot be created or written, naming it.
    """
    output_dir = storage.location(output_dir)
    try:
        is_file = storage.is_file(output_dir)
    except OSError as error:
        raise OutputError(
            f"Output directory {output_dir} cannot be reached ({error}); check the URL and "
            "the storage credentials (AWS_* variables) and try again."
        ) from error
    if is_file:
        raise OutputError(
            f"Output directory {output_dir} is a file, not a directory; choose another --output."
        )
    try:
        storage.make_directory(output_dir)
        storage.check_writable(output_dir)
    except OSError as error:
        raise OutputError(
            f"Output directory {output_dir} cannot be written ({error.strerror or error}); "
            "choose a writable --output directory."
        ) from error
    return remove_dead_temporaries(output_dir)


def remove_dead_temporaries(output_dir: Location, output_name: str | None = None) -> int:
    """Delete temporaries of killed runs in ``output_dir`` (of ``output_name`` only, if given).

    A local scored file's temporary is locked while its run lives, so an unlocked one is
    dead; other temporaries are taken as dead once they are ten minutes old. On an object
    store a temporary key appears only once its upload is complete and is moved to its
    final key at once, so one that old is dead too.
    """
    removed = 0
    if not storage.is_dir(output_dir):
        return 0
    now = time.time()
    for entry in storage.list_files(output_dir):
        match = STALE_TEMPORARY.match(entry.name)
        if match is None or (output_name is not None and match.group("name") != output_name):
            continue
        candidate = entry.location
        try:
            if storage.is_remote(candidate) or not match.group("name").endswith(".parquet"):
                if now - (entry.mtime or now) < _UNLOCKED_TEMPORARY_SECONDS:
                    continue
                storage.remove(candidate)
                removed += 1
                continue
            with open(candidate, "ab") as handle:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                candidate.unlink()
                removed += 1
        except (BlockingIOError, FileNotFoundError, IsADirectoryError):
            continue
    if removed:
        logger.info(
            "Removed %d unfinished output(s) left by a killed run in %s", removed, output_dir
        )
    return removed


# --- what a scored file holds ------------------------------------------------------

SCORE_COLUMN = "sentiment_score"
LABEL_COLUMN = "sentiment_label"
VERSION_COLUMN = "model_version"
# Why a row has no score: it has no text, or no word the model knows (a score would
# only be the model's prior, labelled as if it were an opinion).
NOTE_COLUMN = "sentiment_note"
NO_TEXT = "no text"
NO_KNOWN_WORD = "no known word"
# Only with ScoringConfig.explain: the n-grams behind each score (linear bundles).
REASONS_COLUMN = "sentiment_reasons"
POSITIVE = "positive"
NEGATIVE = "negative"
UNCERTAIN = "uncertain"
METADATA_PREFIX = "sentiment."


def uncertain_mask(scores: np.ndarray, band: tuple[float, float] | None) -> np.ndarray:
    """Which scores lie inside the abstain band (bounds included)."""
    if band is None:
        return np.zeros(scores.shape, dtype=bool)
    return (scores >= band[0]) & (scores <= band[1])


def _label_array(
    scores: np.ndarray,
    scored: np.ndarray,
    threshold: float,
    uncertain: tuple[float, float] | None = None,
) -> pa.Array:
    codes = (scores >= threshold).astype(np.int8)
    codes[uncertain_mask(scores, uncertain)] = 2
    indices = pa.array(codes, mask=~scored)
    return pa.array([NEGATIVE, POSITIVE, UNCERTAIN], type=pa.string()).take(indices)


def _note_array(valid: np.ndarray, scored: np.ndarray) -> pa.Array:
    # 0: scored (null note), 1: no text, 2: text without a known word.
    codes = np.where(valid, np.where(scored, 0, 2), 1).astype(np.int8)
    return pa.array([None, NO_TEXT, NO_KNOWN_WORD], type=pa.string()).take(pa.array(codes))


def scored_batch(
    batch: pa.RecordBatch,
    scores: np.ndarray,
    valid: np.ndarray,
    threshold: float,
    version: str,
    scored: np.ndarray | None = None,
    uncertain: tuple[float, float] | None = None,
    reasons: pa.Array | None = None,
) -> pa.RecordBatch:
    """Append the score, label, model-version and note columns to a batch.

    Args:
        batch: The input rows, unchanged.
        scores: float32 scores, one per row (ignored where a row is not scored).
        valid: Which rows had text.
        threshold: Scores at or above it are labelled positive.
        version: The model version written on every row.
        scored: Which rows were scored (default: every valid row); the others get null
            score and label and a ``sentiment_note`` saying why.
        uncertain: Scores inside this band are labelled ``uncertain``.
        reasons: One reasons list per valid row; given, a ``sentiment_reasons`` column
            is appended (null for rows without text).

    Returns:
        The batch with ``sentiment_score``, ``sentiment_label``, ``model_version`` and
        ``sentiment_note`` (and ``sentiment_reasons``).
    """
    count = batch.num_rows
    scored = valid if scored is None else scored
    score_array = pa.array(scores.astype(np.float32, copy=False), mask=~scored)
    versions = pa.array([version], type=pa.string()).take(np.zeros(count, dtype=np.int32))
    columns = [
        *batch.columns,
        score_array,
        _label_array(scores, scored, threshold, uncertain),
        versions,
        _note_array(valid, scored),
    ]
    if reasons is not None:
        positions = np.zeros(count, dtype=np.int32)
        positions[valid] = np.arange(np.count_nonzero(valid), dtype=np.int32)
        columns.append(reasons.take(pa.array(positions, mask=~valid)))
    return pa.RecordBatch.from_arrays(
        columns, schema=output_schema(batch.schema, explain=reasons is not None)
    )


def output_schema(
    input_schema: pa.Schema, explain: bool = False, path: Location | None = None
) -> pa.Schema:
    """The input's schema plus the scoring columns (input metadata kept).

    Raises:
        DataError: If the input already has a column scoring adds (never two columns of
            one name in an output); ``path`` names the input.
    """
    from sentiment.modeling.linear import REASONS_TYPE

    added = [
        (SCORE_COLUMN, pa.float32()),
        (LABEL_COLUMN, pa.string()),
        (VERSION_COLUMN, pa.string()),
        (NOTE_COLUMN, pa.string()),
    ]
    if explain:
        added.append((REASONS_COLUMN, REASONS_TYPE))
    schema = input_schema
    for name, data_type in added:
        if name in input_schema.names:
            raise DataError(
                f"Input {path} already has the column {name}, which scoring adds; rename "
                "that column or drop it, or score the original file if this is scored output."
            )
        schema = schema.append(pa.field(name, data_type))
    return schema


def resolved_threshold(model: Any, config: ScoringConfig) -> float:
    """The labelling threshold: the configured one, else the bundle's own."""
    if config.threshold is not None:
        return config.threshold
    return float(getattr(model, "threshold", DEFAULT_THRESHOLD))


def scoring_key_of(model: Any, config: ScoringConfig, text_column: str) -> str:
    """The up-to-date key of an output scored with ``model`` and ``config``."""
    return scoring_key(
        model.version,
        resolved_threshold(model, config),
        config.text_column,
        text_column,
        explain=config.explain,
        uncertain=config.uncertain,
        bundle_path=config.bundle_path,
    )


def _metadata_key(name: str) -> bytes:
    return (METADATA_PREFIX + name).encode()


def read_scoring_metadata(output_path: Location) -> dict[str, str] | None:
    """The ``sentiment.*`` key-value metadata of a scored file, or None if unreadable."""
    try:
        filesystem, where = storage.filesystem(output_path)
        metadata = pq.read_metadata(where, filesystem=filesystem).metadata or {}
    except (OSError, pa.ArrowException):
        return None
    prefix = METADATA_PREFIX.encode()
    return {
        key[len(prefix) :].decode(): value.decode()
        for key, value in metadata.items()
        if key.startswith(prefix)
    }


def output_metadata(
    model: Any,
    config: ScoringConfig,
    path: Location,
    fingerprint: str,
    text_column: str,
    profile: TextProfile,
) -> dict[str, str]:
    """The ``sentiment.*`` key-value metadata of a scored file (keys without the prefix)."""
    return {
        "model_version": model.version,
        # Where the bundle came from: the registry (champion or --model), or a path.
        "model_source": "path" if config.bundle_path else "registry",
        "bundle_path": config.bundle_path or "",
        "threshold": repr(resolved_threshold(model, config)),
        "explain": str(config.explain),
        "uncertain": json.dumps(config.uncertain),
        "input_path": str(path),
        "input_fingerprint": fingerprint,
        "text_column": text_column,
        "text_column_setting": str(config.text_column),
        "scoring_key": scoring_key_of(model, config, text_column),
        "scored_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "profile": json.dumps(profile.to_dict()),
    }


def metadata_entries(metadata: dict[str, str]) -> dict[bytes, bytes]:
    """``metadata`` as Parquet key-value entries under the ``sentiment.`` prefix."""
    return {_metadata_key(key): value.encode() for key, value in metadata.items()}


# --- the failures file ------------------------------------------------------------


def write_failures(output_dir: Location, results: Sequence[FileResult]) -> Location | None:
    """Write this run's failures to ``failed.jsonl`` beside the outputs.

    One JSON object per line (``path``, ``reason``). With no failures an old
    ``failed.jsonl`` is removed, so the file always describes the latest run.

    Returns:
        The file's path, or None when nothing failed.
    """
    destination = storage.join(output_dir, FAILED_FILE)
    failures = [result for result in results if result.status == "failed"]
    if not failures:
        with contextlib.suppress(OSError):
            storage.remove(destination)
        return None
    lines = "".join(
        json.dumps({"path": result.input_path, "reason": result.reason}, ensure_ascii=False) + "\n"
        for result in failures
    )
    try:
        storage.write_bytes(destination, lines.encode("utf-8"))
    except OSError as error:
        # The failures must survive an unwritable output: they go to the temporary
        # directory instead, and the run's summary names where.
        fallback = Path(tempfile.gettempdir()) / (
            f"sentiment-failed-{datetime.now(UTC):%Y%m%d-%H%M%S}-{os.getpid()}.jsonl"
        )
        write_text(fallback, lines)
        logger.warning(
            "Could not write %s (%s); the failures are in %s", destination, error, fallback
        )
        return fallback
    return destination

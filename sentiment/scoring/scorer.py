"""Batch scoring: review files in, one scored Parquet file per input out.

Each input streams through overlapping stages: the calling thread decodes record
batches, background threads encode their texts with the bundle's vectorizer (compiled
loops and Arrow calls that release the GIL), and the calling thread runs the model on
each encoded batch in order (TensorFlow releases the GIL too) and appends it as a
Parquet row group. At most a few batches are in flight, so memory stays flat whatever
the file's size.

Every output is written under a temporary name and renamed when complete; its Parquet
key-value metadata records the model version, threshold and input fingerprint, so a
rerun skips inputs already scored the same way. A bad input becomes a failed
:class:`FileResult`, never an exception that stops the batch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sentiment.core import storage
from sentiment.core.arrays import arrow_array
from sentiment.core.errors import ConfigError, DataError
from sentiment.core.storage import Location
from sentiment.encoding.encoded import EncodingStats
from sentiment.encoding.tokens import has_text, string_column, token_counts
from sentiment.encoding.vectorizer import Vectorizer
from sentiment.modeling.profile import TextProfile
from sentiment.reading.files import InputFile, detect_format
from sentiment.reading.fingerprint import content_fingerprint
from sentiment.reading.readers import BatchReader
from sentiment.scoring.config import ScoringConfig
from sentiment.scoring.fingerprint import require_unchanged
from sentiment.scoring.outputs import (
    REASONS_COLUMN,
    OutputError,
    metadata_entries,
    output_errors,
    output_metadata,
    output_schema,
    read_scoring_metadata,
    resolved_threshold,
    scored_batch,
    scoring_key_of,
)
from sentiment.scoring.results import FileResult

logger = logging.getLogger(__name__)

BatchCallback = Callable[[int, float], None]


class ScoringFailedError(DataError):
    """Some inputs could not be scored; the others were."""


class Encoder(Protocol):
    """What scoring needs from a vectorizer (:class:`sentiment.encoding.vectorizer.Vectorizer`)."""

    def token_lists(self, texts: pa.StringArray) -> pa.ListArray: ...

    def encode_token_lists(self, lists: pa.ListArray) -> tuple[np.ndarray, EncodingStats]: ...


class ScoringModel(Protocol):
    """What scoring needs from a model bundle (:class:`sentiment.modeling.bundle.ModelBundle`)."""

    version: str
    vectorizer: Any

    def predict_token_ids(self, token_ids: np.ndarray, batch_size: int = 1024) -> np.ndarray: ...


# --- reading and encoding -----------------------------------------------------------


@dataclass(frozen=True)
class _Prepared:
    batch: pa.RecordBatch
    valid: np.ndarray
    token_ids: np.ndarray
    lengths: np.ndarray
    tokens: int
    oov_tokens: int
    fraction_done: float = 0.0
    # Set by a model that scores texts itself (score_texts): the valid rows' scores,
    # reasons, and which of them hold a known word.
    scores: np.ndarray | None = None
    reasons: pa.Array | None = None
    known_text: np.ndarray | None = None

    @property
    def known(self) -> np.ndarray:
        """Which valid rows hold a word the model knows."""
        if self.known_text is not None:
            return self.known_text
        return known_rows(self.token_ids)


def known_rows(token_ids: np.ndarray) -> np.ndarray:
    """Rows of encoded reviews holding at least one id besides padding and OOV."""
    if token_ids.size == 0:
        return np.zeros(token_ids.shape[0], dtype=bool)
    return (token_ids > Vectorizer.OOV_ID).any(axis=1)


def _encode(encoder: Encoder, texts: pa.StringArray) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Encode texts; return ids, length of each text in words, word tokens, OOV tokens.

    Texts are tokenized once; lengths and OOV counts come from the same tokens the model
    sees (before truncation).
    """
    lists = encoder.token_lists(texts)
    token_ids, stats = encoder.encode_token_lists(lists)
    return token_ids, token_counts(lists), stats.tokens, stats.oov_tokens


def _prepare(
    batch: pa.RecordBatch, text_column: str, encoder: Encoder, explain: int = 0
) -> _Prepared:
    column = batch.column(text_column)
    if hasattr(encoder, "score_column"):
        # A compiled linear scorer: finds the texts, tokenizes, looks up and scores in
        # one pass over the column's bytes, no token lists or ids.
        valid, scored = encoder.score_column(column, explain=explain)
        lengths = np.zeros(valid.size, dtype=np.int64)
        if not valid.any():
            return _Prepared(batch, valid, np.zeros((0, 0), dtype=np.int32), lengths, 0, 0)
        lengths[valid] = scored.token_counts
        return _Prepared(
            batch,
            valid,
            np.zeros((0, 0), dtype=np.int32),
            lengths,
            int(scored.token_counts.sum()),
            int(scored.oov_counts.sum()),
            scores=scored.scores,
            reasons=scored.reasons,
            known_text=scored.token_counts > scored.oov_counts,
        )
    valid = has_text(column)
    lengths = np.zeros(valid.size, dtype=np.int64)
    if not valid.any():
        return _Prepared(batch, valid, np.zeros((0, 0), dtype=np.int32), lengths, 0, 0)
    selected = string_column(column).filter(arrow_array(valid))
    token_ids, valid_lengths, tokens, oov_tokens = _encode(encoder, selected)
    lengths[valid] = valid_lengths
    return _Prepared(batch, valid, token_ids, lengths, tokens, oov_tokens)


# Files smaller than this are encoded in the scoring thread (see write_scored).
_ENCODE_AHEAD_BYTES = 1 << 20
# Niceness the encoding threads add to their own (Linux schedules threads one by one).
_ENCODE_NICENESS = 5


def _lower_thread_priority() -> None:
    """Run the calling thread below the model's threads.

    Where encoding and TensorFlow's thread pool compete for the cores, a preempted
    TensorFlow shard stalls the whole batch; yielding to it lets encoding fill the gaps
    instead. On the 2-core VM this made mlp scoring measurably faster
    (docs/decisions/0009-two-encoding-threads.md). Lowering one's own priority needs no
    privilege; where threads cannot be reniced this does nothing.
    """
    with contextlib.suppress(AttributeError, OSError):
        thread = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(19, current + _ENCODE_NICENESS))


def _prepared_batches(
    reader: BatchReader, encoder: Encoder, threads: int, explain: int = 0
) -> Iterator[_Prepared]:
    """Yield the reader's batches encoded, in order, by ``threads`` background threads.

    Tokenizing and n-gram encoding are compiled loops and Arrow calls that release the
    GIL, so the threads encode while the caller predicts and writes (TensorFlow and
    Parquet release it too). At most ``threads + 1`` batches are in flight: memory stays
    flat whatever the file's size. ``threads=0`` encodes in the calling thread.
    """
    if threads == 0:
        for batch in reader:
            yield dataclasses.replace(
                _prepare(batch, reader.text_column, encoder, explain),
                fraction_done=reader.fraction_done(),
            )
        return

    def prepare(batch: pa.RecordBatch, fraction_done: float) -> _Prepared:
        prepared = _prepare(batch, reader.text_column, encoder, explain)
        return dataclasses.replace(prepared, fraction_done=fraction_done)

    batches = iter(reader)
    pending: deque[Future[_Prepared]] = deque()

    def submit_next() -> None:
        batch = next(batches, None)
        if batch is not None:
            pending.append(pool.submit(prepare, batch, reader.fraction_done()))

    with ThreadPoolExecutor(
        threads, thread_name_prefix="sentiment-encode", initializer=_lower_thread_priority
    ) as pool:
        try:
            for _ in range(threads + 1):
                submit_next()
            while pending:
                prepared = pending.popleft().result()
                submit_next()
                yield prepared
        finally:
            for future in pending:
                future.cancel()


def _text_scorer(model: Any, config: ScoringConfig) -> Any:
    """The model's compiled text scorer, or None; explaining needs one.

    Raises:
        ConfigError: If reasons are asked of a bundle that is not linear.
    """
    scorer = getattr(model, "text_scorer", None)
    if config.explain and scorer is None:
        name = getattr(model, "model_name", None) or model.version
        raise ConfigError(
            f"reasons are not available for model {name} (not linear); score without "
            "--explain or with a linear model such as nbsvm."
        )
    return scorer


# --- up-to-date check ---------------------------------------------------------------


def _up_to_date(
    existing: dict[str, str], model: Any, config: ScoringConfig, path: Location
) -> bool:
    """Same settings (the whole :func:`scoring_key`) and the same content, hashed now.

    Size and modification time are never trusted: a same-size edit with its time
    restored (``cp -p``) keeps both. Hashing costs a read of the input, a small share
    of scoring it (docs/decisions/0011-reruns-skip-by-content.md).
    """
    if existing.get("scoring_key") != scoring_key_of(
        model, config, existing.get("text_column", "")
    ):
        return False
    return existing.get("input_fingerprint") == content_fingerprint(path)


# --- scoring ------------------------------------------------------------------------


def score_file(
    input_file: InputFile,
    output_dir: Location,
    model: ScoringModel,
    config: ScoringConfig,
    on_batch: BatchCallback | None = None,
) -> FileResult:
    """Score one input into ``output_dir / input_file.output_name``.

    Never raises for a bad input: an unreadable file, a missing text column or a
    wrong type gives a ``failed`` result with a one-sentence reason, and no output.

    Args:
        input_file: The input (from :func:`sentiment.reading.readers.discover_inputs`).
        output_dir: Where the scored Parquet file goes.
        model: The bundle that scores (its vectorizer encodes the texts).
        config: Scoring settings.
        on_batch: Called after each written batch with (rows written so far, share of
            the input read); an exception it raises aborts this file with no output.

    Returns:
        The outcome, with counts over the output's rows.
    """
    started = time.perf_counter()
    path = input_file.path
    output_path = storage.join(output_dir, input_file.output_name)
    _text_scorer(model, config)  # a run-wide setting error, not this file's
    try:
        if not config.force and storage.exists(output_path):
            existing = read_scoring_metadata(output_path)
            if existing is not None and _up_to_date(existing, model, config, path):
                profile = TextProfile.from_dict(json.loads(existing["profile"]))
                # Per-file lines are debug: the caller logs a batch of small files once.
                logger.debug("Skipping %s: %s is up to date", path, output_path)
                return FileResult(
                    input_path=str(path),
                    output_path=str(output_path),
                    status="skipped",
                    reason=(
                        f"{storage.name(output_path)} already scored with model {model.version}"
                    ),
                    profile=profile,
                    seconds=time.perf_counter() - started,
                )
        profile, seconds = write_scored(input_file, output_path, model, config, on_batch)
    except Exception as error:  # a bad file must never stop the batch
        reason = failure_reason(path, error)
        logger.warning("Failed to score %s: %s", path, reason)
        return FileResult(
            input_path=str(path),
            output_path=None,
            status="failed",
            reason=reason,
            seconds=time.perf_counter() - started,
        )
    logger.debug(
        "Scored %s: %d rows (%d without text) in %.1f s -> %s",
        path,
        profile.rows,
        profile.null_text_rows,
        seconds,
        output_path,
    )
    return FileResult(
        input_path=str(path),
        output_path=str(output_path),
        status="scored",
        profile=profile,
        seconds=seconds,
    )


def failure_reason(path: Location, error: Exception) -> str:
    """One sentence saying why ``path`` could not be scored and what to check."""
    if isinstance(error, DataError | OutputError):
        return str(error)
    detail = " ".join(str(error).split()) or type(error).__name__
    if len(detail) > 300:
        detail = detail[:300] + "..."
    if isinstance(error, FileNotFoundError):
        return (
            f"Input {path} was deleted or moved while the run was scoring it ({detail}); no "
            "output was kept, so score it again once it is back."
        )
    if isinstance(error, OSError) and storage.is_remote(path):
        return (
            f"Input {path} could not be read from the object store ({detail}); check the "
            "network, the endpoint (AWS_ENDPOINT_URL) and the credentials, then score it again."
        )
    fix = "check that the file is a complete, valid file of its type"
    if detect_format(path) is not None and detect_format(path)[0] == "jsonl":
        fix += " (JSON inputs hold one object per line, with one type per field)"
    return f"Input {path} could not be read or scored ({type(error).__name__}: {detail}); {fix}."


def write_scored(
    input_file: InputFile,
    output_path: Location,
    model: ScoringModel,
    config: ScoringConfig,
    on_batch: BatchCallback | None = None,
    rows: tuple[int, int] | None = None,
    planned_fingerprint: str | None = None,
    part_marker: Callable[[str], str] | None = None,
    byte_range: tuple[int, int, int] | None = None,
    json_schema: pa.Schema | None = None,
    first_row: int = 0,
) -> tuple[TextProfile, float]:
    """Score an input (or rows ``[start, stop)`` of a Parquet input) into ``output_path``
    atomically; raise on any problem (see :func:`score_file` for the forgiving form).

    Args:
        input_file: The input.
        output_path: The scored Parquet file to write.
        model: The bundle that scores.
        config: Scoring settings.
        on_batch: Called after each written batch (see :func:`score_file`).
        rows: Only these rows (a shard of a large Parquet file).
        planned_fingerprint: With ``rows``, the whole file's fingerprint taken by the
            run, recorded in the output in place of one taken here.
        part_marker: Given the text column found, the ``part`` metadata entry that
            tells a later run this part is reusable.
        byte_range: Only bytes ``[start, stop)`` of a plain JSON-lines input, starting on
            line ``first line`` (``(start, stop, first_line)``), parsed with ``json_schema``.
        json_schema: The whole JSON-lines file's schema, with ``byte_range``.
        first_row: With ``byte_range``, the rows of the file before it (batches are
            cut at the same rows as in a whole-file run).

    Returns:
        The profile of the rows written, and the seconds spent on their batches
        (reading, encoding, scoring and writing them): the scoring work a reviews/s
        figure counts, without opening the input (a first CSV read compiles its
        scanner), creating the output, hashing the input again or renaming the output.
    """
    path = input_file.path
    profile = TextProfile()
    seconds = 0.0
    with BatchReader(
        input_file,
        batch_rows=config.read_rows,
        text_column=config.text_column,
        rows=rows,
        byte_range=byte_range,
        schema=json_schema,
        first_row=first_row,
    ) as reader:
        text_scorer = _text_scorer(model, config)
        encoder = model.vectorizer if text_scorer is None else text_scorer
        schema = output_schema(reader.schema, explain=config.explain > 0, path=path)
        with contextlib.ExitStack() as output:
            with output_errors(output_path):
                # A local temporary is locked while written: the lock dies with the
                # process, so a later run can tell a killed run's temporary from a live one.
                temporary = output.enter_context(storage.atomic_output(output_path, locked=True))
                filesystem, where = storage.filesystem(temporary)
                writer = pq.ParquetWriter(
                    where, schema, filesystem=filesystem, compression="snappy"
                )
            output.callback(writer.close)
            # A file that is one batch or less gains nothing from encoding ahead, and
            # starting the threads costs more than scoring a one-row file.
            threads = config.encode_threads if reader.size_bytes >= _ENCODE_AHEAD_BYTES else 0
            batch_started = time.perf_counter()
            for prepared in _prepared_batches(reader, encoder, threads, config.explain):
                _score_batch(prepared, model, config, profile, writer, output_path, schema)
                seconds += time.perf_counter() - batch_started
                if on_batch is not None:  # progress reports are not scoring work
                    on_batch(profile.rows, prepared.fraction_done)
                batch_started = time.perf_counter()
            if rows is None and byte_range is None:
                # What was scored is exactly what was read, and the file still holds it.
                fingerprint = require_unchanged(path, reader.fingerprint())
            else:
                # A shard: the run hashed the whole file before and hashes it after.
                fingerprint = str(planned_fingerprint)
            metadata = output_metadata(
                model, config, path, fingerprint, reader.text_column, profile
            )
            if rows is not None or byte_range is not None:
                metadata["range"] = json.dumps(list(rows or byte_range or ()))
            if part_marker is not None:
                metadata["part"] = part_marker(reader.text_column)
            with output_errors(output_path):
                writer.add_key_value_metadata(metadata_entries(metadata))
                output.close()  # closes the writer, then renames the file into place
    return profile, seconds


def _score_batch(
    prepared: _Prepared,
    model: ScoringModel,
    config: ScoringConfig,
    profile: TextProfile,
    writer: pq.ParquetWriter,
    output_path: Location,
    schema: pa.Schema,
) -> None:
    """Score a prepared batch's rows that hold a known word and append it to the output."""
    threshold = resolved_threshold(model, config)
    scores = np.full(prepared.valid.size, np.nan, dtype=np.float32)
    scored = np.zeros(prepared.valid.size, dtype=bool)
    if prepared.valid.any():
        known = prepared.known
        scored[np.flatnonzero(prepared.valid)[known]] = True
        if known.any():
            if prepared.scores is not None:
                valid_scores = prepared.scores[known]
            else:
                token_ids = prepared.token_ids if known.all() else prepared.token_ids[known]
                valid_scores = model.predict_token_ids(token_ids, batch_size=config.batch_size)
            scores[scored] = valid_scores
            profile.add_scores(valid_scores, threshold, config.uncertain)
        profile.unknown_text_rows += int(known.size - np.count_nonzero(known))
    profile.add_texts(prepared.valid, prepared.lengths, prepared.tokens, prepared.oov_tokens)
    reasons = None
    if config.explain:
        reasons = prepared.reasons
        if reasons is None:  # a batch without any text
            reasons = pa.array([], type=schema.field(REASONS_COLUMN).type)
    batch = scored_batch(
        prepared.batch,
        scores,
        prepared.valid,
        threshold,
        model.version,
        scored,
        config.uncertain,
        reasons,
    )
    with output_errors(output_path):
        writer.write_batch(batch)

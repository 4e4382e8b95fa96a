"""Raw reviews to padded integer sequences in Parquet, cached by settings and inputs.

``preprocess`` reads ``raw/imdb/{train,test}.parquet``, splits a stratified, seeded
validation portion off train (test stays for evaluation only), fits the vectorizer on the
rest of train and writes::

    processed/<key>/train.parquet       review_id, label int8, token_ids int32[max_length]
    processed/<key>/validation.parquet
    processed/<key>/test.parquet
    processed/<key>/vectorizer.json     settings + vocabulary in id order
    processed/<key>/manifest.json       settings, inputs, rows, OOV rates, coverage, seconds

Train and test also hold the train and test portions of every labelled batch of the
home's current data snapshot (``sentiment.data.snapshot``), after the IMDB rows, in
snapshot order; the manifest names the snapshot (``data_snapshot``).

``<key>`` hashes the settings, the raw files' content fingerprints, the snapshot's id
when it holds batches (an IMDB-only snapshot is the fingerprints alone) and the output format,
so a rerun on the same inputs is a cache hit and a changed setting or input never reuses
stale output. The directory is built under a temporary name and renamed when complete.

Input fingerprints are the sha256 of each raw file's bytes (first 16 hex digits): reliable
whatever wrote the file, and cheap (~0.1 s for the ~60 MB of IMDB Parquet).

With ``workers`` > 1, worker processes (forked at the start of the run, or started by
a fork server where TensorFlow or a similar framework is loaded: see
:func:`_start_method`) tokenize train and tokenize + encode test, batch by batch and a
few batches ahead, while this process counts the vocabulary, pads train and writes;
results are taken in file order, so the output is byte-for-byte the same for any worker
count.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sentiment.core.arrays import arrow_array, numpy_values
from sentiment.core.atomic import (
    atomic_directory,
    file_fingerprint,
    settings_fingerprint,
    write_json,
)
from sentiment.core.errors import ConfigError, DataError, StageOutputMissingError
from sentiment.core.paths import HomeLayout
from sentiment.data.config import DEFAULT_TOKENIZE_WORKERS, PreprocessConfig
from sentiment.data.snapshot import Snapshot, current_snapshot
from sentiment.encoding.encoded import EncodingStats
from sentiment.encoding.tokens import dictionary_tokens, token_lists
from sentiment.encoding.vectorizer import Vectorizer
from sentiment.encoding.vectorizer_file import VECTORIZER_FILE
from sentiment.encoding.vocabulary import VocabularyCounter

logger = logging.getLogger(__name__)

# Bump when the output's layout or meaning changes: every old key becomes stale.
FORMAT_VERSION = 1
PROCESSED_SPLITS = ("train", "validation", "test")
RAW_SPLITS = ("train", "test")
MANIFEST_FILE = "manifest.json"
# Rows per Parquet row group: what tf.data streams at a time.
ROW_GROUP_ROWS = 4096
# Raw rows read and tokenized at a time: small enough that two worker processes share
# a 25k-review split evenly, large enough that per-batch overheads stay negligible.
RAW_BATCH_ROWS = 2048
# Batches in flight per worker process: bounds memory while keeping workers busy.
_BATCHES_AHEAD_PER_WORKER = 4
# Frameworks whose native thread pools make plain fork unsafe: see _start_method().
_FORK_UNSAFE_MODULES = ("tensorflow", "torch", "jax")


@dataclass(frozen=True)
class PreprocessResult:
    """A complete preprocessing output.

    Attributes:
        key: The output's key (settings + inputs).
        directory: ``processed/<key>``.
        manifest: The parsed ``manifest.json``.
        cache_hit: True when the output already existed and nothing was computed.
        seconds: Time this call took.
        data_snapshot: The data snapshot it was built from.
    """

    key: str
    directory: Path
    manifest: dict[str, Any]
    cache_hit: bool
    seconds: float
    data_snapshot: str = ""

    def split_path(self, split: str) -> Path:
        """The Parquet file of ``train``, ``validation`` or ``test``."""
        return self.directory / f"{split}.parquet"

    @property
    def vectorizer_path(self) -> Path:
        return self.directory / VECTORIZER_FILE

    def to_markdown(self) -> str:
        """The run summary: settings, rows, coverage, OOV rates, cache hit or not."""
        manifest = self.manifest
        settings = manifest["settings"]
        vectorizer = settings["vectorizer"]
        vocabulary = manifest["vocabulary"]
        lines = [
            f"# Preprocessing `{self.key}`" + (" (cache hit)" if self.cache_hit else ""),
            "",
            f"Output: `{self.directory}`",
            "",
            "| setting | value |",
            "|---|---|",
            *(f"| {name} | {value} |" for name, value in vectorizer.items()),
            f"| validation_fraction | {settings['validation_fraction']} |",
            f"| seed | {settings['seed']} |",
            "",
            "| split | rows | negative | positive | empty | truncated | OOV rate |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for split in PROCESSED_SPLITS:
            summary = manifest["splits"][split]
            lines.append(
                f"| {split} | {summary['rows']:,} | {summary['negative']:,} | "
                f"{summary['positive']:,} | {summary['empty_documents']:,} | "
                f"{summary['truncated_documents']:,} | {summary['oov_rate']:.2%} |"
            )
        lines += [
            "",
            f"Vocabulary: {vocabulary['entries']:,} tokens (+ padding and OOV ids) out of "
            f"{vocabulary['distinct_training_words']:,} distinct training words; they cover "
            f"{vocabulary['training_token_coverage']:.2%} of the training tokens.",
            "",
            f"Cache hit: {'yes' if self.cache_hit else 'no'}; this run took "
            f"{self.seconds:.2f} s (building the output took {manifest['seconds']:.2f} s).",
        ]
        return "\n".join(lines)


def output_schema(max_length: int) -> pa.Schema:
    """The schema of every processed split."""
    return pa.schema(
        [
            pa.field("review_id", pa.string()),
            pa.field("label", pa.int8()),
            pa.field("token_ids", pa.list_(pa.int32(), max_length)),
        ]
    )


# --- raw inputs ---------------------------------------------------------------------


def _check_raw_file(path: Path, home: Path) -> None:
    """Fail with a one-sentence DataError unless ``path`` is a raw split we can read."""
    fix = f"run 'sentiment --home {home} ingest' to (re)write it"
    if not path.is_file():
        raise DataError(f"Raw file {path} is missing; {fix}.")
    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException) as error:
        raise DataError(f"Raw file {path} is not readable Parquet ({error}); {fix}.") from error
    expected = {
        "review_id": (pa.types.is_string, pa.types.is_large_string),
        "text": (pa.types.is_string, pa.types.is_large_string),
        "label": (pa.types.is_integer,),
    }
    for column, checks in expected.items():
        if column not in schema.names:
            raise DataError(
                f"Raw file {path} has no '{column}' column (it has {', '.join(schema.names)}); "
                f"{fix}."
            )
        column_type = schema.field(column).type
        if not any(check(column_type) for check in checks):
            kind = "an integer" if column == "label" else "a string"
            raise DataError(
                f"Column '{column}' of raw file {path} is {column_type}, not {kind}; {fix}."
            )


def input_fingerprints(home: Path) -> dict[str, str]:
    """Check the raw train and test files and return their content fingerprints.

    Raises:
        DataError: If a raw file is missing, unreadable or has the wrong schema.
    """
    layout = HomeLayout(Path(home))
    fingerprints = {}
    for split in RAW_SPLITS:
        path = layout.raw_split(split)
        _check_raw_file(path, layout.home)
        fingerprints[split] = file_fingerprint(path)
    return fingerprints


def processed_key(
    config: PreprocessConfig, fingerprints: dict[str, str], snapshot: Snapshot | None = None
) -> str:
    """The output key: a hash of settings, input fingerprints, snapshot and output format.

    A snapshot without batches adds nothing: its id is a hash of the same fingerprints,
    so outputs written before labelled batches existed keep their keys.
    """
    payload: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "settings": config.to_dict(),
        "inputs": fingerprints,
    }
    if snapshot is not None and snapshot.batches:
        payload["snapshot"] = snapshot.id
    return settings_fingerprint(payload)


def _split_inputs(home: Path, snapshot: Snapshot) -> dict[str, list[Path]]:
    """Each raw split's files: IMDB's, then the batches' portions in snapshot order."""
    layout = HomeLayout(home)
    inputs = {
        split: [layout.raw_split(split), *snapshot.portion_paths(home, split)]
        for split in RAW_SPLITS
    }
    for paths in inputs.values():
        for path in paths[1:]:
            if not path.is_file():
                raise DataError(
                    f"Labelled batch file {path} of snapshot {snapshot.id} is missing; restore "
                    "the batch directory from a backup (batches are never rewritten)."
                )
    return inputs


def _read_all_labels(paths: list[Path]) -> np.ndarray:
    return np.concatenate([_read_labels(path) for path in paths])


def _read_labels(path: Path) -> np.ndarray:
    """The label column as int8, refusing nulls and values other than 0 and 1."""
    # Not pq.read_table and to_numpy: those import pyarrow.dataset and pandas, ~0.5
    # CPU-seconds the first time in a process.
    labels = pq.ParquetFile(path).read(columns=["label"]).column("label").combine_chunks()
    fix = "re-ingest it with 'sentiment ingest'"
    if labels.null_count:
        raise DataError(
            f"Column 'label' of raw file {path} has {labels.null_count} null value(s); {fix}."
        )
    values = numpy_values(labels)
    bad = values[(values != 0) & (values != 1)]
    if len(bad):
        raise DataError(
            f"Column 'label' of raw file {path} holds {bad[0]} (only 0 and 1 are labels); {fix}."
        )
    return values.astype(np.int8)


def validation_mask(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Pick a stratified, seeded validation portion: a boolean mask over ``labels``.

    Each label keeps its share: ``round(fraction * count)`` of its rows are drawn.
    """
    generator = np.random.default_rng(seed)
    mask = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        chosen = generator.permutation(rows)[: round(fraction * len(rows))]
        mask[chosen] = True
    return mask


def _raw_batches(paths: list[Path]) -> Iterator[pa.RecordBatch]:
    for path in paths:
        parquet = pq.ParquetFile(path)
        yield from parquet.iter_batches(
            batch_size=RAW_BATCH_ROWS, columns=["review_id", "text", "label"]
        )


def _start_method() -> str:
    """How worker processes start: ``fork`` where it is safe, else ``forkserver``.

    Plain fork starts workers at once, with nothing to import: two-worker runs took
    2.73 s and 4.9 CPU-s instead of 3.12 s and 5.7 CPU-s with a fork server
    (docs/benchmarks.md). It is safe here because the workers run only this module's
    tokenizing and encoding (numpy, pyarrow and Python code) and leave by ``os._exit``:
    the locks they can take are CPython's (reset after fork), glibc malloc's,
    jemalloc's and OpenBLAS's (all reset by their fork handlers), never one held by a
    thread of the parent such as Prefect's event loop. A framework with
    its own native thread pools (TensorFlow, PyTorch, JAX) may hold state that those
    handlers do not cover, so where one is loaded the workers come from a fork server,
    a fresh process that imports only this module; spawn where neither exists.
    """
    methods = multiprocessing.get_all_start_methods()
    loaded = any(name in sys.modules for name in _FORK_UNSAFE_MODULES)
    if "fork" in methods and not loaded:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


def _check_workers(workers: int | None) -> int:
    if workers is None:
        return DEFAULT_TOKENIZE_WORKERS
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(
            f"Setting 'workers' must be a positive integer, got {workers!r}; pass --workers 1 "
            "or more (0 in the CLI picks it automatically)."
        )
    return workers


def _process_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of worker processes (see :func:`_start_method`), starting now.

    Started before the inputs are read, so the workers (or the fork server, which
    imports this module once) are ready when the first batch is.
    """
    context = multiprocessing.get_context(_start_method())
    if context.get_start_method() == "forkserver":
        context.set_forkserver_preload([__name__])
    pool = ProcessPoolExecutor(workers, mp_context=context)
    # The first task starts the processes: all of them now with fork (before this
    # process reads anything), one for a fork server, which then forks the rest.
    pool.submit(os.getpid)
    return pool


def _tokenize_texts(texts: pa.Array) -> tuple[pa.DictionaryArray, np.ndarray]:
    """Worker: a batch's tokens, dictionary-encoded, and tokens per review."""
    return dictionary_tokens(token_lists(texts))


def _encode_texts(vectorizer: Vectorizer, texts: pa.Array) -> tuple[np.ndarray, EncodingStats]:
    """Worker: a batch's padded ids and counts."""
    return vectorizer.encode_token_lists(token_lists(texts))


class _Ahead:
    """Applies ``function`` to the texts of a file's raw batches, ahead of the consumer.

    Results come in file order whatever the executor, so the output never depends on
    how many workers there are. At most ``ahead`` batches are in flight (bounded
    memory). Without an executor everything runs inline when iterated.
    """

    def __init__(
        self,
        paths: list[Path],
        function: Callable[..., Any],
        executor: Executor | None,
        ahead: int,
        *arguments: Any,
    ) -> None:
        self._batches = _raw_batches(paths)
        self._function = function
        self._arguments = arguments
        self._executor = executor
        self._ahead = ahead
        self._pending: deque[tuple[pa.RecordBatch, Future[Any]]] = deque()
        self._fill()

    def _fill(self) -> None:
        while self._executor is not None and len(self._pending) < self._ahead:
            batch = next(self._batches, None)
            if batch is None:
                return
            future = self._executor.submit(self._function, *self._arguments, batch.column("text"))
            self._pending.append((batch, future))

    def __iter__(self) -> Iterator[tuple[pa.RecordBatch, Any]]:
        if self._executor is None:
            for batch in self._batches:
                yield batch, self._function(*self._arguments, batch.column("text"))
            return
        while self._pending:
            batch, future = self._pending.popleft()
            self._fill()
            yield batch, future.result()


# --- output -------------------------------------------------------------------------


class _SplitWriter:
    """Writes one processed split in row groups of ``ROW_GROUP_ROWS`` and counts it."""

    def __init__(self, path: Path, max_length: int) -> None:
        self.path = path
        self._max_length = max_length
        self._schema = output_schema(max_length)
        self._writer = pq.ParquetWriter(
            path,
            self._schema,
            # LZ4: the fastest codec to write here, and training reads it back each
            # epoch about twice as fast as zstd, for files ~35% larger (12 vs 9 MB).
            compression="lz4",
            # Ids are mostly padding and a few thousand distinct values; dictionary
            # pages would cost more time than they save space.
            use_dictionary=["review_id", "label"],
        )
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self.rows = 0
        self.labels = np.zeros(2, dtype=np.int64)
        self.stats = EncodingStats()

    def add(
        self, review_ids: pa.Array, labels: np.ndarray, ids: np.ndarray, stats: EncodingStats
    ) -> None:
        if len(labels) == 0:
            return
        token_ids = pa.FixedSizeListArray.from_arrays(arrow_array(ids.ravel()), self._max_length)
        table = pa.Table.from_arrays(
            [review_ids.cast(pa.string()), arrow_array(labels.astype(np.int8)), token_ids],
            schema=self._schema,
        )
        self._pending.append(table)
        self._pending_rows += len(labels)
        self.rows += len(labels)
        self.labels += np.bincount(labels, minlength=2)[:2]
        self.stats += stats
        while self._pending_rows >= ROW_GROUP_ROWS:
            self._flush(ROW_GROUP_ROWS)

    def _flush(self, rows: int) -> None:
        table = pa.concat_tables(self._pending)
        self._writer.write_table(table.slice(0, rows), row_group_size=rows)
        rest = table.slice(rows)
        self._pending = [rest] if len(rest) else []
        self._pending_rows = len(rest)

    def close(self) -> dict[str, Any]:
        if self._pending_rows:
            self._flush(self._pending_rows)
        self._writer.close()
        return {
            "rows": self.rows,
            "negative": int(self.labels[0]),
            "positive": int(self.labels[1]),
            **self.stats.to_dict(),
        }


def _take(batch: pa.RecordBatch, rows: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    selection = arrow_array(rows)
    review_ids = batch.column("review_id").take(selection)
    labels = numpy_values(batch.column("label").take(selection)).astype(np.int8)
    return review_ids, labels


# --- the stage ----------------------------------------------------------------------


def preprocess(
    home: Path, config: PreprocessConfig, prefetch: bool = False, workers: int | None = None
) -> PreprocessResult:
    """Vectorize the raw splits into ``processed/<key>/``, or reuse an identical output.

    Args:
        home: The pipeline home (raw files under ``raw/imdb``).
        config: The settings.
        prefetch: With one worker, tokenize upcoming batches in a background thread
            (same output). Off by default: on this project's 2-core VM the GIL
            hand-offs between the tokenizing thread and the Arrow calls cost more than
            the overlap gains (see docs/benchmarks.md). Ignored with several workers.
        workers: Processes that tokenize (and encode test) batch by batch while this
            one counts, pads and writes; 1 does everything in this process. ``None``
            means ``DEFAULT_TOKENIZE_WORKERS``. The output is byte-for-byte the same for
            any value, so it is not part of the output's key.

    Returns:
        The output; ``cache_hit`` tells whether it was already there.

    Raises:
        DataError: If a raw file is missing, unreadable, has the wrong schema or bad
            labels, or train is too small to split.
        ConfigError: If ``workers`` is not a positive integer.
    """
    started = time.perf_counter()
    workers = _check_workers(workers)
    home = Path(home)
    layout = HomeLayout(home)
    fingerprints = input_fingerprints(home)
    snapshot = current_snapshot(home, fingerprints)
    key = processed_key(config, fingerprints, snapshot)
    directory = layout.processed(key)
    cached = _complete_manifest(directory)
    if cached is not None:
        seconds = time.perf_counter() - started
        logger.info("Preprocessed data %s is up to date (%.2f s).", directory, seconds)
        return PreprocessResult(key, directory, cached, True, seconds, snapshot.id)

    inputs = _split_inputs(home, snapshot)
    # More processes than batches would only wait: tiny inputs stay in this process.
    rows = max(sum(pq.read_metadata(path).num_rows for path in paths) for paths in inputs.values())
    workers = min(workers, -(-rows // RAW_BATCH_ROWS))
    pool = _process_pool(workers) if workers > 1 else None
    try:
        return _preprocess_with(
            home, config, key, fingerprints, snapshot, started, pool, workers, prefetch
        )
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _preprocess_with(
    home: Path,
    config: PreprocessConfig,
    key: str,
    fingerprints: dict[str, str],
    snapshot: Snapshot,
    started: float,
    pool: Executor | None,
    workers: int,
    prefetch: bool,
) -> PreprocessResult:
    """The rest of :func:`preprocess` after the cache check, with its worker pool."""
    layout = HomeLayout(home)
    directory = layout.processed(key)
    inputs = _split_inputs(home, snapshot)
    train_paths, test_paths = inputs["train"], inputs["test"]
    train_path = train_paths[0]
    train_labels = _read_all_labels(train_paths)
    _read_all_labels(test_paths)
    is_validation = validation_mask(train_labels, config.validation_fraction, config.seed)
    validation_rows = int(is_validation.sum())
    if validation_rows == 0 or validation_rows == len(train_labels):
        raise DataError(
            f"Raw file {train_path} has only {len(train_labels)} labelled review(s), too few "
            f"for a validation fraction of {config.validation_fraction}; re-ingest the full "
            "data set with 'sentiment ingest'."
        )
    vector_config = config.vectorizer
    logger.info(
        "Preprocessing %s into %s (%d train, %d validation reviews).",
        layout.raw_dir,
        directory,
        len(train_labels) - validation_rows,
        validation_rows,
    )

    def write_output(pool: Executor | None) -> dict[str, Any]:
        executor: Executor | None = None
        ahead = 0
        if pool is not None:
            executor, ahead = pool, workers * _BATCHES_AHEAD_PER_WORKER
        elif prefetch:
            executor, ahead = ThreadPoolExecutor(1, thread_name_prefix="tokenize"), 2
        with atomic_directory(directory) as temporary, executor or nullcontext():
            # Train is tokenized once: its token ids (compact Arrow arrays, ~30 MB for IMDB)
            # serve both the vocabulary count and the encoding.
            counter = VocabularyCounter(vector_config)
            train_batches = []
            offset = 0
            for batch, (tokens, lengths) in _Ahead(train_paths, _tokenize_texts, executor, ahead):
                batch_validation = is_validation[offset : offset + batch.num_rows]
                offset += batch.num_rows
                counter.add_dictionary(tokens, lengths, documents=~batch_validation)
                train_batches.append((batch, tokens, lengths, batch_validation))
            vectorizer = counter.build()
            # Workers tokenize and encode test while this process encodes and writes train.
            test_batches = _Ahead(test_paths, _encode_texts, executor, ahead, vectorizer)
            fit_stats = EncodingStats()

            writers = {
                split: _SplitWriter(temporary / f"{split}.parquet", vector_config.max_length)
                for split in PROCESSED_SPLITS
            }
            for batch, tokens, lengths, batch_validation in train_batches:
                encoded = vectorizer.encode_dictionary(tokens, lengths)
                for split, rows in (
                    ("train", np.flatnonzero(~batch_validation)),
                    ("validation", np.flatnonzero(batch_validation)),
                ):
                    stats = encoded.stats(rows)
                    writers[split].add(*_take(batch, rows), encoded.ids[rows], stats)
                    if split == "train":
                        fit_stats += stats
            train_batches.clear()
            for batch, (ids, stats) in test_batches:
                rows = np.arange(batch.num_rows)
                writers["test"].add(*_take(batch, rows), ids, stats)
            split_summaries = {split: writer.close() for split, writer in writers.items()}

            vectorizer.save(temporary / VECTORIZER_FILE)
            manifest = {
                "format": FORMAT_VERSION,
                "key": key,
                "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "settings": config.to_dict(),
                "inputs": {
                    split: {
                        "path": str(layout.raw_split(split).relative_to(layout.home)),
                        "fingerprint": fingerprint,
                    }
                    for split, fingerprint in fingerprints.items()
                },
                "data_snapshot": snapshot.id,
                "labelled_batches": list(snapshot.batches),
                "files": {split: f"{split}.parquet" for split in PROCESSED_SPLITS}
                | {"vectorizer": VECTORIZER_FILE},
                "row_group_rows": ROW_GROUP_ROWS,
                "rows": {split: summary["rows"] for split, summary in split_summaries.items()},
                "splits": split_summaries,
                "vocabulary": {
                    "size": len(vectorizer.vocabulary),
                    "entries": len(vectorizer.vocabulary) - 2,
                    "distinct_training_words": counter.distinct_words,
                    "training_tokens": counter.tokens,
                    # Share of the fit portion's word tokens the vocabulary covers.
                    "training_token_coverage": round(1.0 - fit_stats.oov_rate, 6),
                },
                "command": config.command(home),
                "seconds": round(time.perf_counter() - started, 3),
            }
            write_json(temporary / MANIFEST_FILE, manifest)
        return manifest

    try:
        manifest = write_output(pool)
    except BrokenProcessPool:
        if pool is None:
            raise
        # Typically a script without the ``if __name__ == "__main__":`` guard that
        # fresh worker processes need; one process gives the very same output.
        logger.warning(
            "Tokenizing worker processes failed to start; preprocessing in this process. "
            "Call preprocess() under 'if __name__ == \"__main__\":' to use workers."
        )
        manifest = write_output(None)

    seconds = time.perf_counter() - started
    logger.info(
        "Wrote %s in %.2f s: %s.",
        directory,
        seconds,
        ", ".join(f"{split} {rows:,}" for split, rows in manifest["rows"].items()),
    )
    return PreprocessResult(key, directory, manifest, False, seconds, snapshot.id)


def _complete_manifest(directory: Path) -> dict[str, Any] | None:
    """The manifest of a complete output directory, else None."""
    manifest_path = directory / MANIFEST_FILE
    if not manifest_path.is_file():
        return None
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        logger.warning("Ignoring unreadable manifest %s; preprocessing again.", manifest_path)
        return None
    expected = [f"{split}.parquet" for split in PROCESSED_SPLITS] + [VECTORIZER_FILE]
    if not all((directory / name).is_file() for name in expected):
        logger.warning("Output %s is incomplete; preprocessing again.", directory)
        return None
    return manifest


def find_processed(home: Path, config: PreprocessConfig) -> PreprocessResult:
    """Return the preprocessing output for these settings and the current raw data.

    Raises:
        StageOutputMissingError: If the raw data or the output is missing, or the
            output is stale; the message names the command to run.
    """
    started = time.perf_counter()
    home = Path(home)
    layout = HomeLayout(home)
    for split in RAW_SPLITS:
        if not layout.raw_split(split).is_file():
            raise StageOutputMissingError(
                f"Raw file {layout.raw_split(split)} is missing; run 'sentiment --home {home} "
                f"ingest' and then '{config.command(home)}'."
            )
    fingerprints = input_fingerprints(home)
    snapshot = current_snapshot(home, fingerprints)
    key = processed_key(config, fingerprints, snapshot)
    directory = layout.processed(key)
    manifest = _complete_manifest(directory)
    if manifest is None:
        raise StageOutputMissingError(
            f"No preprocessed data for these settings and the current raw data in "
            f"{directory}; run '{config.command(home)}' first."
        )
    return PreprocessResult(
        key, directory, manifest, True, time.perf_counter() - started, snapshot.id
    )

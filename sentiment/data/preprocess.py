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

import logging
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from sentiment.core.atomic import (
    atomic_directory,
    remove_stale_temporaries,
    settings_fingerprint,
    write_json,
)
from sentiment.core.errors import DataError, StageOutputMissingError
from sentiment.core.paths import HomeLayout
from sentiment.core.progress import PROGRESS_SECONDS, Progress
from sentiment.data.config import PreprocessConfig
from sentiment.data.processed import (
    MANIFEST_FILE,
    PROCESSED_SPLITS,
    PreprocessResult,
    SplitWriter,
    complete_manifest,
    take_rows,
)
from sentiment.data.raw_inputs import (
    RAW_SPLITS,
    input_fingerprints,
    read_all_labels,
    split_inputs,
    validation_mask,
)
from sentiment.data.snapshot import Snapshot, current_snapshot
from sentiment.data.workers import (
    BATCHES_AHEAD_PER_WORKER,
    Ahead,
    check_workers,
    encode_texts,
    process_pool,
    tokenize_texts,
    worker_count,
)
from sentiment.encoding.encoded import EncodingStats
from sentiment.encoding.vectorizer_file import VECTORIZER_FILE
from sentiment.encoding.vocabulary import VocabularyCounter

logger = logging.getLogger(__name__)


# Bump when the output's layout or meaning changes: every old key becomes stale.
FORMAT_VERSION = 1


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


def preprocess(
    home: Path,
    config: PreprocessConfig,
    prefetch: bool = False,
    workers: int | None = None,
    progress_seconds: float = PROGRESS_SECONDS,
) -> PreprocessResult:
    """Vectorize the raw splits into ``processed/<key>/``, or reuse an identical output.

    Args:
        home: The pipeline home (raw files under ``raw/imdb``).
        config: The settings.
        prefetch: With one worker, tokenize upcoming batches in a background thread
            (same output). Off by default: on this project's 2-core VM the GIL
            hand-offs between the tokenizing thread and the Arrow calls cost more than
            the overlap gains (``python -m benchmarks.preprocess --compare-prefetch``).
            Ignored with several workers.
        workers: Processes that tokenize (and encode test) batch by batch while this
            one counts, pads and writes; 1 does everything in this process. ``None``
            means ``DEFAULT_TOKENIZE_WORKERS``. The output is byte-for-byte the same for
            any value, so it is not part of the output's key.
        progress_seconds: The least time between two lines saying how many reviews are
            tokenized and written (each step is logged as it starts).

    Returns:
        The output; ``cache_hit`` tells whether it was already there.

    Raises:
        DataError: If a raw file is missing, unreadable, has the wrong schema or bad
            labels, or train is too small to split.
        ConfigError: If ``workers`` is not a positive integer.
    """
    started = time.perf_counter()
    workers = check_workers(workers)
    home = Path(home)
    layout = HomeLayout(home)
    remove_stale_temporaries(layout.processed_dir)
    fingerprints = input_fingerprints(home)
    snapshot = current_snapshot(home, fingerprints)
    key = processed_key(config, fingerprints, snapshot)
    directory = layout.processed(key)
    cached = complete_manifest(directory)
    if cached is not None:
        seconds = time.perf_counter() - started
        logger.info("Preprocessed data %s is up to date (%.2f s).", directory, seconds)
        return PreprocessResult(key, directory, cached, True, seconds, snapshot.id)

    inputs = split_inputs(home, snapshot)
    workers = worker_count(workers, inputs)
    pool = process_pool(workers) if workers > 1 else None
    try:
        return _preprocess_with(
            home,
            config,
            key,
            fingerprints,
            snapshot,
            started,
            pool,
            workers,
            prefetch,
            progress_seconds,
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
    progress_seconds: float,
) -> PreprocessResult:
    """The rest of :func:`preprocess` after the cache check, with its worker pool."""
    layout = HomeLayout(home)
    directory = layout.processed(key)
    inputs = split_inputs(home, snapshot)
    train_paths, test_paths = inputs["train"], inputs["test"]
    train_path = train_paths[0]
    train_labels = read_all_labels(train_paths)
    test_rows = len(read_all_labels(test_paths))
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
        "Preprocessing %d train, %d validation and %d test reviews from %s into %s.",
        len(train_labels) - validation_rows,
        validation_rows,
        test_rows,
        layout.raw_dir,
        directory,
    )

    def write_output(pool: Executor | None) -> dict[str, Any]:
        tokenizing = Progress(
            logger,
            "Tokenizing the training split",
            len(train_labels),
            "reviews",
            progress_seconds,
        )
        executor: Executor | None = None
        ahead = 0
        if pool is not None:
            executor, ahead = pool, workers * BATCHES_AHEAD_PER_WORKER
        elif prefetch:
            executor, ahead = ThreadPoolExecutor(1, thread_name_prefix="tokenize"), 2
        with atomic_directory(directory) as temporary, executor or nullcontext():
            # Train is tokenized once: its token ids (compact Arrow arrays, ~30 MB for IMDB)
            # serve both the vocabulary count and the encoding.
            counter = VocabularyCounter(vector_config)
            train_batches = []
            offset = 0
            for batch, (tokens, lengths) in Ahead(
                train_paths, tokenize_texts, executor, ahead, vector_config.sentence_scope
            ):
                batch_validation = is_validation[offset : offset + batch.num_rows]
                offset += batch.num_rows
                counter.add_dictionary(tokens, lengths, documents=~batch_validation)
                train_batches.append((batch, tokens, lengths, batch_validation))
                tokenizing.advance(batch.num_rows)
            tokenizing.step("fitting the vocabulary")
            vectorizer = counter.build()
            encoding = Progress(
                logger,
                "Encoding and writing the splits",
                len(train_labels) + test_rows,
                "reviews",
                progress_seconds,
            )
            # Workers tokenize and encode test while this process encodes and writes train.
            test_batches = Ahead(test_paths, encode_texts, executor, ahead, vectorizer)
            fit_stats = EncodingStats()

            writers = {
                split: SplitWriter(temporary / f"{split}.parquet", vector_config.max_length)
                for split in PROCESSED_SPLITS
            }
            for batch, tokens, lengths, batch_validation in train_batches:
                encoded = vectorizer.encode_dictionary(tokens, lengths)
                for split, rows in (
                    ("train", np.flatnonzero(~batch_validation)),
                    ("validation", np.flatnonzero(batch_validation)),
                ):
                    stats = encoded.stats(rows)
                    writers[split].add(*take_rows(batch, rows), encoded.ids[rows], stats)
                    if split == "train":
                        fit_stats += stats
                encoding.advance(batch.num_rows)
            train_batches.clear()
            for batch, (ids, stats) in test_batches:
                rows = np.arange(batch.num_rows)
                writers["test"].add(*take_rows(batch, rows), ids, stats)
                encoding.advance(batch.num_rows)
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
                "row_group_rows": writers["train"].row_group_rows,
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
    manifest = complete_manifest(directory)
    if manifest is None:
        raise StageOutputMissingError(
            f"No preprocessed data for these settings and the current raw data in "
            f"{directory}; run '{config.command(home)}' first."
        )
    return PreprocessResult(
        key, directory, manifest, True, time.perf_counter() - started, snapshot.id
    )

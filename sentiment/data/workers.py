"""Worker processes of preprocessing: how they start, how many, and the batches they
tokenize (and encode) ahead of the process that counts, pads and writes."""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sentiment.core.errors import ConfigError
from sentiment.data.config import DEFAULT_TOKENIZE_WORKERS
from sentiment.encoding.encoded import EncodingStats
from sentiment.encoding.tokens import dictionary_tokens, token_lists
from sentiment.encoding.vectorizer import Vectorizer

# Raw rows read and tokenized at a time: small enough that two worker processes share
# a 25k-review split evenly, large enough that per-batch overheads stay negligible.
RAW_BATCH_ROWS = 2048
# Batches in flight per worker process: bounds memory while keeping workers busy.
BATCHES_AHEAD_PER_WORKER = 4
# Frameworks whose native thread pools make plain fork unsafe: see _start_method().
_FORK_UNSAFE_MODULES = ("tensorflow", "torch", "jax")


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
    (benchmarks.preprocess). It is safe here because the workers run only this module's
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


def check_workers(workers: int | None) -> int:
    if workers is None:
        return DEFAULT_TOKENIZE_WORKERS
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(
            f"Setting 'workers' must be a positive integer, got {workers!r}; pass --workers 1 "
            "or more (0 in the CLI picks it automatically)."
        )
    return workers


def worker_count(workers: int, inputs: dict[str, list[Path]]) -> int:
    """``workers``, fewer where the largest split has fewer batches: more processes than
    batches would only wait, so tiny inputs stay in this process."""
    rows = max(sum(pq.read_metadata(path).num_rows for path in paths) for paths in inputs.values())
    return min(workers, -(-rows // RAW_BATCH_ROWS))


def process_pool(workers: int) -> ProcessPoolExecutor:
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


def tokenize_texts(sentence_ends: bool, texts: pa.Array) -> tuple[pa.DictionaryArray, np.ndarray]:
    """Worker: a batch's tokens (:func:`token_lists`), dictionary-encoded, and tokens per
    review."""
    return dictionary_tokens(token_lists(texts, sentence_ends))


def encode_texts(vectorizer: Vectorizer, texts: pa.Array) -> tuple[np.ndarray, EncodingStats]:
    """Worker: a batch's padded ids and counts."""
    return vectorizer.encode_token_lists(vectorizer.token_lists(texts))


class Ahead:
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

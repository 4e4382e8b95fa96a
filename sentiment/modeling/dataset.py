"""Stream processed Parquet splits into ``tf.data`` pipelines and numpy arrays.

A processed split is ``processed/<key>/<split>.parquet`` with columns ``review_id``
(string), ``label`` (int8) and ``token_ids`` (fixed_size_list<int32>[max_length]). Rows
are read in Arrow record batches and turned into numpy views of the Arrow buffers, never
into Python lists.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sentiment.core.errors import DataError

if TYPE_CHECKING:
    import tensorflow as tf

logger = logging.getLogger(__name__)

TOKEN_IDS_COLUMN = "token_ids"
DATASET_LABEL_COLUMN = "label"
# Rows per Arrow record batch read from disk; independent of the training batch size.
DATASET_BATCH_ROWS = 4096


@dataclass(frozen=True)
class SplitInfo:
    """What a processed split holds.

    Attributes:
        path: The Parquet file.
        num_rows: Number of reviews.
        max_length: Token ids per review.
    """

    path: Path
    num_rows: int
    max_length: int


def inspect_split(path: Path, max_length: int | None = None) -> SplitInfo:
    """Check a processed split's schema and return its size.

    Args:
        path: The split's Parquet file.
        max_length: The expected ids per review, if known.

    Raises:
        DataError: If the file is missing, unreadable, or lacks the expected columns.
    """
    path = Path(path)
    fix = "rerun 'sentiment preprocess' to rebuild it"
    if not path.is_file():
        raise DataError(f"Processed split {path} is missing; {fix}.")
    try:
        metadata = pq.read_metadata(path)
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException) as error:
        raise DataError(
            f"Processed split {path} is not readable Parquet ({error}); {fix}."
        ) from error
    for column in (TOKEN_IDS_COLUMN, DATASET_LABEL_COLUMN):
        if column not in schema.names:
            raise DataError(f"Processed split {path} has no '{column}' column; {fix}.")
    token_type = schema.field(TOKEN_IDS_COLUMN).type
    if not (pa.types.is_fixed_size_list(token_type) and pa.types.is_int32(token_type.value_type)):
        raise DataError(
            f"Processed split {path}: column '{TOKEN_IDS_COLUMN}' is {token_type}, not "
            f"fixed_size_list<int32>; {fix}."
        )
    if not pa.types.is_integer(schema.field(DATASET_LABEL_COLUMN).type):
        raise DataError(
            f"Processed split {path}: column '{DATASET_LABEL_COLUMN}' is "
            f"{schema.field(DATASET_LABEL_COLUMN).type}, not an integer; {fix}."
        )
    length = token_type.list_size
    if max_length is not None and length != max_length:
        raise DataError(
            f"Processed split {path}: column '{TOKEN_IDS_COLUMN}' holds {length} ids per "
            f"review but the vectorizer says max_length={max_length}; {fix}."
        )
    return SplitInfo(path=path, num_rows=metadata.num_rows, max_length=length)


def _batch_arrays(
    batch: pa.RecordBatch, max_length: int, path: Path
) -> tuple[np.ndarray, np.ndarray]:
    token_ids = batch.column(TOKEN_IDS_COLUMN)
    labels = batch.column(DATASET_LABEL_COLUMN)
    if token_ids.null_count or labels.null_count:
        raise DataError(
            f"Processed split {path} has null token_ids or labels; rerun 'sentiment "
            "preprocess' to rebuild it."
        )
    # flatten() honours slicing offsets; the reshape is a view of Arrow's buffer.
    ids = token_ids.flatten().to_numpy(zero_copy_only=False).reshape(-1, max_length)
    return ids, labels.to_numpy(zero_copy_only=False)


def iter_batches(
    path: Path, max_length: int | None = None, batch_rows: int = DATASET_BATCH_ROWS
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(token_ids int32 (rows, max_length), labels int8 (rows,))`` from a split.

    Args:
        path: The split's Parquet file.
        max_length: The expected ids per review, if known.
        batch_rows: Rows per yielded chunk.
    """
    info = inspect_split(path, max_length)
    parquet = pq.ParquetFile(info.path)
    for batch in parquet.iter_batches(
        batch_size=batch_rows, columns=[TOKEN_IDS_COLUMN, DATASET_LABEL_COLUMN]
    ):
        yield _batch_arrays(batch, info.max_length, info.path)


def load_arrays(path: Path, max_length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read a whole split into ``(token_ids int32 (n, max_length), labels int8 (n,))``."""
    info = inspect_split(path, max_length)
    table = pq.read_table(info.path, columns=[TOKEN_IDS_COLUMN, DATASET_LABEL_COLUMN])
    token_ids = table.column(TOKEN_IDS_COLUMN).combine_chunks()
    labels = table.column(DATASET_LABEL_COLUMN).combine_chunks()
    ids = token_ids.flatten().to_numpy(zero_copy_only=False).reshape(-1, info.max_length)
    return ids, labels.to_numpy(zero_copy_only=False)


def make_dataset(
    path: Path,
    batch_size: int,
    shuffle: bool,
    seed: int = 0,
    max_length: int | None = None,
) -> tf.data.Dataset:
    """Stream a split from Parquet as batches of ``(token_ids int32, labels float32)``.

    Record batches come off disk through a generator, are split into rows inside
    TensorFlow and re-batched; each epoch reads the file again.

    Args:
        path: The split's Parquet file.
        batch_size: Reviews per training batch.
        shuffle: Whether to shuffle rows (uniformly: the buffer holds the whole split,
            as much memory as the arrays would take) anew each epoch.
        seed: Shuffle seed; the same seed gives the same order every run.
        max_length: The expected ids per review, if known.
    """
    import tensorflow as tf

    info = inspect_split(path, max_length)

    def generate() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for ids, labels in iter_batches(info.path, info.max_length):
            yield ids, labels.astype(np.float32)

    dataset = tf.data.Dataset.from_generator(
        generate,
        output_signature=(
            tf.TensorSpec(shape=(None, info.max_length), dtype=tf.int32),
            tf.TensorSpec(shape=(None,), dtype=tf.float32),
        ),
    )
    dataset = dataset.unbatch().apply(tf.data.experimental.assert_cardinality(info.num_rows))
    if shuffle:
        dataset = dataset.shuffle(max(info.num_rows, 1), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def count_ids_by_label(
    path: Path, num_words: int, max_length: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Count, per token id, its occurrences in positive and in negative reviews.

    With bag-of-n-gram input each id appears at most once per review, so these are the
    document counts naive-Bayes ratios need.

    Returns:
        ``(positive_counts, negative_counts)``, int64 arrays of length ``num_words``.

    Raises:
        DataError: If an id is outside ``[0, num_words)``.
    """
    positive = np.zeros(num_words, dtype=np.int64)
    negative = np.zeros(num_words, dtype=np.int64)
    for ids, labels in iter_batches(path, max_length):
        if ids.size and (ids.min() < 0 or ids.max() >= num_words):
            raise DataError(
                f"Processed split {path} holds token ids outside [0, {num_words}); the "
                "vectorizer and the data come from different runs, so rerun 'sentiment "
                "preprocess'."
            )
        batch_positive, batch_negative = count_ids_in_arrays(ids, labels, num_words)
        positive += batch_positive
        negative += batch_negative
    return positive, negative


def count_ids_in_arrays(
    token_ids: np.ndarray, labels: np.ndarray, num_words: int
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`count_ids_by_label` over in-memory ``(n, max_length)`` ids and labels."""
    is_positive = labels == 1
    return (
        np.bincount(token_ids[is_positive].ravel(), minlength=num_words).astype(np.int64),
        np.bincount(token_ids[~is_positive].ravel(), minlength=num_words).astype(np.int64),
    )


def array_dataset(
    token_ids: np.ndarray, labels: np.ndarray, batch_size: int, shuffle: bool, seed: int = 0
) -> tf.data.Dataset:
    """Batches of ``(token_ids int32, labels float32)`` from in-memory arrays.

    Shuffling, when asked for, is uniform over all rows and seeded, anew each epoch, as
    in :func:`make_dataset`.
    """
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices(
        (np.ascontiguousarray(token_ids, np.int32), np.asarray(labels, np.float32))
    )
    if shuffle:
        dataset = dataset.shuffle(max(len(labels), 1), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)

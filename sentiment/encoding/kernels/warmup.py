"""Loading every kernel at import, with the argument types callers pass."""

from __future__ import annotations

import numpy as np

from sentiment.encoding.kernels.bags import ngram_bags, pad_rows, weighted_bags
from sentiment.encoding.kernels.negation import negate_word_index
from sentiment.encoding.kernels.scoring import score_reviews
from sentiment.encoding.kernels.tables import (
    EMPTY_KEY,
    fill_compact_table,
    fill_table,
    fill_word_table,
    probe_all,
)
from sentiment.encoding.kernels.tokenizing import CLASSES, LOWERED, python_rows, tokenize_bytes
from sentiment.encoding.kernels.words import SPACES


def load_kernels() -> None:
    """Load (or compile) every kernel now, with the argument types callers pass.

    Numba's first call in a process costs ~0.5 s of one-time set-up. Paying it at import
    keeps it out of the first batch's time, and worker processes forked later inherit
    the loaded code instead of paying it again each.
    """
    # Arrow buffers come as read-only numpy arrays (a type of their own), except those
    # Arrow wraps around writable memory.
    data = np.frombuffer(b"A b", np.uint8)
    for offsets in (np.frombuffer(b"\0\0\0\0\3\0\0\0", np.int32), np.array([0, 3], np.int32)):
        in_python = python_rows(data, offsets, CLASSES)
        tokenize_bytes(data, offsets, in_python, CLASSES, LOWERED, False, SPACES)
    keys = np.array([(1 << 21) | 2], np.uint64)
    table = (np.full(32, EMPTY_KEY, np.uint64), np.zeros(1, np.uint64))
    fill_table(keys, np.array([4], np.int32), *table)
    probe_all(*table, keys)
    ids = np.empty((1, 2), np.int32)
    bag_lengths = ngram_bags(
        np.array([1, 2, 1], np.int64),
        np.array([3], np.int64),
        np.arange(3, dtype=np.int32),
        table,
        table,
        21,
        5,
        ids,
        True,
        True,
    )
    pad_rows(ids.ravel(), bag_lengths, ids, True, True)
    top_ids = np.empty((1, 2), np.int32)
    top_weights = np.empty((1, 2), np.float32)
    weighted_bags(
        np.array([1, 2, 1], np.int64),
        np.array([3], np.int64),
        np.arange(3, dtype=np.int32),
        table,
        table,
        21,
        5,
        2,
        True,
        np.zeros(5, np.float32),
        1,
        top_ids,
        top_weights,
        np.zeros((5, 2), np.float32),
        5,
        1,
    )
    word_table = np.zeros(32, np.uint64)
    word_offsets = np.array([0, 1], np.int64)
    layout = np.array([4, 2, 2, 3, 0], np.int64)
    compact = (np.zeros(4, np.uint64), layout)
    fill_compact_table(
        np.array([3], np.uint64), np.array([4], np.int32), np.ones(1, np.uint8), layout, compact[0]
    )
    fill_word_table(data[:1], word_offsets, word_table)
    for offsets in (np.frombuffer(b"\0\0\0\0\3\0\0\0", np.int32), np.array([0, 3], np.int32)):
        for present in (np.ones(1, np.bool_), np.frombuffer(b"\1", np.bool_)):
            score_reviews(
                data,
                offsets,
                present,
                False,
                False,
                CLASSES,
                LOWERED,
                SPACES,
                word_table,
                data[:1].copy(),
                word_offsets,
                np.arange(3, dtype=np.int32),
                compact,
                compact,
                2,
                5,
                2,
                True,
                np.zeros(5, np.float32),
                1,
                top_ids,
                top_weights,
                np.zeros(2, np.int64),
                np.zeros(2, np.uint8),
                1,
                False,
                np.zeros((5, 2), np.float32),
                5,
                1,
            )
    negate_word_index(
        np.array([1, 0], np.int64),
        np.array([2], np.int64),
        np.zeros(2, np.int64),
        np.zeros(2, np.uint8),
        1,
    )

"""The lookup tables a vectorizer builds from its vocabulary: n-gram key tables
(filtered, for bags and n-gram sequences), compact n-gram tables and the word table
(for scoring reviews straight from their bytes). The compiled loops of
:mod:`sentiment.encoding.kernels` fill and probe them."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa

from sentiment.core.arrays import string_buffers
from sentiment.encoding import kernels
from sentiment.encoding.ngrams import pack_keys, unpack_keys

# Most of its slots an n-gram table fills. A quarter full encoded bags clearly faster
# than 0.8 full, presumably as more lookups end at the home slot, for four times the
# memory; an eighth gained nothing more (benchmarks.ngram_tables;
# docs/decisions/0008-ngram-tables-quarter-full.md).
_MAX_LOAD = 0.25
# What the compiled bag loop gets for an n-gram order without entries.
NO_TABLE = (np.zeros(0, np.uint64), np.zeros(1, np.uint64))

_NO_COMPACT_TABLE = (np.zeros(0, np.uint64), np.zeros(5, np.int64))
# Most of its slots a compact table fills: its slots are half the size of KeyTable's,
# so at twice the load it takes a quarter of the memory (and no filter).
_COMPACT_MAX_LOAD = 0.5


def _with_trigram_prefixes(
    bigrams: np.ndarray, ids: np.ndarray, trigrams: np.ndarray, word_bits: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The bigram entries of a compact table, marked where a trigram starts with them.

    A trigram's first two words that are no bigram of the vocabulary get an entry of
    their own with id 0 (padding, never an n-gram's id), so a trigram is known only if
    the bigram lookup of its first two words finds a marked entry
    (``kernels.fill_compact_table``).

    Returns:
        ``(keys, ids, prefixes)``: uint64 keys, int32 ids, uint8 marks.
    """
    starts = np.unique(trigrams >> np.uint64(word_bits))
    marked = np.isin(bigrams, starts)
    extra = np.setdiff1d(starts, bigrams, assume_unique=True)
    keys = np.concatenate([bigrams, extra]).astype(np.uint64)
    all_ids = np.concatenate([np.asarray(ids, np.int32), np.zeros(len(extra), np.int32)])
    prefixes = np.concatenate([marked, np.ones(len(extra), np.bool_)]).astype(np.uint8)
    return keys, all_ids, prefixes


def _compact_table(
    keys: np.ndarray, ids: np.ndarray, prefixes: np.ndarray, key_bits: int, id_bits: int
) -> tuple[np.ndarray, np.ndarray]:
    """A compact n-gram table of ``kernels.score_reviews`` (slots and layout).

    Args:
        keys: Distinct keys, packed ``key_bits`` bits each.
        ids: The id of each key.
        prefixes: Per key whether a trigram starts with it (bigrams), or empty.
        key_bits: Bits per key.
        id_bits: Bits per id.

    Raises:
        ValueError: If the keys and ids are too wide for one uint64 per slot.
    """
    slot_bits = max(4, math.ceil(math.log2(max(1.0, len(keys) / _COMPACT_MAX_LOAD))))
    for extra in range(3):
        bits = min(key_bits, slot_bits + extra)
        remainder_bits = key_bits - bits
        # The top bit marks trigram prefixes; at least 3 bits of displacement.
        if 63 - remainder_bits - id_bits < 4:
            continue
        layout = np.array([key_bits, bits, remainder_bits, id_bits, 0], np.int64)
        table = np.zeros(1 << bits, np.uint64)
        longest = kernels.fill_compact_table(
            keys, np.asarray(ids, np.int32), np.asarray(prefixes, np.uint8), layout, table
        )
        if longest >= 0:
            layout[4] = longest
            return table, layout
    raise ValueError(f"{len(keys)} keys of {key_bits} bits do not fit compact slots")


class KeyTable:
    """An open-addressing hash table from packed n-gram keys to ids (linear probing).

    Binary search over ~10**6 sorted keys costs ~20 dependent cache misses per lookup;
    here most lookups read one cache line, and most absent keys none (the filter). Keys
    must be distinct and below ``2**63``. The compiled loops in :mod:`sentiment.encoding.kernels`
    fill and probe it.
    """

    def __init__(self, keys: np.ndarray, ids: np.ndarray) -> None:
        keys = np.asarray(keys, np.uint64)
        self._size = len(keys)
        # Power-of-two sizes: at most _MAX_LOAD of the slots used, ~8 filter bits per key.
        slots = 1 << max(4, math.ceil(math.log2(max(1.0, len(keys) / _MAX_LOAD))))
        words = 1 << max(0, math.ceil(math.log2(max(1, len(keys) // 8))))
        # Allocated by numpy, which asks the kernel for huge pages for large arrays:
        # fewer TLB misses on the random reads of a lookup.
        table = np.full(2 * slots, kernels.EMPTY_KEY, np.uint64)
        bloom = np.zeros(words, np.uint64)
        kernels.fill_table(keys, np.asarray(ids, np.int32), table, bloom)
        # The slots and their filter, as the compiled loops take them.
        self.arrays = (table, bloom)

    def __len__(self) -> int:
        return self._size

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """The id of every key, ``-1`` for keys not in the table."""
        return kernels.probe_all(*self.arrays, np.asarray(keys, np.uint64))


def compact_tables(
    word_count: int, num_words: int, entries: dict[int, tuple[np.ndarray, np.ndarray]]
) -> tuple[int, tuple[tuple[np.ndarray, ...], ...] | None]:
    """The bigram and trigram tables of ``kernels.score_reviews``.

    Each word takes as many bits as the vocabulary needs (16 for the default model's
    ~47,000 words), and each slot one uint64 (``kernels.fill_compact_table``).

    Args:
        word_count: Distinct words of the vocabulary.
        num_words: Ids are below this.
        entries: Per n-gram order, the keys (packed ``WORD_BITS`` bits per word) and ids.

    Returns:
        ``(word_bits, (bigrams, trigrams))``, or None in place of the tables where keys
        and ids are too wide for one uint64 per slot.
    """
    word_bits = max(1, word_count.bit_length())
    id_bits = max(1, (num_words - 1).bit_length())
    repacked = {}
    for order in (2, 3):
        keys, ids = entries.get(order, (np.zeros(0, np.uint64), None))
        ids = np.zeros(0, np.int32) if ids is None else ids
        repacked[order] = (
            pack_keys(unpack_keys(keys, order), bits=word_bits),
            ids,
            np.zeros(0, np.uint8),
        )
    repacked[2] = _with_trigram_prefixes(*repacked[2][:2], repacked[3][0], word_bits)
    tables = []
    for order in (2, 3):
        keys, ids, prefixes = repacked[order]
        if not len(keys):
            tables.append(_NO_COMPACT_TABLE)
            continue
        try:
            tables.append(_compact_table(keys, ids, prefixes, order * word_bits, id_bits))
        except ValueError:
            break
    return word_bits, (tables[0], tables[1]) if len(tables) == 2 else None


def word_table(words: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``words`` in a compiled lookup table: ``(table, word_data, word_offsets)``."""
    data, offsets = string_buffers(words)
    base = int(offsets[0])
    word_offsets = offsets.astype(np.int64) - base
    word_data = np.ascontiguousarray(data[base : base + int(word_offsets[-1])])
    # At most a quarter full, as the n-gram tables (lookups mostly end at home).
    slots = 1 << max(4, math.ceil(math.log2(max(1.0, len(words) / _MAX_LOAD))))
    table = np.zeros(2 * slots, np.uint64)
    kernels.fill_word_table(word_data, word_offsets, table)
    return table, word_data, word_offsets

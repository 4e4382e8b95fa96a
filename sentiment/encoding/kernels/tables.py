"""Compiled hash tables: n-gram key tables with a filter, the compact n-gram tables
and the word table of the byte scorer (:mod:`sentiment.encoding.kernels.scoring`).
"""

from __future__ import annotations

import numba
import numpy as np

# N-gram tables (sentiment.encoding.lookup.KeyTable) hash packed keys by Fibonacci hashing:
# multiply by 2**64 / golden ratio, keep the top bits. No packed key uses the top bit
# (3 x 21 = 63 bits), so the largest uint64 marks an empty slot.
HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
EMPTY_KEY = np.uint64(2**64 - 1)
# Another odd multiplier, for the tables' filters.
FILTER_MULTIPLIER = np.uint64(0xC2B2AE3D27D4EB4F)

# Words are looked up by a hash of their bytes; a slot holds the word's first 8 bytes
# (no token holds a zero byte, so these and the length identify words up to 8 bytes
# without reading the vocabulary) and its word index and length.
WORD_MULTIPLIER = np.uint64(0x9FB21C651E98DF25)


@numba.njit(cache=True, nogil=True)
def fill_table(keys: np.ndarray, ids: np.ndarray, table: np.ndarray, bloom: np.ndarray) -> None:
    """Put distinct keys and their ids into an empty open-addressing table and filter.

    ``table`` holds ``2**k`` slots, all ``EMPTY_KEY``: slot ``i`` is ``table[2 * i]``
    (the key) and ``table[2 * i + 1]`` (its id), so a lookup that hits reads one cache
    line; collisions probe linearly. ``bloom`` (``2**j`` zero words) gets one bit set
    per key (``_filter_bit``): a clear bit proves a key absent. With ~8 bits per key
    the filter fits in a core's cache, where the table does not, and turns away ~90% of
    absent keys (most trigrams of a review) without touching the table.
    """
    table_bits = log2(len(table) // 2)
    filter_bits = 6 + log2(len(bloom))
    mask = len(table) // 2 - 1
    for index in range(len(keys)):
        key = keys[index]
        slot = home_slot(key, table_bits)
        while table[2 * slot] != EMPTY_KEY:
            slot = (slot + 1) & mask
        table[2 * slot] = key
        table[2 * slot + 1] = np.uint64(ids[index])
        bit = _filter_bit(key, filter_bits)
        bloom[bit >> 6] |= np.uint64(1) << np.uint64(bit & 63)


@numba.njit(cache=True, nogil=True)
def _filter_bit(key: np.uint64, filter_bits: int) -> np.int64:
    return np.int64((key * FILTER_MULTIPLIER) >> np.uint64(64 - filter_bits))


@numba.njit(cache=True, nogil=True)
def log2(size: int) -> int:
    bits = 0
    while (1 << bits) < size:
        bits += 1
    return bits


@numba.njit(cache=True, nogil=True)
def may_hold(bloom: np.ndarray, filter_bits: int, key: np.uint64) -> bool:
    """False if ``key`` is certainly not in the table whose filter is ``bloom``."""
    bit = _filter_bit(key, filter_bits)
    return (bloom[bit >> 6] >> np.uint64(bit & 63)) & np.uint64(1) != 0


@numba.njit(cache=True, nogil=True)
def home_slot(key: np.uint64, table_bits: int) -> np.int64:
    return np.int64((key * HASH_MULTIPLIER) >> np.uint64(64 - table_bits))


@numba.njit(cache=True, nogil=True)
def probe_from(table: np.ndarray, slot: np.int64, key: np.uint64) -> int:
    """The id stored for ``key``, searching from ``slot``; -1 if absent."""
    mask = len(table) // 2 - 1
    while True:
        stored = table[2 * slot]
        if stored == key:
            return np.int64(table[2 * slot + 1])
        if stored == EMPTY_KEY:
            return -1
        slot = (slot + 1) & mask


@numba.njit(cache=True, nogil=True)
def probe_all(table: np.ndarray, bloom: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The id of every key of ``wanted`` in a :func:`fill_table` table, -1 if absent."""
    result = np.full(len(wanted), -1, np.int32)
    table_bits, filter_bits = log2(len(table) // 2), 6 + log2(len(bloom))
    for index in range(len(wanted)):
        key = wanted[index]
        if may_hold(bloom, filter_bits, key):
            result[index] = probe_from(table, home_slot(key, table_bits), key)
    return result


@numba.njit(cache=True, nogil=True)
def _packed_prefix(data: np.ndarray, start: int, size: int) -> np.uint64:
    """The first (at most 8) bytes of ``data[start:start + size]`` as one integer."""
    packed = np.uint64(0)
    for index in range(min(size, 8)):
        packed |= np.uint64(data[start + index]) << np.uint64(8 * index)
    return packed


@numba.njit(cache=True, nogil=True)
def _bytes_hash(data: np.ndarray, start: int, size: int) -> np.uint64:
    """A hash of ``data[start:start + size]``, 8 bytes at a time."""
    value = np.uint64(size) * WORD_MULTIPLIER
    for chunk in range(start, start + size, 8):
        value = (value ^ _packed_prefix(data, chunk, start + size - chunk)) * WORD_MULTIPLIER
        value ^= value >> np.uint64(29)
    return value


@numba.njit(cache=True, nogil=True)
def fill_word_table(data: np.ndarray, offsets: np.ndarray, table: np.ndarray) -> None:
    """Put distinct words (an Arrow string array's buffers) into an empty word table.

    ``table`` holds ``2**k`` slots of two uint64 each, all zero: slot ``i`` is
    ``table[2 * i]`` (the word's first 8 bytes) and ``table[2 * i + 1]`` (its word
    index, 1 + its position, in the low 32 bits, and its length in bytes above).
    Collisions probe linearly.
    """
    bits = log2(len(table) // 2)
    mask = len(table) // 2 - 1
    for word in range(len(offsets) - 1):
        start = offsets[word]
        size = offsets[word + 1] - start
        slot = np.int64(_bytes_hash(data, start, size) >> np.uint64(64 - bits))
        while table[2 * slot + 1] != 0:
            slot = (slot + 1) & mask
        table[2 * slot] = _packed_prefix(data, start, size)
        table[2 * slot + 1] = np.uint64(word + 1) | (np.uint64(size) << np.uint64(32))


# Compact n-gram tables for score_reviews: one uint64 per slot instead of two, and no
# filter, so a table at twice the load takes a quarter of the memory and more of it
# stays in cache. Keys pack each word in ``word_bits`` bits (as many as the vocabulary
# needs, not 21); the home slot is the top bits of a bijection of the key modulo
# ``2**key_bits`` (compact_hash), so its low bits (the remainder) and the home slot
# identify the key exactly. A slot holds the remainder, the id, how far the entry sits
# from its home slot (+1, so 0 is an empty slot) and, in its top bit, whether some
# trigram of the vocabulary starts with this bigram (bigram tables only; such a prefix
# that is no bigram of the vocabulary has an entry with id 0). A trigram whose first two
# words lack that bit is not looked up. Layout: ``(key_bits, slot_bits, remainder_bits,
# id_bits, longest displacement)``.
PREFIX_BIT = np.uint64(63)


@numba.njit(cache=True, nogil=True)
def compact_hash(key: np.uint64, key_bits: int) -> np.uint64:
    """A bijection of ``key_bits``-bit keys that mixes every key bit into the top bits.

    Each step (xor with the value shifted right, multiplication by an odd number,
    both modulo ``2**key_bits``) can be undone, so the hash identifies its key.
    """
    mask = (np.uint64(1) << np.uint64(key_bits)) - np.uint64(1)
    half = np.uint64((key_bits + 1) // 2)
    value = key ^ (key >> half)
    value = (value * HASH_MULTIPLIER) & mask
    value ^= value >> half
    value = (value * FILTER_MULTIPLIER) & mask
    return value ^ (value >> half)


@numba.njit(cache=True, nogil=True)
def fill_compact_table(
    keys: np.ndarray, ids: np.ndarray, prefixes: np.ndarray, layout: np.ndarray, table: np.ndarray
) -> int:
    """Put distinct keys and their ids into an empty compact table (zeros).

    It has no filter: with slots this small a filter's own cache misses cost more than
    the probes it saves (most of a review's bigrams are in the table). ``prefixes``
    (one per key, or empty: none) sets the top bit of the keys that start a trigram.

    Returns:
        The longest displacement, or -1 if one exceeds what a slot can record (the
        caller then uses a bigger table).
    """
    key_bits, slot_bits, remainder_bits, id_bits = layout[0], layout[1], layout[2], layout[3]
    displacement_bits = 63 - remainder_bits - id_bits
    limit = (1 << displacement_bits) - 2
    mask = len(table) - 1
    longest = 0
    for index in range(len(keys)):
        key = keys[index]
        hashed = compact_hash(key, key_bits)
        slot = np.int64(hashed >> np.uint64(key_bits - slot_bits))
        remainder = hashed & ((np.uint64(1) << np.uint64(remainder_bits)) - np.uint64(1))
        displacement = 0
        while table[slot] != 0:
            slot = (slot + 1) & mask
            displacement += 1
        if displacement > limit:
            return -1
        longest = max(longest, displacement)
        table[slot] = (
            remainder
            | (np.uint64(ids[index]) << np.uint64(remainder_bits))
            | (np.uint64(displacement + 1) << np.uint64(remainder_bits + id_bits))
        )
        if len(prefixes) and prefixes[index]:
            table[slot] |= np.uint64(1) << PREFIX_BIT
    return longest

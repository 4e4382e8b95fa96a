"""Compiled inner loops (numba) of tokenizing and n-gram encoding.

Tokenizing in Python costs ~25 µs per review even with ``str`` primitives, more than
everything else preprocessing does, and probing n-gram keys with whole-array numpy
operations makes several passes over millions of keys. These loops do both in one pass
over the bytes, without a Python object per token. The unit tests check each against
the plain Python definition.

The first process after an install compiles the kernels (~13 s) and caches the machine
code next to this module (``cache=True``); every process loads them at import (~0.5 s,
see ``_load_kernels``). They release the GIL, so scoring threads encode while
TensorFlow predicts.
"""

from __future__ import annotations

import numba
import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros

# What a character is to the tokenizer (see sentiment.encoding.text).
SEPARATOR = 0
WORD = 1
APOSTROPHE = 2
MARK = 3
# A character this loop cannot standardize exactly: its lowercase depends on context
# (capital sigma), has several characters or a longer UTF-8 form, or it lies outside
# the Basic Multilingual Plane. Rows holding one are tokenized in Python.
IN_PYTHON = 4

_BASIC_PLANE = 0x10000
_CAPITAL_SIGMA = 0x3A3


def _character_tables() -> tuple[np.ndarray, np.ndarray]:
    """Each BMP code point's class and the code point its lowercase is."""
    classes = np.full(_BASIC_PLANE, SEPARATOR, np.uint8)
    lowered = np.arange(_BASIC_PLANE, dtype=np.int32)
    for code in range(_BASIC_PLANE):
        if 0xD800 <= code < 0xE000:  # lone surrogates: only from Python strings
            classes[code] = IN_PYTHON
            continue
        character = chr(code)
        lower = character.lower()
        if (
            code == _CAPITAL_SIGMA
            or len(lower) != 1
            or len(lower.encode("utf-8")) > len(character.encode("utf-8"))
        ):
            classes[code] = IN_PYTHON
            continue
        lowered[code] = ord(lower)
        if lower.isalnum():
            classes[code] = WORD
        elif lower == "'":
            classes[code] = APOSTROPHE
        elif lower in "!?":
            classes[code] = MARK
    return classes, lowered


CLASSES, LOWERED = _character_tables()
# N-gram tables (sentiment.encoding.vectorizer._KeyTable) hash packed keys by Fibonacci hashing:
# multiply by 2**64 / golden ratio, keep the top bits. No packed key uses the top bit
# (3 x 21 = 63 bits), so the largest uint64 marks an empty slot.
HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
EMPTY_KEY = np.uint64(2**64 - 1)
# Another odd multiplier, for the tables' filters.
FILTER_MULTIPLIER = np.uint64(0xC2B2AE3D27D4EB4F)

# Bits per round of the radix sort of a review's ids.
_RADIX_BITS = 10
_RADIX_MASK = (1 << _RADIX_BITS) - 1

# "<", at most 100 characters other than ">", then ">" is an HTML tag (text._HTML_TAG).
_TAG_LENGTH = 100


@numba.njit(cache=True, nogil=True)
def _decode(data: np.ndarray, position: int) -> tuple[int, int]:
    """The code point starting at ``data[position]`` and its length in bytes
    (-1 for characters outside the BMP)."""
    byte = data[position]
    if byte < 0x80:
        return byte, 1
    if byte < 0xE0:
        return ((byte & 0x1F) << 6) | (data[position + 1] & 0x3F), 2
    if byte < 0xF0:
        return (
            ((byte & 0x0F) << 12) | ((data[position + 1] & 0x3F) << 6) | (data[position + 2] & 0x3F)
        ), 3
    return -1, 4


@numba.njit(cache=True, nogil=True)
def _encode(code: int, out: np.ndarray, written: int) -> int:
    """Write a BMP code point as UTF-8 at ``out[written]``; return the new end."""
    if code < 0x80:
        out[written] = code
        return written + 1
    if code < 0x800:
        out[written] = 0xC0 | (code >> 6)
        out[written + 1] = 0x80 | (code & 0x3F)
        return written + 2
    out[written] = 0xE0 | (code >> 12)
    out[written + 1] = 0x80 | ((code >> 6) & 0x3F)
    out[written + 2] = 0x80 | (code & 0x3F)
    return written + 3


@numba.njit(cache=True, nogil=True)
def python_rows(data: np.ndarray, offsets: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Which rows :func:`tokenize_bytes` cannot standardize: an HTML entity or a
    character of class ``IN_PYTHON``.

    An ``&`` before a letter or ``#`` may start an entity (``html.unescape`` also takes
    some names without ``;``); any other ``&`` is plain punctuation.
    """
    rows = len(offsets) - 1
    result = np.zeros(rows, np.bool_)
    for row in range(rows):
        position = offsets[row]
        end = offsets[row + 1]
        while position < end:
            byte = data[position]
            if byte == 38:  # "&"
                if position + 1 < end:
                    following = data[position + 1]
                    if following == 35 or (65 <= following <= 90) or (97 <= following <= 122):
                        result[row] = True
                        break
                position += 1
            elif byte < 0x80:
                position += 1
            else:
                size = 2 if byte < 0xE0 else (3 if byte < 0xF0 else 4)
                # Python also takes what is not well-formed UTF-8 here (a stray
                # continuation byte, a character cut off at the row's end), checked
                # before decoding so no byte past the row is read.
                if byte < 0xC0 or size == 4 or position + size > end:
                    result[row] = True
                    break
                code, size = _decode(data, position)
                if classes[code] == IN_PYTHON:
                    result[row] = True
                    break
                position += size
    return result


@numba.njit(cache=True, nogil=True)
def tokenize_bytes(
    data: np.ndarray,
    offsets: np.ndarray,
    cleaned: np.ndarray,
    classes: np.ndarray,
    lowered: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split UTF-8 reviews into tokens, as the buffers of an Arrow list<string>.

    Rows with ``cleaned[row]`` hold :func:`sentiment.encoding.text.token_text` output (tokens
    separated by spaces). The rest are raw reviews that :func:`python_rows` passed,
    which this loop standardizes itself: an HTML tag separates, letters are lowercased,
    ``!``/``?`` are tokens of their own, an apostrophe stays only between two word
    characters, and anything else separates.

    Args:
        data: The reviews' UTF-8 bytes.
        offsets: Row ``i`` is ``data[offsets[i]:offsets[i + 1]]``.
        cleaned: Which rows are pre-cleaned.
        classes: Each BMP code point's class (``CLASSES``).
        lowered: Each BMP code point's lowercase (``LOWERED``).

    Returns:
        ``(token_bytes, token_offsets, row_offsets)``: token ``j`` is
        ``token_bytes[token_offsets[j]:token_offsets[j + 1]]`` and row ``i`` holds
        tokens ``row_offsets[i]`` to ``row_offsets[i + 1]``.
    """
    rows = len(offsets) - 1
    total = offsets[rows] - offsets[0]
    # No character's lowercase is longer than it (see IN_PYTHON) and a token takes at
    # least one byte, so the output fits in buffers the size of the input. Each output
    # byte comes from an input byte already read, so the loop may store one byte ahead.
    token_bytes = np.empty(total + 1, np.uint8)
    token_offsets = np.empty(total + 2, np.int32)
    row_offsets = np.empty(rows + 1, np.int32)
    # Plain ASCII letters, digits and separators take a branch-free path (their order
    # is unpredictable); everything else is rare and takes the branches.
    plain = np.empty(128, np.int64)
    for code in range(128):
        plain[code] = classes[code] if classes[code] <= WORD and code != 60 else -1
    written = 0
    tokens = 0
    token_offsets[0] = 0
    row_offsets[0] = 0
    for row in range(rows):
        position = offsets[row]
        end = offsets[row + 1]
        inside = 0
        if cleaned[row]:
            while position < end:
                byte = data[position]
                word = 1 if byte != 32 else 0
                token_bytes[written] = byte
                written += word
                token_offsets[tokens + 1] = written
                tokens += inside & (1 - word)
                inside = word
                position += 1
        else:
            while position < end:
                byte = data[position]
                if byte < 0x80 and plain[byte] >= 0:
                    word = plain[byte]
                    token_bytes[written] = lowered[byte]
                    written += word
                    token_offsets[tokens + 1] = written
                    tokens += inside & (1 - word)
                    inside = word
                    position += 1
                    continue
                code, size = _decode(data, position)
                kind = classes[code]
                if kind == WORD:
                    written = _encode(lowered[code], token_bytes, written)
                    token_offsets[tokens + 1] = written
                    inside = 1
                    position += size
                    continue
                if code == 60:  # "<": a whole tag separates
                    closing = position + 1
                    limit = min(end, position + _TAG_LENGTH + 2)
                    while closing < limit and data[closing] != 62:
                        closing += 1
                    if closing < limit:
                        size = closing - position + 1
                elif kind == APOSTROPHE and inside and position + size < end:
                    following, _ = _decode(data, position + size)
                    if classes[following] == WORD:
                        written = _encode(code, token_bytes, written)
                        position += size
                        continue
                tokens += inside
                inside = 0
                if kind == MARK:
                    token_bytes[written] = code
                    written += 1
                    tokens += 1
                    token_offsets[tokens] = written
                position += size
        tokens += inside
        row_offsets[row + 1] = tokens
    return token_bytes[:written], token_offsets[: tokens + 1], row_offsets


@numba.njit(cache=True, nogil=True)
def _put_row(
    ids: np.ndarray, row: int, values: np.ndarray, pad_before: bool, cut_before: bool
) -> None:
    """Write ``values`` as row ``row`` of ``ids``, cut and padded with zeros."""
    max_length = ids.shape[1]
    count = len(values)
    kept = min(count, max_length)
    first = count - kept if cut_before else 0
    column = max_length - kept if pad_before else 0
    ids[row, :column] = 0
    ids[row, column : column + kept] = values[first : first + kept]
    ids[row, column + kept :] = 0


@numba.njit(cache=True, nogil=True)
def pad_rows(
    flat: np.ndarray, lengths: np.ndarray, ids: np.ndarray, pad_before: bool, cut_before: bool
) -> None:
    """Cut and pad concatenated sequences into the rows of ``ids``, ``(n, max_length)``.

    ``pad_before``/``cut_before`` are Keras ``pad_sequences``' ``pre`` sides; see
    :func:`sentiment.encoding.vectorizer.pad_sequences`. Every element of ``ids`` is written, so
    it may come from ``np.empty``: numpy maps large arrays on huge pages, and writing
    them costs a fraction of the page faults of memory allocated here.
    """
    start = 0
    for row in range(len(lengths)):
        stop = start + lengths[row]
        _put_row(ids, row, flat[start:stop], pad_before, cut_before)
        start = stop


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
    table_bits = _log2(len(table) // 2)
    filter_bits = 6 + _log2(len(bloom))
    mask = len(table) // 2 - 1
    for index in range(len(keys)):
        key = keys[index]
        slot = _home_slot(key, table_bits)
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
def _log2(size: int) -> int:
    bits = 0
    while (1 << bits) < size:
        bits += 1
    return bits


@numba.njit(cache=True, nogil=True)
def _may_hold(bloom: np.ndarray, filter_bits: int, key: np.uint64) -> bool:
    """False if ``key`` is certainly not in the table whose filter is ``bloom``."""
    bit = _filter_bit(key, filter_bits)
    return (bloom[bit >> 6] >> np.uint64(bit & 63)) & np.uint64(1) != 0


@numba.njit(cache=True, nogil=True)
def _home_slot(key: np.uint64, table_bits: int) -> np.int64:
    return np.int64((key * HASH_MULTIPLIER) >> np.uint64(64 - table_bits))


@numba.njit(cache=True, nogil=True)
def _probe_from(table: np.ndarray, slot: np.int64, key: np.uint64) -> int:
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
    table_bits, filter_bits = _log2(len(table) // 2), 6 + _log2(len(bloom))
    for index in range(len(wanted)):
        key = wanted[index]
        if _may_hold(bloom, filter_bits, key):
            result[index] = _probe_from(table, _home_slot(key, table_bits), key)
    return result


@numba.njit(cache=True, nogil=True)
def _radix_sort(values: np.ndarray, count: int, scratch: np.ndarray, passes: int) -> np.ndarray:
    """``values[:count]`` (ids >= 0) sorted, by ``passes`` rounds of 10 bits each.

    A few hundred small ids per review sort ~3x faster this way than by quicksort.
    Returns whichever of ``values`` and ``scratch`` holds the result.
    """
    counts = np.empty(1 << _RADIX_BITS, np.int64)
    source, target = values, scratch
    for round_ in range(passes):
        shift = _RADIX_BITS * round_
        counts[:] = 0
        for index in range(count):
            counts[(source[index] >> shift) & _RADIX_MASK] += 1
        total = 0
        for digit in range(1 << _RADIX_BITS):
            size = counts[digit]
            counts[digit] = total
            total += size
        for index in range(count):
            digit = (source[index] >> shift) & _RADIX_MASK
            target[counts[digit]] = source[index]
            counts[digit] += 1
        source, target = target, source
    return source


@numba.njit(cache=True, nogil=True)
def _add_ngrams(
    word_index: np.ndarray,
    start: int,
    stop: int,
    order: int,
    table: np.ndarray,
    bloom: np.ndarray,
    word_bits: int,
    bag: np.ndarray,
    count: int,
    keys: np.ndarray,
    slots: np.ndarray,
) -> int:
    """Add the known ``order``-grams of ``word_index[start:stop]`` to ``bag`` (repeats too:
    the caller drops them after sorting).

    ``keys`` and ``slots`` are scratch space for twice and once the review's length.
    """
    if len(table) == 0:
        return count
    bits = np.uint64(word_bits)
    table_bits, filter_bits = _log2(len(table) // 2), 6 + _log2(len(bloom))
    wanted = 0
    for position in range(start, stop - order + 1):
        key = np.uint64(0)
        for offset in range(order):
            key = (key << bits) | np.uint64(word_index[position + offset])
        if _may_hold(bloom, filter_bits, key):
            keys[wanted] = key
            slots[wanted] = _home_slot(key, table_bits)
            wanted += 1
    # Load every home slot first, with nothing waiting on the loads: the processor
    # overlaps these cache misses instead of stalling on each in turn.
    for index in range(wanted):
        keys[wanted + index] = table[2 * slots[index]]
    for index in range(wanted):
        if keys[wanted + index] == EMPTY_KEY:
            continue
        found = _probe_from(table, slots[index], keys[index])
        if found >= 0:
            bag[count] = found
            count += 1
    return count


@numba.njit(cache=True, nogil=True)
def ngram_bags(
    word_index: np.ndarray,
    lengths: np.ndarray,
    unigram_ids: np.ndarray,
    bigrams: tuple[np.ndarray, np.ndarray],
    trigrams: tuple[np.ndarray, np.ndarray],
    word_bits: int,
    num_words: int,
    ids: np.ndarray,
    pad_before: bool,
    cut_before: bool,
) -> np.ndarray:
    """Each review's distinct ids of its words and known bigrams and trigrams, ascending,
    cut and padded into the rows of ``ids`` (see :func:`pad_rows`).

    Args:
        word_index: Per-token word indices (0 = a word in no vocabulary entry), reviews
            concatenated.
        lengths: Tokens per review.
        unigram_ids: The id of each word index as a token of its own (1 = unknown).
        bigrams: The bigram table and filter (:func:`fill_table`); empty: no bigrams.
        trigrams: The same for trigrams.
        word_bits: Bits per word in a packed key.
        num_words: Ids are below this.
        ids: The result, int32 ``(len(lengths), max_length)``; 0 pads.
        pad_before: Padding goes first (Keras ``pre``), else last.
        cut_before: Long bags lose their first ids (Keras ``pre``), else their last.

    Returns:
        The number of distinct ids of each review, before cutting.
    """
    rows = len(lengths)
    bag, scratch, keys, slots = _bag_scratch(lengths)
    passes = max(1, -(-_log2(num_words) // _RADIX_BITS))
    bag_lengths = np.zeros(rows, np.int64)
    start = 0
    for row in range(rows):
        stop = start + lengths[row]
        ordered, distinct = _review_bag(
            word_index,
            start,
            stop,
            unigram_ids,
            bigrams,
            trigrams,
            word_bits,
            bag,
            scratch,
            keys,
            slots,
            passes,
        )
        _put_row(ids, row, ordered[:distinct], pad_before, cut_before)
        bag_lengths[row] = distinct
        start = stop
    return bag_lengths


@numba.njit(cache=True, nogil=True)
def _bag_scratch(
    lengths: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Scratch space for :func:`_review_bag`, sized by the longest review."""
    longest = 0
    for row in range(len(lengths)):
        longest = max(longest, lengths[row])
    bag = np.empty(3 * longest + 1, np.int32)
    scratch = np.empty(3 * longest + 1, np.int32)
    keys = np.empty(2 * longest + 2, np.uint64)
    slots = np.empty(longest + 1, np.int64)
    return bag, scratch, keys, slots


@numba.njit(cache=True, nogil=True)
def _review_bag(
    word_index: np.ndarray,
    start: int,
    stop: int,
    unigram_ids: np.ndarray,
    bigrams: tuple[np.ndarray, np.ndarray],
    trigrams: tuple[np.ndarray, np.ndarray],
    word_bits: int,
    bag: np.ndarray,
    scratch: np.ndarray,
    keys: np.ndarray,
    slots: np.ndarray,
    passes: int,
) -> tuple[np.ndarray, int]:
    """One review's distinct ids, ascending: ``(array, count)``, the ids being
    ``array[:count]`` (``array`` is ``bag`` or ``scratch``)."""
    count = 0
    for position in range(start, stop):
        bag[count] = unigram_ids[word_index[position]]
        count += 1
    count = _add_ngrams(
        word_index, start, stop, 2, bigrams[0], bigrams[1], word_bits, bag, count, keys, slots
    )
    count = _add_ngrams(
        word_index, start, stop, 3, trigrams[0], trigrams[1], word_bits, bag, count, keys, slots
    )
    ordered = _radix_sort(bag, count, scratch, passes)
    # Sorted, so each id's copies are adjacent: keep the first of each.
    distinct = min(count, 1)
    for index in range(1, count):
        if ordered[index] != ordered[distinct - 1]:
            ordered[distinct] = ordered[index]
            distinct += 1
    return ordered, distinct


@numba.njit(cache=True, nogil=True)
def weighted_bags(
    word_index: np.ndarray,
    lengths: np.ndarray,
    unigram_ids: np.ndarray,
    bigrams: tuple[np.ndarray, np.ndarray],
    trigrams: tuple[np.ndarray, np.ndarray],
    word_bits: int,
    num_words: int,
    max_length: int,
    cut_before: bool,
    weights: np.ndarray,
    top: int,
    top_ids: np.ndarray,
    top_weights: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per review, the sum of ``weights`` over the ids :func:`ngram_bags` would write
    in its row, without writing any row.

    The bag is the same (distinct ids, ascending, cut to ``max_length`` from the side
    ``cut_before`` names); each padding slot adds ``weights[0]``, as a model that reads
    the padded row would. Sums are in float64, in ascending id order.

    Args:
        word_index: As :func:`ngram_bags` takes it.
        lengths: Tokens per review.
        unigram_ids: The id of each word index as a token of its own (1 = unknown).
        bigrams: The bigram table and filter; empty: no bigrams.
        trigrams: The same for trigrams.
        word_bits: Bits per word in a packed key.
        num_words: Ids are below this.
        max_length: Ids per encoded row.
        cut_before: Long bags lose their first ids (Keras ``pre``), else their last.
        weights: float32 weight of each id.
        top: How many largest positive and most negative weights of each review's
            kept ids to report (0: none).
        top_ids: int32 ``(n, 2 * top)``: filled with the ids of the ``top`` largest
            positive weights, largest first, then of the ``top`` most negative, most
            negative first; -1 where a review has fewer.
        top_weights: float32 ``(n, 2 * top)``: their weights.

    Returns:
        ``(sums, oov_counts)``: float64 sum per review, and its tokens whose id is 1.
    """
    rows = len(lengths)
    bag, scratch, keys, slots = _bag_scratch(lengths)
    passes = max(1, -(-_log2(num_words) // _RADIX_BITS))
    sums = np.zeros(rows, np.float64)
    oov_counts = np.zeros(rows, np.int64)
    padding_weight = np.float64(weights[0])
    start = 0
    for row in range(rows):
        stop = start + lengths[row]
        oov = 0
        for position in range(start, stop):
            if unigram_ids[word_index[position]] == 1:
                oov += 1
        oov_counts[row] = oov
        ordered, distinct = _review_bag(
            word_index,
            start,
            stop,
            unigram_ids,
            bigrams,
            trigrams,
            word_bits,
            bag,
            scratch,
            keys,
            slots,
            passes,
        )
        kept = min(distinct, max_length)
        first = distinct - kept if cut_before else 0
        total = padding_weight * (max_length - kept)
        for index in range(first, first + kept):
            total += weights[ordered[index]]
        sums[row] = total
        if top > 0:
            _top_weights(ordered, first, first + kept, weights, top, top_ids[row], top_weights[row])
        start = stop
    return sums, oov_counts


@numba.njit(cache=True, nogil=True)
def _top_weights(
    ids: np.ndarray,
    start: int,
    stop: int,
    weights: np.ndarray,
    top: int,
    out_ids: np.ndarray,
    out_weights: np.ndarray,
) -> None:
    """The ``top`` largest positive and most negative weights of ``ids[start:stop]``
    (see :func:`weighted_bags`); kept sorted by insertion, as ``top`` is small."""
    out_ids[:] = -1
    out_weights[:] = 0.0
    positives = 0
    negatives = 0
    for index in range(start, stop):
        identifier = ids[index]
        weight = weights[identifier]
        if weight > 0:
            if positives < top:
                positives += 1
            elif weight <= out_weights[top - 1]:
                continue
            slot = positives - 1
            while slot > 0 and out_weights[slot - 1] < weight:
                out_weights[slot] = out_weights[slot - 1]
                out_ids[slot] = out_ids[slot - 1]
                slot -= 1
            out_weights[slot] = weight
            out_ids[slot] = identifier
        elif weight < 0:
            if negatives < top:
                negatives += 1
            elif weight >= out_weights[2 * top - 1]:
                continue
            slot = top + negatives - 1
            while slot > top and out_weights[slot - 1] > weight:
                out_weights[slot] = out_weights[slot - 1]
                out_ids[slot] = out_ids[slot - 1]
                slot -= 1
            out_weights[slot] = weight
            out_ids[slot] = identifier


# --- scoring reviews straight from their bytes ----------------------------------------
#
# The compiled linear scorer does not build token lists or word-index arrays: one pass
# over each review's UTF-8 bytes decides whether it holds text, tokenizes it exactly as
# tokenize_bytes does, looks each token up in a table of the vocabulary's words, and
# sums the weights of the review's distinct ids (the ids ngram_bags would write).

# Per review, what score_reviews found (its ``status`` result).
NO_TEXT = 0
SCORED = 1
# The review needs Python first (see python_rows): the caller cleans it and scores the
# cleaned text with ``cleaned`` set.
NEEDS_PYTHON = 2

# Words are looked up by a hash of their bytes; a slot holds the word's first 8 bytes
# (no token holds a zero byte, so these and the length identify words up to 8 bytes
# without reading the vocabulary) and its word index and length.
_WORD_MULTIPLIER = np.uint64(0x9FB21C651E98DF25)


def space_table() -> np.ndarray:
    """Which BMP code points ``str.isspace()`` (what ``str.strip()`` removes)."""
    return np.array([chr(code).isspace() for code in range(_BASIC_PLANE)], np.bool_)


SPACES = space_table()


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
    value = np.uint64(size) * _WORD_MULTIPLIER
    for chunk in range(start, start + size, 8):
        value = (value ^ _packed_prefix(data, chunk, start + size - chunk)) * _WORD_MULTIPLIER
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
    bits = _log2(len(table) // 2)
    mask = len(table) // 2 - 1
    for word in range(len(offsets) - 1):
        start = offsets[word]
        size = offsets[word + 1] - start
        slot = np.int64(_bytes_hash(data, start, size) >> np.uint64(64 - bits))
        while table[2 * slot + 1] != 0:
            slot = (slot + 1) & mask
        table[2 * slot] = _packed_prefix(data, start, size)
        table[2 * slot + 1] = np.uint64(word + 1) | (np.uint64(size) << np.uint64(32))


@numba.njit(cache=True, nogil=True)
def _needs_python(data: np.ndarray, position: int, end: int, classes: np.ndarray) -> bool:
    """One row of :func:`python_rows`: whether ``data[position:end]`` needs Python."""
    while position < end:
        byte = data[position]
        if byte == 38:  # "&"
            if position + 1 < end:
                following = data[position + 1]
                if following == 35 or (65 <= following <= 90) or (97 <= following <= 122):
                    return True
            position += 1
        elif byte < 0x80:
            position += 1
        else:
            size = 2 if byte < 0xE0 else (3 if byte < 0xF0 else 4)
            if byte < 0xC0 or size == 4 or position + size > end:
                return True
            code, size = _decode(data, position)
            if classes[code] == IN_PYTHON:
                return True
            position += size
    return False


@numba.njit(cache=True, nogil=True)
def _end_token(starts: np.ndarray, sizes: np.ndarray, count: int, written: int) -> tuple[int, int]:
    """Close token ``count`` at ``written``; the next one starts at the next multiple of 8."""
    sizes[count] = written - starts[count]
    aligned = (written + 7) & -8
    starts[count + 1] = aligned
    return count + 1, aligned


@numba.njit(cache=True, nogil=True)
def _tokenize_row(
    data: np.ndarray,
    position: int,
    end: int,
    cleaned: bool,
    classes: np.ndarray,
    lowered: np.ndarray,
    spaces: np.ndarray,
    plain: np.ndarray,
    plain_lowered: np.ndarray,
    plain_text: np.ndarray,
    token: np.ndarray,
    starts: np.ndarray,
    sizes: np.ndarray,
) -> tuple[int, bool, bool, int]:
    """Tokenize one review as :func:`tokenize_bytes` does, and check it as
    :func:`python_rows` and ``has_text`` do.

    Token ``j`` is ``token[starts[j]:starts[j] + sizes[j]]`` (lowercased UTF-8). Each
    token starts at a multiple of 8 and ``token`` must be zeros where it writes, so a
    token's bytes read as uint64 words are its zero-padded 8-byte chunks: the word
    lookup hashes and compares them without a loop over bytes.

    Returns:
        ``(tokens, has_text, needs_python, written)``: ``written`` bounds the bytes of
        ``token`` written. With ``needs_python`` the rest is not meaningful (the row is
        left at the first reason found).
    """
    count = 0
    written = 0
    inside = 0
    text = False
    start = position
    starts[0] = 0
    if cleaned:
        while position < end:
            byte = data[position]
            if byte != 32:
                token[written] = byte
                written += 1
                inside = 1
            elif inside:
                count, written = _end_token(starts, sizes, count, written)
                inside = 0
            position += 1
        if inside:
            count, written = _end_token(starts, sizes, count, written)
        return count, count > 0, False, written
    # The start of the current token (starts[count]), kept out of memory.
    current = 0
    textual = 0
    while position < end:
        byte = data[position]
        kind = plain[byte] if byte < 0x80 else -1
        if kind >= 0:
            # Plain ASCII letters, digits and separators, in any order: no branch on
            # which (a separator stores a zero, which keeps the padding zero).
            token[written] = plain_lowered[byte]
            written += kind
            textual |= plain_text[byte]
            ending = inside & (1 - kind)
            sizes[count] = written - current
            count += ending
            written += ((-written) & 7) * ending
            current += (written - current) * ending
            starts[count] = current
            inside = kind
            position += 1
            continue
        text = text or textual != 0
        if byte == 38:  # "&": an HTML entity needs Python (python_rows)
            if position + 1 < end:
                following = data[position + 1]
                if following == 35 or (65 <= following <= 90) or (97 <= following <= 122):
                    return count, text, True, written
        elif byte >= 0x80:
            size = 2 if byte < 0xE0 else (3 if byte < 0xF0 else 4)
            if byte < 0xC0 or size == 4 or position + size > end:
                return count, text, True, written
        code, size = _decode(data, position)
        kind = classes[code]
        if kind == IN_PYTHON:
            return count, text, True, written
        if not spaces[code]:
            text = True
        if kind == WORD:
            written = _encode(lowered[code], token, written)
            inside = 1
            position += size
            continue
        if code == 60:  # "<": a whole tag separates
            closing = position + 1
            limit = min(end, position + _TAG_LENGTH + 2)
            while closing < limit and data[closing] != 62:
                closing += 1
            if closing < limit:
                # python_rows reads the tag's bytes too, in its own steps: where they
                # hold anything but plain ASCII, ask it about the whole row.
                for inner in range(position + 1, closing):
                    if data[inner] >= 0x80 or data[inner] == 38:
                        if _needs_python(data, start, end, classes):
                            return count, text, True, written
                        break
                size = closing - position + 1
        elif kind == APOSTROPHE and inside and position + size < end:
            following, _ = _decode(data, position + size)
            if classes[following] == WORD:
                written = _encode(code, token, written)
                position += size
                continue
        if inside:
            count, written = _end_token(starts, sizes, count, written)
            inside = 0
        if kind == MARK:
            token[written] = code
            written += 1
            count, written = _end_token(starts, sizes, count, written)
        current = starts[count]
        position += size
    if inside:
        count, written = _end_token(starts, sizes, count, written)
    return count, text or textual != 0, False, written


@numba.njit(cache=True, nogil=True)
def _look_up_words(
    token: np.ndarray,
    chunks: np.ndarray,
    starts: np.ndarray,
    sizes: np.ndarray,
    count: int,
    table: np.ndarray,
    bits: int,
    word_data: np.ndarray,
    word_offsets: np.ndarray,
    words: np.ndarray,
    slots: np.ndarray,
    prefixes: np.ndarray,
) -> None:
    """The word index of each of a review's tokens (0: none) into ``words``.

    ``token`` holds the tokens as :func:`_tokenize_row` leaves them and ``chunks`` is
    the same memory as uint64 words, so a token's 8-byte chunks are whole words and its
    hash (:func:`_bytes_hash`) takes one step per chunk. ``prefixes`` is scratch space
    for twice the tokens. Every token's home slot is loaded before any is compared, so
    the cache misses overlap (as in :func:`_add_ngrams`).
    """
    mask = len(table) // 2 - 1
    shift = np.uint64(64 - bits)
    for index in range(count):
        first = starts[index] >> 3
        size = sizes[index]
        prefix = chunks[first]
        value = (np.uint64(size) * _WORD_MULTIPLIER ^ prefix) * _WORD_MULTIPLIER
        value ^= value >> np.uint64(29)
        for chunk in range(first + 1, first + ((size + 7) >> 3)):
            value = (value ^ chunks[chunk]) * _WORD_MULTIPLIER
            value ^= value >> np.uint64(29)
        prefixes[index] = prefix
        slots[index] = np.int64(value >> shift)
    for index in range(count):
        prefixes[count + index] = table[2 * slots[index] + 1]
    for index in range(count):
        if prefixes[count + index] == 0:  # an empty home slot: not a known word
            words[index] = 0
            continue
        start = starts[index]
        size = sizes[index]
        prefix = prefixes[index]
        slot = slots[index]
        found = 0
        while True:
            value = table[2 * slot + 1]
            if value == 0:
                break
            if table[2 * slot] == prefix and np.int64(value >> np.uint64(32)) == size:
                word = np.int64(value & np.uint64(0xFFFFFFFF))
                if size <= 8:
                    found = word
                    break
                first = word_offsets[word - 1]
                same = True
                for offset in range(8, size):
                    if word_data[first + offset] != token[start + offset]:
                        same = False
                        break
                if same:
                    found = word
                    break
            slot = (slot + 1) & mask
        words[index] = found


@numba.njit(cache=True, nogil=True)
def _trailing_zeros(word: np.uint64) -> np.int64:
    # One instruction (LLVM's cttz) where the de Bruijn lookup took a multiplication
    # and a load.
    return np.int64(trailing_zeros(word))


@numba.njit(cache=True, nogil=True)
def _mark_ids(bag: np.ndarray, count: int, bits: np.ndarray, summary: np.ndarray) -> int:
    """Mark ``bag[:count]`` in the bit set of :func:`_distinct_ascending`; return how
    many distinct ids it holds."""
    distinct = 0
    for index in range(count):
        identifier = bag[index]
        word = identifier >> 6
        before = bits[word]
        after = before | (np.uint64(1) << np.uint64(identifier & 63))
        distinct += 1 if after != before else 0
        bits[word] = after
        summary[word >> 6] |= np.uint64(1) << np.uint64(word & 63)
    return distinct


@numba.njit(cache=True, nogil=True)
def _sum_ascending(
    bits: np.ndarray, summary: np.ndarray, weights: np.ndarray, total: np.float64
) -> np.float64:
    """``total`` plus the weights of the ids marked by :func:`_mark_ids`, added in
    ascending id order (as :func:`weighted_bags` adds them); clears the marks."""
    for group in range(len(summary)):
        marks = summary[group]
        if marks == 0:
            continue
        summary[group] = 0
        while marks != 0:
            word = group * 64 + _trailing_zeros(marks)
            marks &= marks - np.uint64(1)
            value = bits[word]
            bits[word] = 0
            while value != 0:
                total += weights[word * 64 + _trailing_zeros(value)]
                value &= value - np.uint64(1)
    return total


@numba.njit(cache=True, nogil=True)
def _distinct_ascending(
    bag: np.ndarray, count: int, bits: np.ndarray, summary: np.ndarray, out: np.ndarray
) -> int:
    """The distinct ids of ``bag[:count]``, ascending, into ``out``; return how many.

    The ids are marked in a bit set (``bits``, one bit per id, all clear) and read back
    in order through ``summary`` (one bit per word of ``bits``): a few hundred ids cost
    a few hundred steps plus one pass over ``summary``, and both are clear again after.
    """
    _mark_ids(bag, count, bits, summary)
    distinct = 0
    for group in range(len(summary)):
        marks = summary[group]
        if marks == 0:
            continue
        summary[group] = 0
        while marks != 0:
            word = group * 64 + _trailing_zeros(marks)
            marks &= marks - np.uint64(1)
            value = bits[word]
            bits[word] = 0
            while value != 0:
                out[distinct] = word * 64 + _trailing_zeros(value)
                distinct += 1
                value &= value - np.uint64(1)
    return distinct


# Compact n-gram tables for score_reviews: one uint64 per slot instead of two, and no
# filter, so a table at twice the load takes a quarter of the memory and more of it
# stays in cache. Keys pack each word in ``word_bits`` bits (as many as the vocabulary
# needs, not 21); the home slot is the top bits of a bijection of the key modulo
# ``2**key_bits`` (_compact_hash), so its low bits (the remainder) and the home slot
# identify the key exactly. A slot holds the remainder, the id, how far the entry sits
# from its home slot (+1, so 0 is an empty slot) and, in its top bit, whether some
# trigram of the vocabulary starts with this bigram (bigram tables only; such a prefix
# that is no bigram of the vocabulary has an entry with id 0). A trigram whose first two
# words lack that bit is not looked up. Layout: ``(key_bits, slot_bits, remainder_bits,
# id_bits, longest displacement)``.
_PREFIX_BIT = np.uint64(63)


@numba.njit(cache=True, nogil=True)
def _compact_hash(key: np.uint64, key_bits: int) -> np.uint64:
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
        hashed = _compact_hash(key, key_bits)
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
            table[slot] |= np.uint64(1) << _PREFIX_BIT
    return longest


@numba.njit(cache=True, nogil=True)
def _add_compact_ngrams(
    words: np.ndarray,
    count: int,
    order: int,
    table: np.ndarray,
    layout: np.ndarray,
    word_bits: int,
    bag: np.ndarray,
    size: int,
    keys: np.ndarray,
    slots: np.ndarray,
    prefixes: np.ndarray,
) -> int:
    """:func:`_add_ngrams` for a compact table: add the known ``order``-grams of
    ``words[:count]`` to ``bag`` (repeats too).

    Bigrams (``order`` 2) set ``prefixes[position]`` to whether the bigram at
    ``position`` starts a trigram of the vocabulary; trigrams (``order`` 3) are looked
    up only where it is set.
    """
    if len(table) == 0:
        if order == 2:
            prefixes[: max(0, count - 1)] = 0
        return size
    key_bits, slot_bits, remainder_bits, id_bits = layout[0], layout[1], layout[2], layout[3]
    longest = layout[4]
    bits = np.uint64(word_bits)
    remainder_mask = (np.uint64(1) << np.uint64(remainder_bits)) - np.uint64(1)
    id_mask = (np.uint64(1) << np.uint64(id_bits)) - np.uint64(1)
    shift = np.uint64(remainder_bits + id_bits)
    displacement_mask = (np.uint64(1) << (_PREFIX_BIT - shift)) - np.uint64(1)
    mask = len(table) - 1
    wanted = 0
    for position in range(count - order + 1):
        key = np.uint64(0)
        for offset in range(order):
            key = (key << bits) | np.uint64(words[position + offset])
        hashed = _compact_hash(key, key_bits)
        keys[wanted] = hashed & remainder_mask
        slots[wanted] = np.int64(hashed >> np.uint64(key_bits - slot_bits))
        # Kept only where a trigram may be known: no branch on it.
        wanted += 1 if order == 2 else np.int64(prefixes[position])
    # Load every home slot first, with nothing waiting on the loads: the cache misses
    # overlap (as in _add_ngrams).
    for index in range(wanted):
        keys[wanted + index] = table[slots[index]]
    for index in range(wanted):
        prefix = 0
        if keys[wanted + index] != 0:
            remainder = keys[index]
            slot = slots[index]
            for displacement in range(1, longest + 2):
                entry = table[slot]
                if entry == 0:
                    break
                if ((entry >> shift) & displacement_mask) == np.uint64(displacement) and (
                    entry & remainder_mask
                ) == remainder:
                    identifier = np.int32((entry >> np.uint64(remainder_bits)) & id_mask)
                    # Id 0: only the prefix of trigrams, no bigram of the vocabulary.
                    bag[size] = identifier
                    size += 1 if identifier != 0 else 0
                    prefix = np.int64(entry >> _PREFIX_BIT)
                    break
                slot = (slot + 1) & mask
        if order == 2:
            prefixes[index] = prefix
    return size


@numba.njit(cache=True, nogil=True)
def score_reviews(
    data: np.ndarray,
    offsets: np.ndarray,
    present: np.ndarray,
    cleaned: bool,
    every_row: bool,
    classes: np.ndarray,
    lowered: np.ndarray,
    spaces: np.ndarray,
    word_table: np.ndarray,
    word_data: np.ndarray,
    word_offsets: np.ndarray,
    unigram_ids: np.ndarray,
    bigrams: tuple[np.ndarray, np.ndarray],
    trigrams: tuple[np.ndarray, np.ndarray],
    word_bits: int,
    num_words: int,
    max_length: int,
    cut_before: bool,
    weights: np.ndarray,
    top: int,
    top_ids: np.ndarray,
    top_weights: np.ndarray,
    negated: np.ndarray,
    roles: np.ndarray,
    negation_scope: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Score reviews from their UTF-8 bytes: :func:`weighted_bags` of what
    :func:`tokenize_bytes` and Arrow's ``index_in`` would give, in one pass per review.

    Args:
        data: The reviews' UTF-8 bytes (an Arrow string array's data buffer).
        offsets: Review ``i`` is ``data[offsets[i]:offsets[i + 1]]``.
        present: Which reviews are not null.
        cleaned: The reviews are ``token_text`` output (tokens separated by spaces).
        every_row: Score every present review, even one without text (else those get
            ``NO_TEXT``).
        classes, lowered: ``CLASSES`` and ``LOWERED``.
        spaces: ``SPACES``.
        word_table: The vocabulary's words (:func:`fill_word_table`); ``word_data`` and
            ``word_offsets`` are their bytes.
        bigrams, trigrams: Compact tables (:func:`fill_compact_table`): slots and
            layout; no slots: no such n-grams.
        word_bits: Bits per word in the compact tables' keys.
        unigram_ids, num_words, max_length, cut_before, weights, top, top_ids,
            top_weights: As :func:`weighted_bags` takes them.
        negated, roles, negation_scope: Negation marking (:func:`negate_words`; scope
            0: none).

    Returns:
        ``(status, sums, token_counts, oov_counts)``: per review ``NO_TEXT``,
        ``SCORED`` or ``NEEDS_PYTHON`` (then nothing else of it is set), and for scored
        reviews the float64 sum and the counts.
    """
    rows = len(offsets) - 1
    longest = 0
    for row in range(rows):
        longest = max(longest, offsets[row + 1] - offsets[row])
    status = np.zeros(rows, np.uint8)
    sums = np.zeros(rows, np.float64)
    token_counts = np.zeros(rows, np.int64)
    oov_counts = np.zeros(rows, np.int64)
    # A token takes at least one byte, so a review has at most its length in tokens,
    # and at most 8 bytes of ``token`` per byte of the review (tokens start at multiples
    # of 8). ``token`` stays zeros beyond what the current review wrote.
    chunks = np.zeros(longest + 2, np.uint64)
    token = chunks.view(np.uint8)
    dirty = 0
    words = np.empty(longest + 1, np.int64)
    starts = np.empty(longest + 2, np.int64)
    sizes = np.empty(longest + 1, np.int64)
    prefixes = np.empty(longest + 1, np.uint8)
    bag = np.empty(3 * longest + 1, np.int32)
    ordered = np.empty(3 * longest + 1, np.int32)
    keys = np.empty(2 * longest + 2, np.uint64)
    slots = np.empty(longest + 1, np.int64)
    bits = np.zeros((num_words + 63) // 64, np.uint64)
    summary = np.zeros((len(bits) + 63) // 64, np.uint64)
    plain = np.empty(128, np.int64)
    # A plain character's byte in a token (0 for a separator) and whether it is text.
    plain_lowered = np.zeros(128, np.uint8)
    plain_text = np.zeros(128, np.int64)
    for code in range(128):
        plain[code] = classes[code] if classes[code] <= WORD and code != 60 and code != 38 else -1
        if plain[code] == WORD:
            plain_lowered[code] = lowered[code]
        plain_text[code] = 0 if spaces[code] else 1
    table_bits = _log2(len(word_table) // 2)
    padding_weight = np.float64(weights[0])
    for row in range(rows):
        if not present[row] and not every_row:
            continue
        chunks[:dirty] = 0
        count, text, python, written = _tokenize_row(
            data,
            offsets[row],
            offsets[row + 1] if present[row] else offsets[row],
            cleaned,
            classes,
            lowered,
            spaces,
            plain,
            plain_lowered,
            plain_text,
            token,
            starts,
            sizes,
        )
        dirty = (written + 7) >> 3
        if python:
            status[row] = NEEDS_PYTHON
            continue
        if not (text or every_row or cleaned):
            continue
        status[row] = SCORED
        _look_up_words(
            token,
            chunks,
            starts,
            sizes,
            count,
            word_table,
            table_bits,
            word_data,
            word_offsets,
            words,
            slots,
            keys,
        )
        if negation_scope > 0:
            negate_words(words, 0, count, negated, roles, negation_scope)
        size = 0
        oov = 0
        for position in range(count):
            identifier = unigram_ids[words[position]]
            if identifier == 1:
                oov += 1
            bag[size] = identifier
            size += 1
        for order, (table, layout) in ((2, bigrams), (3, trigrams)):
            size = _add_compact_ngrams(
                words, count, order, table, layout, word_bits, bag, size, keys, slots, prefixes
            )
        token_counts[row] = count
        oov_counts[row] = oov
        if top == 0 and size <= max_length:
            # Nothing to cut: the ids are summed as they come out of the bit set, in
            # the same ascending order, without being stored.
            distinct = _mark_ids(bag, size, bits, summary)
            sums[row] = _sum_ascending(
                bits, summary, weights, padding_weight * (max_length - distinct)
            )
            continue
        distinct = _distinct_ascending(bag, size, bits, summary, ordered)
        kept = min(distinct, max_length)
        first = distinct - kept if cut_before else 0
        total = padding_weight * (max_length - kept)
        for index in range(first, first + kept):
            total += weights[ordered[index]]
        sums[row] = total
        if top > 0:
            _top_weights(ordered, first, first + kept, weights, top, top_ids[row], top_weights[row])
    return status, sums, token_counts, oov_counts


# What a word is to negation marking (sentiment.encoding.negation).
NEGATOR = 1
SCOPE_END = 2


@numba.njit(cache=True, nogil=True)
def negate_words(
    words: np.ndarray,
    start: int,
    count: int,
    negated: np.ndarray,
    roles: np.ndarray,
    scope: int,
) -> None:
    """Replace, in place, the word indices of ``words[start:start + count]`` (one
    review) that follow a negator by their negated words' indices.

    Args:
        words: Word indices (0: unknown word).
        start, count: The review's tokens.
        negated: Per word index, its negated word's index (0 where it has none).
        roles: Per word index, ``NEGATOR``, ``SCOPE_END`` or 0.
        scope: Words marked after each negator.
    """
    left = 0
    for position in range(start, start + count):
        word = words[position]
        role = roles[word]
        if role == SCOPE_END:
            left = 0
            continue
        if left > 0:
            words[position] = negated[word]
        left -= 1
        # A negator inside a scope is itself marked and starts a new scope.
        if role == NEGATOR:
            left = scope


@numba.njit(cache=True, nogil=True)
def negate_word_index(
    word_index: np.ndarray,
    lengths: np.ndarray,
    negated: np.ndarray,
    roles: np.ndarray,
    scope: int,
) -> None:
    """:func:`negate_words` for every review of a batch (reviews concatenated)."""
    start = 0
    for length in lengths:
        negate_words(word_index, start, length, negated, roles, scope)
        start += length


def _load_kernels() -> None:
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
        tokenize_bytes(data, offsets, in_python, CLASSES, LOWERED)
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
            )
    negate_word_index(
        np.array([1, 0], np.int64),
        np.array([2], np.int64),
        np.zeros(2, np.int64),
        np.zeros(2, np.uint8),
        1,
    )


_load_kernels()

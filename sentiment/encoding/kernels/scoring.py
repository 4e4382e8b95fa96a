"""Compiled scoring of reviews straight from their bytes (:func:`score_reviews`)."""

from __future__ import annotations

import numba
import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros

from sentiment.encoding.kernels.bags import kept_sums, largest_weights, prior_share
from sentiment.encoding.kernels.negation import negate_words
from sentiment.encoding.kernels.tables import PREFIX_BIT, compact_hash, log2
from sentiment.encoding.kernels.tokenizing import PERIOD, WORD
from sentiment.encoding.kernels.words import look_up_words, tokenize_row

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
def _sum_ascending_with_prior(
    bits: np.ndarray, summary: np.ndarray, paired: np.ndarray, total: np.float64
) -> tuple[np.float64, np.float64]:
    """:func:`_sum_ascending` of ``paired[:, 0]``, and the sum of ``paired[:, 1]`` over
    the same ids in the same walk."""
    prior_total = np.float64(0.0)
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
                identifier = word * 64 + _trailing_zeros(value)
                total += paired[identifier, 0]
                prior_total += paired[identifier, 1]
                value &= value - np.uint64(1)
    return total, prior_total


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
    displacement_mask = (np.uint64(1) << (PREFIX_BIT - shift)) - np.uint64(1)
    mask = len(table) - 1
    wanted = 0
    for position in range(count - order + 1):
        key = np.uint64(0)
        for offset in range(order):
            key = (key << bits) | np.uint64(words[position + offset])
        hashed = compact_hash(key, key_bits)
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
                    prefix = np.int64(entry >> PREFIX_BIT)
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
    sentence_ends: bool,
    prior: np.ndarray,
    prior_tokens: int,
    full_tokens: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
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
        sentence_ends: Sentence ends end negation scopes (``tokenize_bytes``'s
            ``sentence_ends``; only with negation marking).
        prior, prior_tokens: ``(num_words, 2)``: each id's weight and a second weight
            (a prior) side by side, so one cache line serves both; summed over the same
            ids for reviews of fewer than ``prior_tokens`` tokens only (no rows: none).
        full_tokens: With ``top``, a review of up to this many tokens weighs its ids'
            prior whole in its top weights, less down to none at ``prior_tokens``
            (:func:`prior_share`), so they are each id's whole contribution.

    Returns:
        ``(status, sums, token_counts, oov_counts, prior_sums)``: per review
        ``NO_TEXT``, ``SCORED`` or ``NEEDS_PYTHON`` (then nothing else of it is set), and
        for scored reviews the float64 sums and the counts (``prior_sums`` 0 where the
        prior is not summed).
    """
    rows = len(offsets) - 1
    longest = 0
    for row in range(rows):
        longest = max(longest, offsets[row + 1] - offsets[row])
    status = np.zeros(rows, np.uint8)
    sums = np.zeros(rows, np.float64)
    token_counts = np.zeros(rows, np.int64)
    oov_counts = np.zeros(rows, np.int64)
    prior_sums = np.zeros(rows, np.float64)
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
    if sentence_ends:
        plain[PERIOD] = -1
    table_bits = log2(len(word_table) // 2)
    padding_weight = np.float64(weights[0])
    for row in range(rows):
        if not present[row] and not every_row:
            continue
        chunks[:dirty] = 0
        count, text, python, written = tokenize_row(
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
            sentence_ends,
        )
        dirty = (written + 7) >> 3
        if python:
            status[row] = NEEDS_PYTHON
            continue
        if not (text or every_row or cleaned):
            continue
        status[row] = SCORED
        look_up_words(
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
            count = negate_words(words, 0, count, 0, negated, roles, negation_scope)
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
        with_prior = len(prior) > 0 and count < prior_tokens
        if top == 0 and size <= max_length:
            # Nothing to cut: the ids are summed as they come out of the bit set, in
            # the same ascending order, without being stored.
            distinct = _mark_ids(bag, size, bits, summary)
            padding = padding_weight * (max_length - distinct)
            if with_prior:
                sums[row], prior_sums[row] = _sum_ascending_with_prior(
                    bits, summary, prior, padding
                )
            else:
                sums[row] = _sum_ascending(bits, summary, weights, padding)
            continue
        distinct = _distinct_ascending(bag, size, bits, summary, ordered)
        kept = min(distinct, max_length)
        first = distinct - kept if cut_before else 0
        sums[row], prior_sums[row] = kept_sums(
            ordered, first, kept, weights, padding_weight, max_length, prior, with_prior
        )
        if top > 0:
            share = prior_share(count, full_tokens, prior_tokens) if with_prior else 0.0
            largest_weights(
                ordered,
                first,
                first + kept,
                weights,
                prior,
                share,
                top,
                top_ids[row],
                top_weights[row],
            )
    return status, sums, token_counts, oov_counts, prior_sums

"""Compiled bags of ids: each review's distinct word and n-gram ids, padded into rows
(:func:`ngram_bags`) or summed with per-id weights (:func:`weighted_bags`).
"""

from __future__ import annotations

import numba
import numpy as np

from sentiment.encoding.kernels.tables import EMPTY_KEY, home_slot, log2, may_hold, probe_from

# Bits per round of the radix sort of a review's ids.
_RADIX_BITS = 10
_RADIX_MASK = (1 << _RADIX_BITS) - 1


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
    table_bits, filter_bits = log2(len(table) // 2), 6 + log2(len(bloom))
    wanted = 0
    for position in range(start, stop - order + 1):
        key = np.uint64(0)
        for offset in range(order):
            key = (key << bits) | np.uint64(word_index[position + offset])
        if may_hold(bloom, filter_bits, key):
            keys[wanted] = key
            slots[wanted] = home_slot(key, table_bits)
            wanted += 1
    # Load every home slot first, with nothing waiting on the loads: the processor
    # overlaps these cache misses instead of stalling on each in turn.
    for index in range(wanted):
        keys[wanted + index] = table[2 * slots[index]]
    for index in range(wanted):
        if keys[wanted + index] == EMPTY_KEY:
            continue
        found = probe_from(table, slots[index], keys[index])
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
    passes = max(1, -(-log2(num_words) // _RADIX_BITS))
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
    prior: np.ndarray,
    prior_tokens: int,
    full_tokens: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
        top_weights: float32 ``(n, 2 * top)``: their weights, the share of the prior
            included (see ``prior``).
        prior: ``(num_words, 2)``: each id's weight and a second weight (a prior) side by
            side; summed over the same ids for reviews of fewer than ``prior_tokens``
            tokens only (no rows: none).
        prior_tokens, full_tokens: A review of up to ``full_tokens`` tokens weighs its
            ids' prior whole in its top weights, one of ``prior_tokens`` or more not at
            all, linear between (:func:`prior_share`).

    Returns:
        ``(sums, oov_counts, prior_sums)``: float64 sum per review, its tokens whose id
        is 1, and the float64 sum of the prior over its ids (0 where not summed).
    """
    rows = len(lengths)
    bag, scratch, keys, slots = _bag_scratch(lengths)
    passes = max(1, -(-log2(num_words) // _RADIX_BITS))
    sums = np.zeros(rows, np.float64)
    oov_counts = np.zeros(rows, np.int64)
    prior_sums = np.zeros(rows, np.float64)
    padding_weight = np.float64(weights[0])
    start = 0
    for row in range(rows):
        stop = start + lengths[row]
        with_prior = len(prior) > 0 and lengths[row] < prior_tokens
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
        sums[row], prior_sums[row] = kept_sums(
            ordered, first, kept, weights, padding_weight, max_length, prior, with_prior
        )
        share = prior_share(lengths[row], full_tokens, prior_tokens) if with_prior else 0.0
        if top > 0:
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
        start = stop
    return sums, oov_counts, prior_sums


@numba.njit(cache=True, nogil=True)
def kept_sums(
    ordered: np.ndarray,
    first: int,
    kept: int,
    weights: np.ndarray,
    padding_weight: np.float64,
    max_length: int,
    prior: np.ndarray,
    with_prior: bool,
) -> tuple[np.float64, np.float64]:
    """The weights of ``ordered[first:first + kept]`` summed in order, plus one padding
    weight per empty slot; and, ``with_prior``, the sum of ``prior[:, 1]`` over the same
    ids (else 0)."""
    total = padding_weight * (max_length - kept)
    for index in range(first, first + kept):
        total += weights[ordered[index]]
    prior_total = np.float64(0.0)
    if with_prior:
        for index in range(first, first + kept):
            prior_total += prior[ordered[index], 1]
    return total, prior_total


@numba.njit(cache=True, nogil=True)
def prior_share(tokens: int, full_tokens: int, no_tokens: int) -> np.float64:
    """The share of its prior a review of ``tokens`` tokens gets: 1 up to
    ``full_tokens``, 0 from ``no_tokens``, linear between (as
    :meth:`sentiment.modeling.short_text_prior.ShortTextPrior.gate` computes it)."""
    share = (no_tokens - tokens) / (no_tokens - full_tokens)
    return np.float64(min(1.0, max(0.0, share)))


@numba.njit(cache=True, nogil=True)
def largest_weights(
    ids: np.ndarray,
    start: int,
    stop: int,
    weights: np.ndarray,
    prior: np.ndarray,
    share: np.float64,
    top: int,
    out_ids: np.ndarray,
    out_weights: np.ndarray,
) -> None:
    """The ``top`` largest positive and most negative contributions of ``ids[start:stop]``
    (see :func:`weighted_bags`); kept sorted by insertion, as ``top`` is small.

    An id's contribution is its weight, plus ``share`` times its prior (``prior[id, 1]``)
    where ``share`` is not 0, taken in float64 and stored as float32.
    """
    out_ids[:] = -1
    out_weights[:] = 0.0
    positives = 0
    negatives = 0
    for index in range(start, stop):
        identifier = ids[index]
        weight = weights[identifier]
        if share != 0.0:
            weight = np.float32(np.float64(weight) + share * np.float64(prior[identifier, 1]))
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

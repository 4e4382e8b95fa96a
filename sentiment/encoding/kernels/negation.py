"""Compiled negation marking (see :mod:`sentiment.encoding.negation`)."""

from __future__ import annotations

import numba
import numpy as np

# What a word is to negation marking (sentiment.encoding.negation).
NEGATOR = 1
SCOPE_END = 2
# A scope end that is no word: dropped once marked (text.SENTENCE_END).
SENTENCE_END = 3


@numba.njit(cache=True, nogil=True)
def negate_words(
    words: np.ndarray,
    start: int,
    count: int,
    target: int,
    negated: np.ndarray,
    roles: np.ndarray,
    scope: int,
) -> int:
    """Write the word indices of ``words[start:start + count]`` (one review) to
    ``words[target:]`` (``target <= start``), those that follow a negator replaced by
    their negated words' indices and sentence ends left out; return how many.

    Args:
        words: Word indices (0: unknown word).
        start, count: The review's tokens.
        target: Where its marked words go.
        negated: Per word index, its negated word's index (0 where it has none).
        roles: Per word index, ``NEGATOR``, ``SCOPE_END``, ``SENTENCE_END`` or 0.
        scope: Words marked after each negator.
    """
    left = 0
    kept = target
    for position in range(start, start + count):
        word = words[position]
        role = roles[word]
        if role >= SCOPE_END:
            left = 0
            if role == SCOPE_END:
                words[kept] = word
                kept += 1
            continue
        words[kept] = negated[word] if left > 0 else word
        kept += 1
        left -= 1
        # A negator inside a scope is itself marked and starts a new scope.
        if role == NEGATOR:
            left = scope
    return kept - target


@numba.njit(cache=True, nogil=True)
def negate_word_index(
    word_index: np.ndarray,
    lengths: np.ndarray,
    negated: np.ndarray,
    roles: np.ndarray,
    scope: int,
) -> np.ndarray:
    """:func:`negate_words` for every review of a batch (reviews concatenated): the
    marked words fill the start of ``word_index``; returns each review's count of them."""
    kept_lengths = np.empty(len(lengths), np.int64)
    start = 0
    target = 0
    for review in range(len(lengths)):
        length = lengths[review]
        kept = negate_words(word_index, start, length, target, negated, roles, scope)
        kept_lengths[review] = kept
        start += length
        target += kept
    return kept_lengths

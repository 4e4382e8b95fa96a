"""Compiled negation marking (see :mod:`sentiment.encoding.negation`)."""

from __future__ import annotations

import numba
import numpy as np

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

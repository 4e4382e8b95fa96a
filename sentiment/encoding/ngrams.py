"""N-gram keys: a word sequence packed into one uint64, 21 bits per word.

The one definition of the packing: fitting (:mod:`sentiment.encoding.vocabulary`),
lookup tables (:mod:`sentiment.encoding.vectorizer`) and the compiled bag loop
(:func:`sentiment.encoding.kernels.ngram_bags`, which takes ``WORD_BITS``) agree on it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sentiment.encoding.config import MAX_WORDS, WORD_BITS

__all__ = ["MAX_WORDS", "WORD_BITS", "ngram_keys", "pack_keys", "unpack_keys"]


def pack_keys(words: Sequence[np.ndarray], bits: int = WORD_BITS) -> np.ndarray:
    """Pack n-grams given as one word-index array per position into uint64 keys.

    Args:
        words: ``words[k][i]`` is the word index (< 2**bits) at position ``k`` of n-gram
            ``i``; first position first.
        bits: Bits per word.

    Returns:
        One key per n-gram; the first word sits in the highest bits.
    """
    keys = np.zeros(len(words[0]) if len(words) else 0, np.uint64)
    for position in words:
        keys <<= np.uint64(bits)
        keys |= np.asarray(position).astype(np.uint64)
    return keys


def unpack_keys(keys: np.ndarray, order: int) -> list[np.ndarray]:
    """The word indices of packed ``order``-grams, first position first."""
    mask = np.uint64((1 << WORD_BITS) - 1)
    return [(keys >> np.uint64(WORD_BITS * shift)) & mask for shift in range(order - 1, -1, -1)]


def ngram_keys(
    word_index: np.ndarray, lengths: np.ndarray, order: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pack each n-gram that lies inside one review into a uint64 key.

    Args:
        word_index: Per-token word indices (< 2**21), reviews concatenated.
        lengths: Tokens per review.
        order: n.

    Returns:
        ``(keys, documents)``: one packed key per n-gram, in review order and position
        order, and the review each belongs to.
    """
    documents = np.repeat(np.arange(len(lengths)), lengths)
    if order == 1:
        return word_index.astype(np.uint64), documents
    total = len(word_index)
    if total < order:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    count = total - order + 1
    # An n-gram starting at i is inside one review when token i + n - 1 is too. Shifted
    # slices, not index arrays: no gathers over millions of tokens.
    valid = documents[:count] == documents[order - 1 :]
    keys = pack_keys([word_index[offset : offset + count] for offset in range(order)])
    return keys[valid], documents[:count][valid]

"""Compiled reading of one review for the byte scorer: tokenize it as
:func:`sentiment.encoding.kernels.tokenizing.tokenize_bytes` does, check it as
``python_rows`` and ``has_text`` do, and look its tokens up in the word table.
"""

from __future__ import annotations

import numba
import numpy as np

from sentiment.encoding.kernels.tables import WORD_MULTIPLIER
from sentiment.encoding.kernels.tokenizing import (
    APOSTROPHE,
    BASIC_PLANE,
    IN_PYTHON,
    MARK,
    PERIOD,
    WORD,
    decode,
    encode,
    ends_sentence,
    tag_end,
)


def space_table() -> np.ndarray:
    """Which BMP code points ``str.isspace()`` (what ``str.strip()`` removes)."""
    return np.array([chr(code).isspace() for code in range(BASIC_PLANE)], np.bool_)


SPACES = space_table()


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
            code, size = decode(data, position)
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
def tokenize_row(
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
    sentence_ends: bool,
) -> tuple[int, bool, bool, int]:
    """Tokenize one review as :func:`tokenize_bytes` does (with ``sentence_ends``, "."
    must not be plain), and check it as :func:`python_rows` and ``has_text`` do.

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
        code, size = decode(data, position)
        kind = classes[code]
        if kind == IN_PYTHON:
            return count, text, True, written
        if not spaces[code]:
            text = True
        if kind == WORD:
            written = encode(lowered[code], token, written)
            inside = 1
            position += size
            continue
        if code == 60:  # "<": a whole tag separates
            closing = tag_end(data, position, end)
            if closing >= 0:
                # python_rows reads the tag's bytes too, in its own steps: where they
                # hold anything but plain ASCII, ask it about the whole row.
                for inner in range(position + 1, closing):
                    if data[inner] >= 0x80 or data[inner] == 38:
                        if _needs_python(data, start, end, classes):
                            return count, text, True, written
                        break
                size = closing - position + 1
        elif kind == APOSTROPHE and inside and position + size < end:
            following, _ = decode(data, position + size)
            if classes[following] == WORD:
                written = encode(code, token, written)
                position += size
                continue
        if inside:
            count, written = _end_token(starts, sizes, count, written)
            inside = 0
        if kind == MARK or (
            sentence_ends and code == PERIOD and ends_sentence(data, position, end, spaces)
        ):
            token[written] = code
            written += 1
            count, written = _end_token(starts, sizes, count, written)
        current = starts[count]
        position += size
    if inside:
        count, written = _end_token(starts, sizes, count, written)
    return count, text or textual != 0, False, written


@numba.njit(cache=True, nogil=True)
def look_up_words(
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

    ``token`` holds the tokens as :func:`tokenize_row` leaves them and ``chunks`` is
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
        value = (np.uint64(size) * WORD_MULTIPLIER ^ prefix) * WORD_MULTIPLIER
        value ^= value >> np.uint64(29)
        for chunk in range(first + 1, first + ((size + 7) >> 3)):
            value = (value ^ chunks[chunk]) * WORD_MULTIPLIER
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

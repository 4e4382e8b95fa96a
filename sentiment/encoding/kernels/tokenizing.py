"""Compiled tokenizing: character classes and splitting UTF-8 reviews into tokens.

The tables say what each Basic Multilingual Plane character is to the tokenizer and
what its lowercase is; :func:`tokenize_bytes` is the batch tokenizer behind
:func:`sentiment.encoding.tokens.tokenize`.
"""

from __future__ import annotations

import numba
import numpy as np

# What a character is to the tokenizer (see sentiment.encoding.text).
SEPARATOR = 0
WORD = 1
APOSTROPHE = 2
MARK = 3
# A character this loop cannot standardize exactly: its lowercase depends on context
# (capital sigma), has several characters or a longer UTF-8 form, or it lies outside
# the Basic Multilingual Plane. Rows holding one are tokenized in Python.
IN_PYTHON = 4

BASIC_PLANE = 0x10000
_CAPITAL_SIGMA = 0x3A3


def _character_tables() -> tuple[np.ndarray, np.ndarray]:
    """Each BMP code point's class and the code point its lowercase is."""
    classes = np.full(BASIC_PLANE, SEPARATOR, np.uint8)
    lowered = np.arange(BASIC_PLANE, dtype=np.int32)
    for code in range(BASIC_PLANE):
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
# "<", at most 100 characters other than ">", then ">" is an HTML tag (text._HTML_TAG).
TAG_LENGTH = 100
# text.SENTENCE_END, a token only where sentence ends are kept.
PERIOD = 46


@numba.njit(cache=True, nogil=True)
def decode(data: np.ndarray, position: int) -> tuple[int, int]:
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
def encode(code: int, out: np.ndarray, written: int) -> int:
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
def tag_end(data: np.ndarray, position: int, end: int) -> int:
    """Where the HTML tag opened by the "<" at ``data[position]`` ends (its ">"), or -1
    if none does before ``end``."""
    closing = position + 1
    limit = min(end, position + TAG_LENGTH + 2)
    while closing < limit and data[closing] != 62:
        closing += 1
    return closing if closing < limit else -1


@numba.njit(cache=True, nogil=True)
def ends_sentence(data: np.ndarray, position: int, end: int, spaces: np.ndarray) -> bool:
    """Whether the "." at ``data[position]`` is a ``text.SENTENCE_END``: whitespace
    (``spaces``) or an HTML tag (a space to ``text.token_text``) follows it."""
    following = position + 1
    if following >= end:
        return False
    byte = data[following]
    if byte < 0x80:
        return tag_end(data, following, end) >= 0 if byte == 60 else spaces[byte]
    # A malformed or non-BMP character is no whitespace (its row is Python's anyway).
    if byte < 0xC0 or byte >= 0xF0 or following + (2 if byte < 0xE0 else 3) > end:
        return False
    code, _ = decode(data, following)
    return spaces[code]


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
                code, size = decode(data, position)
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
    sentence_ends: bool,
    spaces: np.ndarray,
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
        sentence_ends: Also give each sentence end (:func:`ends_sentence`) as a "."
            token (cleaned rows hold theirs already).
        spaces: Which BMP code points are whitespace (``SPACES``).

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
    if sentence_ends:
        plain[PERIOD] = -1
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
                code, size = decode(data, position)
                kind = classes[code]
                if kind == WORD:
                    written = encode(lowered[code], token_bytes, written)
                    token_offsets[tokens + 1] = written
                    inside = 1
                    position += size
                    continue
                if code == 60:  # "<": a whole tag separates
                    closing = tag_end(data, position, end)
                    if closing >= 0:
                        size = closing - position + 1
                elif kind == APOSTROPHE and inside and position + size < end:
                    following, _ = decode(data, position + size)
                    if classes[following] == WORD:
                        written = encode(code, token_bytes, written)
                        position += size
                        continue
                tokens += inside
                inside = 0
                if kind == MARK or (
                    sentence_ends and code == PERIOD and ends_sentence(data, position, end, spaces)
                ):
                    token_bytes[written] = code
                    written += 1
                    tokens += 1
                    token_offsets[tokens] = written
                position += size
        tokens += inside
        row_offsets[row + 1] = tokens
    return token_bytes[:written], token_offsets[: tokens + 1], row_offsets

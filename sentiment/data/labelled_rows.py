"""What a labelled row is: its label read from any spelling, its text normalized and
hashed (how duplicates and leaks are found), and the portion its hash puts it in."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from sentiment.encoding.text import token_text

LABEL_WORDS = {
    "0": 0,
    "1": 1,
    "false": 0,
    "true": 1,
    "neg": 0,
    "pos": 1,
    "negative": 0,
    "positive": 1,
}
# An HTML line break as IMDB writes it (<br />) or any variant of case and spacing.
_LINE_BREAK = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)


def parse_label(value: Any) -> int | None:
    """The label 0 or 1 of one cell, or None when it is not a label.

    Accepts 0/1 (integers, floats or strings such as ``"1.0"``, so every format reads a
    label alike), booleans, true/false, pos/neg and positive/negative in any case, with
    surrounding spaces.
    """
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return int(value) if value in (0, 1) else None
    if isinstance(value, str):
        word = value.strip().lower()
        if word in LABEL_WORDS:
            return LABEL_WORDS[word]
        # "1.0" in a CSV reads as the 1.0 a Parquet or JSON file holds.
        try:
            return parse_label(float(word))
        except ValueError:
            return None
    return None


def normalize_text(text: str) -> str:
    """The form duplicates are found by: HTML line breaks (``<br />`` in any case and
    spacing) and runs of white space become one space, letters case-folded (so an
    upper-cased copy matches, ``ß`` included), ends stripped."""
    return " ".join(_LINE_BREAK.sub(" ", text).casefold().split())


def text_hash(text: str) -> str:
    """16 hex digits of the normalized text's BLAKE2b hash."""
    return normalized_hash(normalize_text(text))


def normalized_hash(normalized: str) -> str:
    """:func:`text_hash` of a text already normalized."""
    return hashlib.blake2b(normalized.encode("utf-8"), digest_size=8).hexdigest()


def has_tokens(text: str, normalized: str) -> bool:
    """Whether ``text`` (``normalized`` its :func:`normalize_text`) yields any token: a
    review of only markup or punctuation would be an all-padding training row."""
    # A letter or digit outside any tag or entity is a word: no need to tokenize.
    outside_markup = "<" not in normalized and "&" not in normalized
    if outside_markup and any(character.isalnum() for character in normalized):
        return True
    return bool(token_text(text).strip())


def in_test_portion(hash_hex: str, test_share: float) -> bool:
    """Whether the review with this text hash belongs to the test portion."""
    # The hash's last 8 digits, so the choice does not correlate with anything that
    # sorts by the hash's first digits.
    return int(hash_hex[-8:], 16) / 2**32 < test_share

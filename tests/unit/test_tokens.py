"""Batch tokenizing helpers in sentiment.tokens (token lists are tested with the vectorizer)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from sentiment.tokens import has_text

TRICKY = [
    "a review",
    "",
    " ",
    "\t\n\r\x0b\x0c",
    "\x1c\x1d\x1e\x1f",  # str.isspace() but not Unicode White_Space
    "\u00a0",  # no-break space
    "\u3000\u2003 ",  # ideographic and em spaces
    "\u200b",  # zero-width space: not whitespace to Python
    " \u00a0x\u00a0 ",
    "\x00",
    "...",
    "  café  ",
]


def test_has_text_follows_str_strip_for_python_and_arrow_input() -> None:
    expected = [bool(text.strip()) for text in TRICKY]
    assert has_text(TRICKY).tolist() == expected
    assert has_text(pa.array(TRICKY)).tolist() == expected
    assert has_text(pa.chunked_array([TRICKY[:5], TRICKY[5:]])).tolist() == expected
    assert has_text(pa.array(TRICKY).dictionary_encode()).tolist() == expected
    assert has_text(pa.array(TRICKY, pa.large_string())).tolist() == expected


def test_has_text_is_false_for_nulls_and_non_strings() -> None:
    assert has_text(["x", None, 7, b"bytes"]).tolist() == [True, False, False, False]
    assert has_text(pa.array(["x", None, " "])).tolist() == [True, False, False]
    assert has_text(pa.nulls(3)).tolist() == [False] * 3
    assert has_text(pa.array([], pa.string())).shape == (0,)
    assert has_text(np.array(["a", " "], dtype=object)).tolist() == [True, False]

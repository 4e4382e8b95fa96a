"""Tokens: the definition (sentiment.encoding.text), its compiled batch form
(sentiment.encoding.tokens, sentiment.encoding.kernels) and the rule for which rows hold text."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from sentiment.encoding.text import reference_tokenize, token_text, tokenize
from sentiment.encoding.tokens import has_text, token_lists

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


# --- tokenization -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Great movie!<br /><br />Loved it", ["great", "movie", "!", "loved", "it"]),
        ("<i>Bad</i>, really bad...", ["bad", "really", "bad"]),
        ("Don't 'quote' me, rock'n'roll dogs'", ["don't", "quote", "me", "rock'n'roll", "dogs"]),
        ("What?!", ["what", "?", "!"]),
        ("snake_case and 1990s-era", ["snake", "case", "and", "1990s", "era"]),
        ("Café ÉCOLE naïve", ["café", "école", "naïve"]),
        ("don’t “quote”", ["don", "t", "quote"]),
        ("&lt;b&gt;not a tag&lt;/b&gt; &amp; more", ["b", "not", "a", "tag", "b", "more"]),
        ("", []),
        ("... --- ;;;", []),
    ],
)
def test_tokenize_cases(text: str, expected: list[str]) -> None:
    assert tokenize(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "a''b '''x''' y' 'z !' '! 'tis 90's",
        "İstanbul ǅungla ß ﬁne ΣΑΣ ⅷ ①② ٣ 中文字 a\u00a0b c\u2003d e\u200bf",
        "tab\there\nnewline\r\n\x1cfs mixed_under__score",
        "&eacute;t&Eacute; &#39;hi&#39; &nbsp;x &notanentity; &",
        "<br/>x<br />y<<z>> <a href='x'>link</a> 1 < 2 > 0",
        "lone \ud800 surrogate",
        "ALL CAPS!!! Mixed?? Case...",
    ],
)
def test_fast_tokenizer_matches_the_reference_definition(text: str) -> None:
    expected = reference_tokenize(text)
    assert tokenize(text) == expected
    assert token_text(text).split() == expected
    # The compiled batch tokenizer, on its own, among other rows and from Arrow.
    batch = ["plain Words here", text, "Caf\u00e9 <b>bold</b> it's", text.upper()]
    expected_batch = [reference_tokenize(item) for item in batch]
    assert token_lists([text]).to_pylist() == [expected]
    assert token_lists(batch).to_pylist() == expected_batch
    if "\ud800" not in text:  # Arrow strings are valid UTF-8
        assert token_lists(pa.array(batch)).to_pylist() == expected_batch


def test_compiled_tokenizer_matches_the_definition_on_every_character() -> None:
    # Every BMP character between word characters, alone and as a word of its own,
    # so each entry of the kernel's character tables is checked against Python.
    characters = [chr(code) for code in range(1, 0x10000) if not 0xD800 <= code < 0xE000]
    texts = [f"a{character}b {character} x{character}" for character in characters]
    texts += ["<" + "x" * length + ">y" for length in (0, 99, 100, 101)]
    texts += ["emoji \U0001f600 and math \U0001d400bold", "\U00010400 deseret"]
    got = token_lists(texts).to_pylist()
    mismatches = [
        (text, tokens)
        for text, tokens in zip(texts, got, strict=True)
        if tokens != reference_tokenize(text)
    ]
    assert mismatches == []


def test_token_lists_handle_none_and_empty() -> None:
    lists = token_lists(["a b", None, "", "?!", "...", " x "])
    assert lists.to_pylist() == [["a", "b"], [], [], ["?", "!"], [], ["x"]]

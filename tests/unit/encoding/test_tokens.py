"""Tokens: the definition (sentiment.encoding.text), its compiled batch form
(sentiment.encoding.tokens, sentiment.encoding.kernels) and the rule for which rows hold text."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from sentiment.encoding.text import reference_tokenize, token_text, tokenize
from sentiment.encoding.tokens import has_text, token_counts, token_lists

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
@pytest.mark.parametrize("sentence_ends", [False, True])
def test_fast_tokenizer_matches_the_reference_definition(text: str, sentence_ends: bool) -> None:
    expected = reference_tokenize(text, sentence_ends)
    assert tokenize(text, sentence_ends) == expected
    assert token_text(text, sentence_ends).split() == expected
    # The compiled batch tokenizer, on its own, among other rows and from Arrow.
    batch = ["plain Words here", text, "Caf\u00e9 <b>bold</b> it's", text.upper()]
    expected_batch = [reference_tokenize(item, sentence_ends) for item in batch]
    assert token_lists([text], sentence_ends).to_pylist() == [expected]
    assert token_lists(batch, sentence_ends).to_pylist() == expected_batch
    if "\ud800" not in text:  # Arrow strings are valid UTF-8
        assert token_lists(pa.array(batch), sentence_ends).to_pylist() == expected_batch


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Not great. Excellent.", ["not", "great", ".", "excellent"]),
        ("a.b 3.5 end.", ["a", "b", "3", "5", "end"]),
        (
            "Mr. X... said.\tno.\u00a0yes.\u3000ok",
            ["mr", ".", "x", ".", "said", ".", "no", ".", "yes", ".", "ok"],
        ),
        ("a.<br />b a.<i>b</i> a.<b", ["a", ".", "b", "a", ".", "b", "a", "b"]),
        ("a.&nbsp;b a.&amp;b", ["a", ".", "b", "a", "b"]),
        ("ΑΣ. Β it'. b", ["ας", ".", "β", "it", ".", "b"]),
        ("!. ?.\n", ["!", ".", "?", "."]),
    ],
)
def test_sentence_ends_are_periods_before_whitespace_or_a_tag(
    text: str, expected: list[str]
) -> None:
    assert reference_tokenize(text, sentence_ends=True) == expected
    assert tokenize(text, sentence_ends=True) == expected
    assert token_lists([text], sentence_ends=True).to_pylist() == [expected]
    # Without sentence ends, the tokens are today's.
    without = [token for token in expected if token != "."]
    assert tokenize(text) == without == reference_tokenize(text)
    assert token_counts(token_lists([text], sentence_ends=True)).tolist() == [len(without)]


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
    # Which characters after a "." end a sentence: whitespace (and tags), as Python says.
    texts = [f"a.{character}b .{character}" for character in characters]
    got = token_lists(texts, sentence_ends=True).to_pylist()
    mismatches = [
        (text, tokens)
        for text, tokens in zip(texts, got, strict=True)
        if tokens != reference_tokenize(text, sentence_ends=True)
    ]
    assert mismatches == []


def test_token_lists_handle_none_and_empty() -> None:
    lists = token_lists(["a b", None, "", "?!", "...", " x "])
    assert lists.to_pylist() == [["a", "b"], [], [], ["?", "!"], [], ["x"]]

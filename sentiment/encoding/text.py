"""Text standardization and tokenization shared by every stage.

One definition of "a word" serves the dataset report, the vectorizer, training and
scoring, so the mapping from text to tokens never drifts between them.

The definition is the regular expression ``_TOKEN`` applied to :func:`standardize`'s
output. :func:`token_text` computes the same tokens several times faster with ``str``
and ``bytes`` primitives (the regular expression costs ~150 µs per review, which alone
would cap preprocessing at ~7k reviews/s); the unit tests check the two agree.
"""

from __future__ import annotations

import html
import re

# ~29k IMDB reviews carry <br /> line breaks; any tag is markup, not words.
_HTML_TAG = re.compile(r"<[^>]{0,100}>")
# A word is a run of letters or digits, with inner apostrophes kept ("don't", "90's").
# "!" and "?" carry sentiment, so they stay as tokens of their own; other punctuation
# only separates words.
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*|[!?]")

_ASCII_KEPT = frozenset("abcdefghijklmnopqrstuvwxyz0123456789'!?")
# A sentence ends at ".", "!" or "?" before whitespace, or at a line break tag: tokens
# drop "." and markup, so sentences are cut from the raw text.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|<br\s*/?>", re.IGNORECASE)
_WORD_CHARACTER = re.compile(r"[^\W_]")
# With sentence ends kept (VectorizerConfig.sentence_scope), a "." before whitespace is a
# token of its own: negation marking ends its scope there and drops it (never a word).
SENTENCE_END = "."
_PERIOD_BEFORE_SPACE = re.compile(r"\.(?=\s)")
_TOKEN_OR_SENTENCE_END = re.compile(rf"{_TOKEN.pattern}|{_PERIOD_BEFORE_SPACE.pattern}")


def _ascii_map(code: int) -> int:
    """Where the fast path sends one ASCII character: lowercase it if it can be part of
    a token, else make it a space (``[^\\W_]`` in ASCII is exactly ``[a-z0-9]`` after
    lowercasing)."""
    lowered = chr(code).lower()
    return ord(lowered) if lowered in _ASCII_KEPT else ord(" ")


# str.translate stays on CPython's fast ASCII path only with a 1:1 ASCII table.
_ASCII_TABLE = {code: _ascii_map(code) for code in range(128)}
# The same for UTF-8 bytes; bytes >= 0x80 belong to non-ASCII characters, handled apart.
_BYTE_TABLE = bytes(_ascii_map(code) for code in range(128)) + bytes(range(128, 256))
_ASCII_BYTES = bytes(range(128))


def standardize(text: str) -> str:
    """Lowercase a review, turn HTML tags into spaces and unescape HTML entities.

    Args:
        text: A raw review.

    Returns:
        The standardized text.
    """
    return html.unescape(_HTML_TAG.sub(" ", text)).lower()


def _isolate_marks_and_apostrophes(text: str) -> str:
    """Space out ``!``/``?`` and drop apostrophes not between two word characters.

    ``text`` holds only word characters, apostrophes, ``!``, ``?`` and spaces.
    """
    if "!" in text:
        text = text.replace("!", " ! ")
    if "?" in text:
        text = text.replace("?", " ? ")
    if "'" in text:
        # After the first replace no two apostrophes touch, so any apostrophe left
        # beside a space (or the padded ends) is not inside a word.
        text = f" {text} ".replace("''", "  ").replace(" '", "  ").replace("' ", "  ")
    return text


def token_text(text: str, sentence_ends: bool = False) -> str:
    """Return a review's tokens separated by whitespace.

    ``token_text(text).split() == tokenize(text)`` always holds; this form lets a batch
    of reviews be split into tokens by Arrow without a Python list per review.

    Args:
        text: A raw review.
        sentence_ends: Also give each ``SENTENCE_END`` ("." before whitespace, after
            tags became spaces) as a token.

    Returns:
        The tokens of :func:`tokenize`, separated by one or more ASCII spaces.
    """
    if "<" in text:
        text = _HTML_TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    if sentence_ends and "." in text:
        # Each sentence on its own: neither "." nor whitespace is a word character or
        # cased, so apostrophes and lowercasing come out as in the whole text.
        pieces = _PERIOD_BEFORE_SPACE.split(text)
        if len(pieces) > 1:
            return f" {SENTENCE_END} ".join(_standard_tokens(piece) for piece in pieces)
    return _standard_tokens(text)


def _standard_tokens(text: str) -> str:
    """:func:`token_text` of a text without tags or entities."""
    if text.isascii():
        return _isolate_marks_and_apostrophes(text.translate(_ASCII_TABLE))
    # Non-ASCII: str.lower() for exact Unicode case mapping, then work on UTF-8 bytes,
    # where translate stays fast; only the few distinct non-ASCII characters of the
    # review need a Unicode lookup. Replacing a character's whole UTF-8 encoding is
    # safe because UTF-8 never matches inside another character's encoding.
    data = text.lower().encode("utf-8", "surrogatepass")
    others = data.translate(None, _ASCII_BYTES).decode("utf-8", "surrogatepass")
    for character in set(others):
        if not character.isalnum():
            data = data.replace(character.encode("utf-8", "surrogatepass"), b" ")
    return _isolate_marks_and_apostrophes(data.translate(_BYTE_TABLE).decode("utf-8"))


def tokenize(text: str, sentence_ends: bool = False) -> list[str]:
    """Split a raw review into standardized tokens.

    Args:
        text: A raw review.
        sentence_ends: Also give each ``SENTENCE_END`` as a token (see :func:`token_text`).

    Returns:
        Words (lowercase, apostrophes inside words kept) and ``!``/``?`` marks, in order.
    """
    return token_text(text, sentence_ends).split()


def split_sentences(text: str) -> list[str]:
    """Split a raw review into its sentences, those holding at least one word.

    Args:
        text: A raw review.

    Returns:
        The sentences, in order, as raw text (not standardized).
    """
    return [piece for piece in _SENTENCE_END.split(text) if _WORD_CHARACTER.search(piece)]


def reference_tokenize(text: str, sentence_ends: bool = False) -> list[str]:
    """The definition :func:`tokenize` implements faster; for tests and checks."""
    pattern = _TOKEN_OR_SENTENCE_END if sentence_ends else _TOKEN
    return pattern.findall(standardize(text))

"""Sentences cut from raw reviews."""

from __future__ import annotations

from sentiment.encoding.text import split_sentences


def test_sentences_end_at_marks_before_whitespace_and_at_line_breaks() -> None:
    text = "Great film. I loved it!<br /><br />Not bad... at all? 3.5 stars<BR>ok"
    assert split_sentences(text) == [
        "Great film.",
        "I loved it!",
        "Not bad...",
        "at all?",
        "3.5 stars",
        "ok",
    ]


def test_pieces_without_a_word_are_not_sentences() -> None:
    assert split_sentences("... !! <br /> -- ") == []
    assert split_sentences("one sentence without an end") == ["one sentence without an end"]

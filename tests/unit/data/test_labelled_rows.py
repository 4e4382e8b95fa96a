"""What a labelled row is: label spellings, text normalization, the portion split."""

from __future__ import annotations

import pytest

from sentiment.data.labelled_rows import in_test_portion, normalize_text, parse_label, text_hash


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (0, 0),
        (1, 1),
        (1.0, 1),
        (True, 1),
        (False, 0),
        ("0", 0),
        (" 1 ", 1),
        ("TRUE", 1),
        ("false", 0),
        ("Pos", 1),
        ("NEG", 0),
        ("positive", 1),
        ("Negative", 0),
        (2, None),
        ("maybe", None),
        ("", None),
        (None, None),
        (0.5, None),
    ],
)
def test_labels_are_read_case_insensitively_and_anything_else_is_refused(
    value: object, label: int | None
) -> None:
    assert parse_label(value) == label


def test_normalization_ignores_case_spacing_and_line_breaks() -> None:
    assert normalize_text("  A  Great<br />FILM\n") == "a great film"
    assert text_hash("A great film") == text_hash("a  GREAT<br/>film ")
    assert text_hash("a great film") != text_hash("a great films")


def test_split_is_deterministic_and_near_the_share() -> None:
    hashes = [text_hash(f"text {index}") for index in range(4000)]
    first = [in_test_portion(value, 0.2) for value in hashes]
    assert first == [in_test_portion(value, 0.2) for value in hashes]
    assert 0.17 < sum(first) / len(first) < 0.23

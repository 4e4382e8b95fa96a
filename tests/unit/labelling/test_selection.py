"""The queue's choice: closest to the threshold, passing over known texts and
near-duplicates, in turn from each input file."""

from __future__ import annotations

import numpy as np
import pytest

from sentiment.core.errors import ConfigError
from sentiment.data.labelled_rows import text_hash
from sentiment.labelling.config import QueueConfig
from sentiment.labelling.selection import Candidates, select_uncertain


def distinct_texts(count: int, prefix: str) -> list[str]:
    """Texts that share no three-word shingle."""
    return [" ".join(f"{prefix}{index}w{word}" for word in range(12)) for index in range(count)]


def candidates(name: str, scores: list[float], texts: list[str], threshold: float = 0.5):
    return Candidates(name, np.array(scores, np.float64), threshold, lambda row: texts[row])


def test_the_reviews_closest_to_the_threshold_are_picked_closest_first() -> None:
    texts = distinct_texts(6, "a")
    scores = [0.95, 0.52, 0.05, 0.47, 0.61, float("nan")]

    picks = select_uncertain([candidates("a", scores, texts)], QueueConfig(size=3))

    assert [pick.row for pick in picks] == [1, 3, 4]
    assert [pick.rank for pick in picks] == [0, 1, 2]
    # The threshold is the file's own (a bundle's chosen threshold), not 0.5.
    shifted = select_uncertain([candidates("a", scores, texts, 0.9)], QueueConfig(size=1))
    assert [pick.row for pick in shifted] == [0]


def test_known_equal_and_near_duplicate_texts_are_passed_over() -> None:
    long_text = " ".join(f"word{index}" for index in range(100))
    texts = [
        "Already labelled review text",
        long_text,
        long_text.upper().replace(" ", "  <br /> ", 1),  # equal once normalized
        long_text.rsplit(" ", 1)[0] + " changed",  # one word of 100 changed
        *distinct_texts(2, "b"),
    ]
    scores = [0.5, 0.501, 0.502, 0.503, 0.6, 0.7]
    excluded = {text_hash("already  LABELLED review text")}

    picks = select_uncertain([candidates("f", scores, texts)], QueueConfig(size=3), excluded)

    assert [pick.row for pick in picks] == [1, 4, 5]
    # With near-duplicates allowed (similarity 1), only the equal text is passed over.
    exact = select_uncertain(
        [candidates("f", scores, texts)], QueueConfig(size=3, near_duplicate=1.0), excluded
    )
    assert [pick.row for pick in exact] == [1, 3, 4]


def test_picks_are_spread_across_files() -> None:
    dump = candidates("dump", [0.5 + index / 1000 for index in range(10)], distinct_texts(10, "d"))
    small = candidates("small", [0.8, 0.9, 0.95], distinct_texts(3, "s"))

    spread = select_uncertain([dump, small], QueueConfig(size=4))
    closest = select_uncertain([dump, small], QueueConfig(size=4, spread=False))

    assert [(pick.file, pick.row) for pick in spread] == [(0, 0), (1, 0), (0, 1), (1, 1)]
    assert [(pick.file, pick.row) for pick in closest] == [(0, 0), (0, 1), (0, 2), (0, 3)]


def test_settings_out_of_range_are_named() -> None:
    with pytest.raises(ConfigError, match=r"'size'.*--size"):
        QueueConfig(size=0)
    with pytest.raises(ConfigError, match="'near_duplicate'"):
        QueueConfig(near_duplicate=0)

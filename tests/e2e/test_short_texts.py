"""The default model on short, clear sentences (issue 30), CheckList-style (Ribeiro et al.
2020), on the real data's model: minimum functionality on the checklist of
``tests/data/short_checklist.csv`` (both polarities, with and without negation),
invariance to names and to neutral padding, direction when a clearly polar word is added.

Each test allows the issue's target failure rate, 3% (the checklist's 97%). Where
today's model misses it the test is an expected failure whose reason gives the measured
rate; it turns into a failure (strict) once a model reaches the target, so the marker is
then removed and the target guarded.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest

CHECKLIST = Path(__file__).resolve().parents[1] / "data" / "short_checklist.csv"
TARGET_FAILURE_RATE = 0.03
NAMES = ["Tom Hanks", "Meryl Streep", "Nicolas Cage", "Keanu Reeves", "Julia Roberts"]
PADDING = ["I saw it on Sunday.", "We watched it at home with friends.", "It is a film from 2004."]


def _checklist(*kinds: str) -> tuple[list[str], np.ndarray]:
    with CHECKLIST.open(encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if not kinds or row["kind"] in kinds]
    return [row["text"] for row in rows], np.array([int(row["label"]) for row in rows])


def _development_set(source: str, home: Path) -> tuple[list[str], np.ndarray]:
    """The short-text development set, read through the product's download step."""
    import pyarrow.parquet as pq

    from sentiment.core.paths import HomeLayout
    from sentiment.data.short_texts import ingest_short_texts

    ingest_short_texts(source, home)
    table = pq.read_table(HomeLayout(home).short_texts, columns=["text", "label"])
    return table.column("text").to_pylist(), table.column("label").to_numpy()


def _positive(bundle: Any, texts: list[str]) -> np.ndarray:
    return bundle.predict_texts(texts) >= bundle.threshold


def _changed_share(bundle: Any, variants: list[list[str]]) -> float:
    """Share of items whose label differs between their variants (one list per variant)."""
    labels = np.stack([_positive(bundle, texts) for texts in variants])
    return float(np.mean(labels.min(axis=0) != labels.max(axis=0)))


def test_clear_adjective_sentences_with_and_without_negation_are_right(
    trained_default: Any,
) -> None:
    texts, labels = _checklist("plain", "negated")
    right = _positive(trained_default, texts) == labels
    wrong = [text for text, ok in zip(texts, right, strict=True) if not ok]
    assert len(wrong) <= TARGET_FAILURE_RATE * len(texts), wrong


def test_the_whole_checklist_reaches_the_target(trained_default: Any) -> None:
    texts, labels = _checklist()
    assert np.mean(_positive(trained_default, texts) != labels) <= TARGET_FAILURE_RATE


@pytest.mark.parametrize("form", ["{text} {name} stars in it.", "{name}: {text}"])
def test_names_do_not_change_labels(trained_default: Any, form: str) -> None:
    texts, _ = _checklist()
    variants = [[form.format(text=text, name=name) for text in texts] for name in NAMES]
    assert _changed_share(trained_default, variants) <= TARGET_FAILURE_RATE


@pytest.mark.parametrize("padding", PADDING)
def test_neutral_padding_does_not_change_clear_adjective_sentences(
    trained_default: Any, padding: str
) -> None:
    texts, _ = _checklist("plain")
    variants = [
        texts,
        [f"{text} {padding}" for text in texts],
        [f"{padding} {text}" for text in texts],
    ]
    assert _changed_share(trained_default, variants) <= TARGET_FAILURE_RATE


@pytest.mark.parametrize(
    ("word", "sign"),
    [
        ("Awful.", -1),
        # A sentence's end ends a negation scope (decision 0020): "Excellent." after
        # "The film was not great." is read as written.
        ("Excellent.", 1),
        ("Wonderful.", 1),
    ],
)
def test_adding_a_polar_word_moves_the_score_its_way(
    trained_default: Any, word: str, sign: int
) -> None:
    texts, _ = _checklist()
    before = trained_default.predict_texts(texts)
    after = trained_default.predict_texts([f"{text} {word}" for text in texts])
    assert np.mean(np.sign(after - before) != sign) <= TARGET_FAILURE_RATE


# Before the short-text prior the default model reached 81.8% (docs/performance.md).
DEVELOPMENT_FLOOR = 0.82
DEVELOPMENT_TARGET = 0.85


def test_the_development_set_stays_above_the_model_without_the_prior(
    trained_default: Any, short_texts_source: str, tmp_path: Path
) -> None:
    texts, labels = _development_set(short_texts_source, tmp_path)
    assert np.mean(_positive(trained_default, texts) == labels) >= DEVELOPMENT_FLOOR


@pytest.mark.xfail(
    strict=True,
    reason="issue 30 target not reached: 83.0% on the SST-2 dev sentences (2026-12-07); "
    "its misses are critics' phrasing IMDB's n-grams do not read "
    "(research/short_texts/README.md)",
)
def test_the_development_set_reaches_the_target(
    trained_default: Any, short_texts_source: str, tmp_path: Path
) -> None:
    texts, labels = _development_set(short_texts_source, tmp_path)
    assert np.mean(_positive(trained_default, texts) == labels) >= DEVELOPMENT_TARGET

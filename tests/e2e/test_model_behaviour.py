"""Behavioural tests of the trained default model (Ribeiro et al.'s CheckList kinds):
invariance, direction and minimum function, on the real data's model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from sentiment.core.paths import HomeLayout

NAMES = ["Tom Hanks", "Meryl Streep", "Nicolas Cage", "Keanu Reeves", "Julia Roberts"]
FILMS = ["Titanic", "Casablanca", "The Room", "Inception", "Cats"]
TEMPLATES = [
    "I watched {film} with {name} in the lead and it was a wonderful, moving film.",
    "{name} gave a dreadful performance in {film}; a boring waste of two hours.",
    "{film} is one of the best movies I have seen, and {name} is superb in it.",
    "Avoid {film}. Even {name} could not save this terrible, dull mess.",
]
CLEAR = [
    ("This movie was excellent.", 1),
    ("A wonderful film, I loved every minute.", 1),
    ("One of the best films of the year.", 1),
    ("Brilliant acting and a great story.", 1),
    ("Highly recommended, a masterpiece.", 1),
    ("This movie was terrible.", 0),
    ("An awful, boring film.", 0),
    ("The worst movie I have ever seen.", 0),
    ("A complete waste of time.", 0),
    ("Dull, badly acted and far too long.", 0),
]


def _labels(bundle: Any, texts: list[str]) -> np.ndarray:
    return (bundle.predict_texts(texts) >= 0.5).astype(int)


def test_changing_a_film_or_actor_name_does_not_flip_a_label(trained_default: Any) -> None:
    for template in TEMPLATES:
        texts = [template.format(name=name, film=film) for name in NAMES for film in FILMS]
        labels = _labels(trained_default, texts)
        assert len(set(labels.tolist())) == 1, (template, labels.tolist())


def test_adding_terrible_boring_lowers_the_score(trained_default: Any, imdb_home: Path) -> None:
    texts = pq.read_table(HomeLayout(imdb_home).raw_split("test")).column("text").to_pylist()
    sample = texts[::125]  # 200 reviews of both classes
    before = trained_default.predict_texts(sample)
    after = trained_default.predict_texts([f"{text} It was terrible, boring." for text in sample])
    assert np.all(after <= before + 1e-6)
    assert np.mean(after < before) >= 0.95


def test_short_clear_sentences_get_the_right_label(trained_default: Any) -> None:
    texts, expected = zip(*CLEAR, strict=True)
    assert _labels(trained_default, list(texts)).tolist() == list(expected)

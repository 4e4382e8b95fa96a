"""Behaviour on short texts (in the spirit of CheckList, Ribeiro et al. 2020) of an nbsvm
trained by the product on synthetic reviews: minimum functionality on short clear
sentences of both polarities, with and without negation; invariance to names and to
neutral padding; the direction of the score when a clearly polar word is added.

The reviews are long (several sentences of filler around a few cue words, a name drawn
independently of the label), as IMDB's are; the checks score sentences of a few words.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sentiment.core.paths import HomeLayout
from sentiment.data.preprocess import preprocess
from sentiment.encoding.config import VectorizerConfig
from sentiment.modeling.bundle import load_bundle
from sentiment.modeling.config import TrainConfig
from sentiment.modeling.training import train

POSITIVE = ["great", "wonderful", "superb", "moving", "brilliant", "excellent"]
NEGATIVE = ["awful", "boring", "dull", "terrible", "dreadful", "poor"]
NAMES = ["Tom Hanks", "Meryl Streep", "Keanu Reeves", "Julia Roberts"]
FILLER = ["the", "film", "plot", "actor", "scene", "and", "a", "was", "it", "story", "movie"]
# Each test scores a model trained by the module's fixture.
pytestmark = pytest.mark.slow
VECTORIZER = VectorizerConfig(num_words=400, max_length=96, ngram_max=3, bag=True, negation_scope=3)


def _review(label: int, generator: np.random.Generator) -> str:
    own, other = (POSITIVE, NEGATIVE) if label else (NEGATIVE, POSITIVE)
    sentences = [" ".join(generator.choice(FILLER, 6)) for _ in range(5)]
    sentences[1] += f" {generator.choice(own)}"
    sentences[3] += f" {generator.choice(own)}"
    # A review also negates the other side's words ("not boring" in a positive one).
    sentences[2] += f" not {generator.choice(other)}"
    sentences[4] = f"{generator.choice(NAMES)} {sentences[4]}"
    return ". ".join(sentence.capitalize() for sentence in sentences) + "."


def _reviews(count: int, seed: int, prefix: str) -> pa.Table:
    generator = np.random.default_rng(seed)
    labels = np.arange(count) % 2
    return pa.table(
        {
            "review_id": [f"{prefix}_{index}" for index in range(count)],
            "text": [_review(int(label), generator) for label in labels],
            "label": pa.array(labels, pa.int8()),
            "rating": pa.array(np.where(labels == 1, 9, 2), pa.int8()),
        }
    )


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Any:
    home = tmp_path_factory.mktemp("home")
    layout = HomeLayout(home)
    layout.raw_dir.mkdir(parents=True)
    pq.write_table(_reviews(400, 0, "train"), layout.raw_split("train"))
    pq.write_table(_reviews(40, 1, "test"), layout.raw_split("test"))
    config = TrainConfig(model="nbsvm", vectorizer=VECTORIZER, epochs=3, learning_rate=0.05)
    preprocess(home, config.preprocess_config)
    return load_bundle(train(home, config).directory)


def _positive(bundle: Any, texts: list[str]) -> list[bool]:
    return (bundle.predict_texts(texts) >= bundle.threshold).tolist()


def test_short_clear_sentences_get_their_label(bundle: Any) -> None:
    positive = ["A great film.", "The plot was wonderful.", "Superb!", "A brilliant story."]
    negative = ["An awful movie.", "The story was boring.", "Dull.", "A terrible plot."]
    assert _positive(bundle, positive) == [True] * 4
    assert _positive(bundle, negative) == [False] * 4


def test_a_negated_polar_word_takes_the_other_side(bundle: Any) -> None:
    assert _positive(bundle, ["The film was not great.", "It was not wonderful."]) == [False] * 2
    assert _positive(bundle, ["The film was not boring.", "It was not dull."]) == [True] * 2


@pytest.mark.parametrize("sentence", ["The film was superb.", "The plot was dreadful."])
def test_names_do_not_change_the_label(bundle: Any, sentence: str) -> None:
    labels = _positive(bundle, [f"{name}: {sentence}" for name in NAMES] + [sentence])
    assert len(set(labels)) == 1


@pytest.mark.parametrize("sentence", ["A moving story.", "A poor film."])
def test_neutral_padding_does_not_change_the_label(bundle: Any, sentence: str) -> None:
    padded = [sentence + " The film and the plot and the actor.", "It was a movie. " + sentence]
    assert len(set(_positive(bundle, [sentence, *padded]))) == 1


def test_adding_a_polar_word_moves_the_score_its_way(bundle: Any) -> None:
    sentences = ["The film was great.", "The story was dull.", "It was a movie."]
    before = bundle.predict_texts(sentences)
    assert np.all(bundle.predict_texts([f"{text} Awful." for text in sentences]) < before)
    assert np.all(bundle.predict_texts([f"{text} Excellent." for text in sentences]) > before)

"""The short-text prior: known polar words weigh in texts of few tokens, and only there."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from sentiment.core.errors import ConfigError, DataError
from sentiment.modeling.config import TrainConfig
from sentiment.modeling.short_text_prior import (
    NEGATED_SHARE,
    PRIOR_FILE,
    ShortTextPrior,
    build_prior,
    lexicon_valences,
)
from tests.support.bundles import TrainingRun

pytestmark = pytest.mark.slow


def test_lexicon_words_get_their_valence_and_negated_ones_a_share_against() -> None:
    vocabulary = ["", "[UNK]", "good", "_good", "film", "awful", "_film"]
    valences = lexicon_valences()

    prior = build_prior(vocabulary, strength=0.3, num_words=10)

    # As many as the vectorizer's ids, though its vocabulary may hold fewer n-grams.
    assert prior.dtype == np.float32 and prior.shape == (10,)
    assert prior[2] == pytest.approx(0.3 * valences["good"] / 4)
    assert prior[3] == pytest.approx(NEGATED_SHARE * 0.3 * valences["good"] / 4)
    assert prior[5] == pytest.approx(0.3 * valences["awful"] / 4) and prior[5] < 0
    assert prior[[0, 1, 4, 6, 7, 8, 9]].tolist() == [0.0] * 7
    assert not build_prior(vocabulary, strength=0.0, num_words=10).any()


def test_the_gate_is_whole_for_short_texts_none_for_long_ones_and_linear_between() -> None:
    prior = ShortTextPrior(np.zeros(3, np.float32), full_tokens=10, no_tokens=30)

    shares = prior.gate(np.array([0, 10, 15, 20, 29, 30, 500]))

    np.testing.assert_allclose(shares, [1, 1, 0.75, 0.5, 0.05, 0, 0])


@pytest.mark.parametrize(
    "settings",
    [
        {"short_text_prior": -0.1},
        {"short_text_tokens": 30, "long_text_tokens": 30},
        {"short_text_tokens": -1},
    ],
)
def test_bad_prior_settings_are_refused(settings: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match="short_text"):
        TrainConfig(**settings)  # type: ignore[arg-type]


def _distinct_ids(bundle: object, text: str) -> list[int]:
    ids = bundle.vectorizer.encode([text])[0]  # type: ignore[attr-defined]
    return sorted(set(ids.tolist()) - {0})


def test_a_trained_bundle_adds_its_prior_to_short_texts_only(trained_bundle: TrainingRun) -> None:
    from sentiment.modeling.bundle import load_bundle

    metadata = json.loads((trained_bundle.result.directory / "metadata.json").read_text())
    entry = metadata["linear"]["short_text_prior"]
    config = trained_bundle.config
    assert entry["file"] == PRIOR_FILE and entry["strength"] == config.short_text_prior
    assert (entry["full_tokens"], entry["no_tokens"]) == (10, 30)
    bundle = load_bundle(trained_bundle.result.directory)
    scorer = bundle.text_scorer
    assert scorer is not None and scorer.prior is not None
    prior = scorer.prior

    short = "great film"  # 2 tokens: the whole prior
    middle = " ".join(["the film was great"] * 5)  # 20 tokens: half of it
    long = " ".join(["the film was great and wonderful"] * 6)  # 36 tokens: none
    # Non-ASCII text takes the scorer's Python cleaning first: the prior must follow it.
    cleaned = "Café crème: a GREAT film!"  # 6 tokens: the whole prior
    texts = [short, middle, long, cleaned]
    with_prior = scorer.score_texts(pa.array(texts, pa.string())).logits
    scorer.prior = None
    try:
        without = scorer.score_texts(pa.array(texts, pa.string())).logits
    finally:
        scorer.prior = prior

    expected = [
        share * float(np.sum(prior.weights[_distinct_ids(bundle, text)], dtype=np.float64))
        for share, text in zip((1.0, 0.5, 0.0, 1.0), texts, strict=True)
    ]
    assert expected[0] > 0 and expected[1] > 0 and expected[3] > 0  # "great" is in it
    np.testing.assert_allclose(with_prior - without, expected, rtol=1e-6, atol=1e-9)
    assert with_prior[2] == without[2]


def test_a_bundle_whose_prior_is_altered_is_refused(
    trained_bundle: TrainingRun, tmp_path: Path
) -> None:
    from sentiment.modeling.bundle import load_bundle

    copy = shutil.copytree(trained_bundle.result.directory, tmp_path / "bundle")
    path = copy / PRIOR_FILE
    prior = np.load(path)
    prior[2] += 1.0
    np.save(path, prior)

    with pytest.raises(DataError, match=PRIOR_FILE):
        load_bundle(copy)


def test_a_vocabulary_too_wide_for_compact_tables_adds_the_same_prior(
    trained_bundle: TrainingRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sentiment.modeling.bundle import load_bundle

    scorer = load_bundle(trained_bundle.result.directory).text_scorer
    assert scorer is not None and scorer.prior is not None
    texts = pa.array(["great film", " ".join(["the film was great"] * 5), "awful, dull"])
    compiled = scorer.score_texts(texts).logits

    # Vocabularies of millions of words weigh texts through token lists instead.
    monkeypatch.setattr(scorer.vectorizer, "_compact_tables", lambda: (0, None))
    through_lists = scorer.score_texts(texts).logits

    np.testing.assert_allclose(through_lists, compiled, rtol=1e-6)
    scorer.prior = None
    assert not np.allclose(scorer.score_texts(texts).logits, compiled)

"""The short-text prior: known polar words weigh in texts of few tokens, and only there."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from sentiment.core.errors import ConfigError, DataError
from sentiment.encoding.kernels.bags import prior_share
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
    # The compiled scorer's reasons take the same share, to the bit.
    counts = np.arange(40)
    compiled = [prior_share(count, 10, 30) for count in counts]
    np.testing.assert_array_equal(compiled, prior.gate(counts))


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


def _expected_reasons(
    bundle: object, scorer: object, text: str, share: float
) -> list[dict[str, object]]:
    """Every n-gram of ``text`` with its whole contribution (weight + share x prior, as
    float32), the positive ones largest first, then the negative ones most negative first."""
    ids = np.array(_distinct_ids(bundle, text))
    weights = scorer.weights[ids].astype(np.float64)  # type: ignore[attr-defined]
    prior = scorer.prior.weights[ids].astype(np.float64)  # type: ignore[attr-defined]
    contributions = (weights + share * prior).astype(np.float32)
    vocabulary = scorer.vectorizer.vocabulary  # type: ignore[attr-defined]
    positive = [index for index in np.argsort(-contributions) if contributions[index] > 0]
    negative = [index for index in np.argsort(contributions) if contributions[index] < 0]
    return [
        {"ngram": vocabulary[ids[index]], "contribution": float(contributions[index])}
        for index in positive + negative
    ]


def test_reasons_of_short_texts_hold_the_prior_and_add_up_to_the_logit(
    trained_bundle: TrainingRun,
) -> None:
    from sentiment.modeling.bundle import load_bundle

    bundle = load_bundle(trained_bundle.result.directory)
    scorer = bundle.text_scorer
    assert scorer is not None and scorer.prior is not None
    short = "great film, awful plot"  # 4 tokens: the whole prior
    middle = " ".join(["the film was great"] * 5)  # 20 tokens: half of it
    cleaned = "Café crème: a GREAT film, a dull plot!"  # Python cleaning first; whole prior
    texts = [short, middle, cleaned]
    # Enough reasons for every n-gram of these texts: they must add up to the logit.
    scores = scorer.score_texts(pa.array(texts, pa.string()), explain=40)
    assert scores.reasons is not None

    max_length = scorer.vectorizer.config.max_length
    for row, (text, share) in enumerate(zip(texts, (1.0, 0.5, 1.0), strict=True)):
        expected = _expected_reasons(bundle, scorer, text, share)
        reasons = scores.reasons[row].as_py()
        assert [reason["ngram"] for reason in reasons] == [item["ngram"] for item in expected]
        np.testing.assert_allclose(
            [reason["contribution"] for reason in reasons],
            [item["contribution"] for item in expected],
            rtol=1e-6,
        )
        padding = float(scorer.weights[0]) * (max_length - len(_distinct_ids(bundle, text)))
        total = scorer.bias + padding + sum(reason["contribution"] for reason in reasons)
        assert total == pytest.approx(scores.logits[row], abs=1e-5)
    # The prior changed them: "great" weighs more than its weight alone.
    great = {reason["ngram"]: reason["contribution"] for reason in scores.reasons[0].as_py()}
    assert great["great"] > float(scorer.weights[scorer.vectorizer.vocabulary.index("great")])


def test_reasons_of_long_texts_are_the_weights_alone(trained_bundle: TrainingRun) -> None:
    from sentiment.modeling.bundle import load_bundle

    scorer = load_bundle(trained_bundle.result.directory).text_scorer
    assert scorer is not None and scorer.prior is not None
    texts = pa.array([" ".join(["the film was great and awful"] * 6)])  # 36 tokens: no prior
    prior = scorer.prior
    with_prior = scorer.score_texts(texts, explain=3)
    scorer.prior = None
    without = scorer.score_texts(texts, explain=3)
    scorer.prior = prior

    assert with_prior.reasons is not None and with_prior.reasons.to_pylist()[0]
    assert with_prior.reasons.to_pylist() == without.reasons.to_pylist()  # type: ignore[union-attr]
    assert with_prior.logits[0] == without.logits[0]


def test_reasons_through_token_lists_equal_the_compiled_ones(
    trained_bundle: TrainingRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sentiment.modeling.bundle import load_bundle

    scorer = load_bundle(trained_bundle.result.directory).text_scorer
    assert scorer is not None and scorer.prior is not None
    texts = pa.array(
        [
            "great film, awful plot",
            " ".join(["the film was great"] * 5),
            "Café crème: a GREAT film, a dull plot!",
            " ".join(["the film was great and awful"] * 6),
        ]
    )
    compiled = scorer.score_texts(texts, explain=2)

    monkeypatch.setattr(scorer.vectorizer, "_compact_tables", lambda: (0, None))
    through_lists = scorer.score_texts(texts, explain=2)

    assert compiled.reasons is not None and through_lists.reasons is not None
    assert through_lists.reasons.to_pylist() == compiled.reasons.to_pylist()
    np.testing.assert_allclose(through_lists.logits, compiled.logits, rtol=1e-6)

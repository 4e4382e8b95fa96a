"""The default nbsvm bundle on the real IMDB test split: compiled scorer against Keras,
and its calibration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest


@pytest.fixture(scope="module")
def trained_nbsvm(imdb_home: Path) -> Any:
    from sentiment.data.preprocess import preprocess
    from sentiment.modeling.config import TrainConfig
    from sentiment.modeling.training import train

    config = TrainConfig(model="nbsvm")
    preprocess(home=imdb_home, config=config.preprocess_config)
    return train(imdb_home, config)


def test_compiled_scores_equal_keras_on_the_test_split(imdb_home: Path, trained_nbsvm: Any) -> None:
    import pyarrow as pa

    from sentiment.modeling.bundle import load_bundle
    from sentiment.release.test_split import load_test_split

    split = load_test_split(imdb_home)
    compiled = load_bundle(trained_nbsvm.directory)
    scorer = compiled.text_scorer
    assert scorer is not None and compiled._model is None
    reference = load_bundle(trained_nbsvm.directory, compiled=False)
    assert reference.text_scorer is None
    # The default carries a short-text prior, which only the compiled scorer adds: the
    # model itself is compared without it, and the prior must leave long reviews alone.
    prior = scorer.prior
    assert prior is not None
    with_prior = compiled.predict_texts(split.texts, calibrated=False)
    scorer.prior = None
    raw = compiled.predict_texts(split.texts, calibrated=False)
    expected = reference.predict_texts(split.texts, calibrated=False)
    assert raw.shape == (25_000,) and np.isfinite(raw).all()
    np.testing.assert_allclose(raw, expected, rtol=0, atol=1e-6)
    assert ((raw >= 0.5) == (expected >= 0.5)).all()
    calibrated = compiled.predict_texts(split.texts)
    threshold = compiled.threshold
    assert ((calibrated >= threshold) == (reference.calibration.apply(expected) >= threshold)).all()
    tokens = scorer.score_texts(pa.array(split.texts, pa.string())).token_counts
    long = tokens >= prior.no_tokens
    assert long.sum() > 24_000
    np.testing.assert_array_equal(with_prior[long], raw[long])
    assert (with_prior[~long] != raw[~long]).any()


def test_calibrated_scores_are_calibrated_on_the_test_split(
    imdb_home: Path, trained_nbsvm: Any
) -> None:
    from sentiment.modeling.bundle import load_bundle
    from sentiment.release.metrics import compute_metrics
    from sentiment.release.test_split import load_test_split

    metadata = trained_nbsvm.metadata
    # Chosen on validation (its reviews and their sentences), never on test.
    assert metadata["calibration"]["fitted_on"].startswith("validation reviews")
    assert metadata["decision_threshold"]["chosen_on"].startswith("validation reviews")
    split = load_test_split(imdb_home)
    bundle = load_bundle(trained_nbsvm.directory)
    metrics = compute_metrics(
        split.labels, bundle.predict_texts(split.texts), bundle.threshold, bootstrap_resamples=100
    )
    assert metrics["ece"] <= 0.02
    assert metrics["accuracy"] >= 0.92

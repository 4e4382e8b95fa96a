"""Bundles for tests and benchmarks: a tiny champion, a hand-set nbsvm, and one bundle
trained by the product once per session."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sentiment.core.paths import HomeLayout
from sentiment.encoding.config import VectorizerConfig
from sentiment.modeling.config import TrainConfig
from tests.support.file_opens import inotify_available, watch_opens
from tests.support.reviews import cue_reviews

if TYPE_CHECKING:
    import keras

    from sentiment.encoding.vectorizer import Vectorizer
    from sentiment.modeling.training_outputs import TrainResult

# The library modules that load the compiled kernels or TensorFlow are imported where
# used, so that collecting the tests stays quick.

# The scoring flows' texts: the champion's vocabulary is fitted on them.
SCORING_TEXTS = [
    "a great film, great acting",
    "an awful film, awful plot",
    "fine cast",
    "boring",
] * 3
# Words of the hand-set nbsvm bundles' texts.
NBSVM_WORDS = ["good", "great", "bad", "awful", "film", "plot", "not", "very", "it's", "!"]


def promoted_home(home: Path, texts: list[str], max_length: int = 8) -> Path:
    """Save a small mlp fitted on ``texts`` under ``home`` and promote it to champion.

    Returns:
        ``home``.
    """
    from sentiment.encoding.config import VectorizerConfig
    from sentiment.encoding.vocabulary import fit_vectorizer
    from sentiment.modeling.bundle import new_version, save_bundle
    from sentiment.modeling.zoo import build_model
    from tests.support.registry import promote_bundle

    vectorizer = fit_vectorizer(texts, VectorizerConfig(num_words=30, max_length=max_length))
    version = new_version("mlp")
    save_bundle(
        home / "models" / version,
        build_model("mlp", vectorizer.config),
        vectorizer,
        {"model": {"name": "mlp"}},
    )
    promote_bundle(home, version, texts)
    return home


@pytest.fixture(scope="module")
def champion_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with one small bundle fitted on :data:`SCORING_TEXTS`, promoted to champion,
    and a raw train split (the drift reference). Shared by a module's tests: copy before
    changing it."""
    home = promoted_home(tmp_path_factory.mktemp("home"), SCORING_TEXTS)
    raw = home / "raw" / "imdb"
    raw.mkdir(parents=True)
    pq.write_table(
        pa.table({"review_id": ["t0", "t1"], "text": SCORING_TEXTS[:2]}), raw / "train.parquet"
    )
    return home


def nbsvm_texts(count: int, seed: int) -> list[str]:
    """``count`` texts of 1 to 39 words drawn from :data:`NBSVM_WORDS`."""
    generator = np.random.default_rng(seed)
    return [
        " ".join(generator.choice(NBSVM_WORDS, size=generator.integers(1, 40)).tolist())
        for _ in range(count)
    ]


def save_nbsvm(directory: Path, truncating: str, with_weights: bool) -> tuple[Path, object]:
    """Save an nbsvm bundle with random (seeded) ratios and weights on short bags.

    Args:
        directory: The bundle's directory.
        truncating: The vectorizer's ``truncating`` setting.
        with_weights: Whether the bundle carries the folded linear weights file.

    Returns:
        The bundle's directory and its vectorizer.
    """
    from sentiment.encoding.config import VectorizerConfig
    from sentiment.encoding.vocabulary import fit_vectorizer
    from sentiment.modeling.bundle import save_bundle
    from sentiment.modeling.linear import LINEAR_WEIGHTS_FILE, folded_weights, weights_file
    from sentiment.modeling.zoo import NB_WEIGHTS_LAYER, build_model, set_nb_ratios

    texts = nbsvm_texts(200, 1)
    # A short row, so many bags are cut: the cut side must match too.
    config = VectorizerConfig(
        num_words=300, max_length=16, ngram_max=3, bag=True, truncating=truncating
    )
    vectorizer = fit_vectorizer(texts, config)
    model = build_model("nbsvm", config, seed=3)
    generator = np.random.default_rng(5)
    ratios = generator.normal(scale=2.0, size=config.num_words).astype(np.float32)
    ratios[:2] = 0.0
    set_nb_ratios(model, ratios)
    layer = model.get_layer(NB_WEIGHTS_LAYER)
    layer.set_weights([generator.normal(size=(config.num_words, 1)).astype(np.float32)])
    metadata: dict[str, object] = {"model": {"name": "nbsvm"}}
    extra = {}
    if with_weights:
        content, entry = weights_file(*folded_weights(model))
        extra[LINEAR_WEIGHTS_FILE] = content
        metadata["linear"] = entry
    return save_bundle(directory, model, vectorizer, metadata, extra_files=extra), vectorizer


TINY_BAG = VectorizerConfig(num_words=200, max_length=48, ngram_max=3, bag=True)


def tiny_train_config(folds: int = 1) -> TrainConfig:
    """One epoch of nbsvm on :data:`TINY_BAG` bags of a cue-word home."""
    return TrainConfig(
        model="nbsvm", epochs=1, batch_size=16, learning_rate=0.05, folds=folds, vectorizer=TINY_BAG
    )


def cue_home(home: Path) -> Path:
    """Write a tiny ingested home of cue-word reviews (240 train, 60 test) and return it."""
    layout = HomeLayout(home)
    layout.raw_dir.mkdir(parents=True)
    pq.write_table(cue_reviews(240, 0, "train"), layout.raw_split("train"))
    pq.write_table(cue_reviews(60, 1, "test"), layout.raw_split("test"))
    return home


@dataclass(frozen=True)
class TrainingRun:
    """A training run on a home, and the files in its raw and processed folders opened
    while training (and while only finding the processed data, for comparison).

    The counters are None where file opens cannot be watched (no Linux inotify).
    """

    home: Path
    config: TrainConfig
    result: TrainResult
    processed: Path
    opened: Counter[Path] | None
    opened_to_find_processed: Counter[Path] | None


def watched_training(home: Path, config: TrainConfig) -> TrainingRun:
    """Train ``config`` on the preprocessed ``home``, watching which files it opens."""
    from sentiment.data.preprocess import find_processed
    from sentiment.modeling.training import train

    processed = find_processed(home, config.preprocess_config).directory
    if not inotify_available():
        return TrainingRun(home, config, train(home, config), processed, None, None)
    watched = [HomeLayout(home).raw_dir, processed]
    with watch_opens(watched) as opened_to_find_processed:
        find_processed(home, config.preprocess_config)
    with watch_opens(watched) as opened:
        result = train(home, config)
    return TrainingRun(home, config, result, processed, opened, opened_to_find_processed)


@pytest.fixture(scope="session")
def trained_bundle(tmp_path_factory: pytest.TempPathFactory) -> TrainingRun:
    """One nbsvm trained by the product (:func:`tiny_train_config`) on a tiny cue-word home,
    once per session, its file opens watched. Read-only: copy the bundle before changing it."""
    from sentiment.data.preprocess import preprocess

    home = cue_home(tmp_path_factory.mktemp("trained-home"))
    config = tiny_train_config()
    preprocess(home, config.preprocess_config)
    return watched_training(home, config)


# A small cnn bundle saved by save_bundle, and one with a training profile, a curve and
# a threshold: the bundle module tests' fixtures (tests/unit/modeling).
CNN_TEXTS = [
    "a great film, great acting",
    "an awful film, awful plot",
    "great plot and a fine cast",
    "boring and awful",
] * 5


@pytest.fixture(scope="module")
def cnn_vectorizer() -> Vectorizer:
    from sentiment.encoding.vocabulary import fit_vectorizer

    return fit_vectorizer(CNN_TEXTS, VectorizerConfig(num_words=30, max_length=8))


@pytest.fixture(scope="module")
def cnn_model(cnn_vectorizer: Vectorizer) -> keras.Model:
    from sentiment.modeling.zoo import build_model

    model = build_model("cnn", cnn_vectorizer.config)
    labels = np.array([1.0, 0.0, 1.0, 0.0] * 5, dtype=np.float32)
    model.fit(cnn_vectorizer.encode(CNN_TEXTS), labels, epochs=1, batch_size=4, verbose=0)
    return model


@pytest.fixture(scope="module")
def cnn_bundle(
    tmp_path_factory: pytest.TempPathFactory, cnn_vectorizer: Vectorizer, cnn_model: keras.Model
) -> Path:
    from sentiment.modeling.bundle import new_version, save_bundle

    directory = tmp_path_factory.mktemp("models") / new_version("cnn")
    return save_bundle(directory, cnn_model, cnn_vectorizer, {"model": {"name": "cnn"}})


@pytest.fixture(scope="module")
def profiled_cnn_bundle(
    tmp_path_factory: pytest.TempPathFactory, cnn_vectorizer: Vectorizer, cnn_model: keras.Model
) -> Path:
    """A bundle saved with the profile of its training texts, a curve and a threshold."""
    from sentiment.modeling.bundle import new_version, save_bundle
    from sentiment.modeling.profile import profile_texts

    directory = tmp_path_factory.mktemp("profiled") / new_version("cnn")
    metadata = {
        "model": {"name": "cnn"},
        "decision_threshold": {"value": 0.42},
        "calibration": {"method": "platt", "slope": 0.5, "intercept": -0.25},
    }
    profile = profile_texts([pa.array(CNN_TEXTS)], cnn_vectorizer)
    extra = {"training_curve.png": b"\x89PNG not really"}
    return save_bundle(directory, cnn_model, cnn_vectorizer, metadata, extra, profile=profile)


def copy_bundle(bundle: Path, destination: Path) -> Path:
    """Copy a bundle's files into ``destination`` (created) and return it."""
    destination.mkdir()
    for path in bundle.iterdir():
        (destination / path.name).write_bytes(path.read_bytes())
    return destination

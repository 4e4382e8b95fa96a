"""The model zoo: architectures, defaults, naive-Bayes ratios."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest

from sentiment.core.errors import ConfigError
from sentiment.encoding.config import VectorizerConfig
from sentiment.modeling.config import DEFAULT_MODEL, MODEL_NAMES, get_model_spec
from sentiment.modeling.zoo import (
    NB_RATIOS_LAYER,
    build_model,
    naive_bayes_ratios,
    parameter_count,
    set_nb_ratios,
)

TINY = VectorizerConfig(num_words=50, max_length=12)
TINY_BAG = VectorizerConfig(num_words=50, max_length=12, ngram_max=3, bag=True)


def _tiny_config(name: str) -> VectorizerConfig:
    return TINY_BAG if get_model_spec(name).bag_input else TINY


def test_zoo_lists_the_tutorial_models_and_a_default() -> None:
    assert {"mlp", "cnn"} <= set(MODEL_NAMES)
    assert DEFAULT_MODEL in MODEL_NAMES


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_maps_token_ids_to_one_probability(name: str) -> None:
    config = _tiny_config(name)
    model = build_model(name, config)
    assert model.input_shape == (None, config.max_length)
    assert model.output_shape == (None, 1)
    ids = np.random.default_rng(0).integers(0, config.num_words, (5, config.max_length))
    output = model.predict(ids.astype(np.int32), verbose=0)
    assert output.shape == (5, 1)
    assert np.all((output >= 0) & (output <= 1))


def test_mlp_is_the_tutorials_architecture() -> None:
    model = build_model("mlp", VectorizerConfig(num_words=5000, max_length=500))
    layers = [type(layer).__name__ for layer in model.layers]
    assert layers == ["InputLayer", "Embedding", "Flatten", "Dense", "Dense"]
    assert model.get_layer("embedding").output.shape == (None, 500, 32)
    assert model.get_layer("hidden").units == 250
    # 5000*32 + (16000*250 + 250) + (250 + 1)
    assert parameter_count(model)["total"] == 160_000 + 4_000_250 + 251


def test_cnn_is_the_tutorials_architecture() -> None:
    model = build_model("cnn", VectorizerConfig(num_words=5000, max_length=500))
    layers = [type(layer).__name__ for layer in model.layers]
    assert layers == [
        "InputLayer",
        "Embedding",
        "Conv1D",
        "MaxPooling1D",
        "Flatten",
        "Dense",
        "Dense",
    ]
    convolution = model.get_layer("convolution")
    assert (convolution.filters, convolution.kernel_size, convolution.padding) == (32, (3,), "same")
    assert model.get_layer("pooling").output.shape == (None, 250, 32)
    # 5000*32 + (3*32*32 + 32) + (8000*250 + 250) + 251
    assert parameter_count(model)["total"] == 160_000 + 3_104 + 2_000_250 + 251


def test_tutorial_defaults() -> None:
    for name in ("mlp", "cnn"):
        spec = get_model_spec(name)
        assert (spec.epochs, spec.batch_size) == (2, 128)
        assert (spec.vectorizer.num_words, spec.vectorizer.max_length) == (5000, 500)


def test_unknown_model_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as raised:
        build_model("transformer")
    for name in MODEL_NAMES:
        assert name in str(raised.value)


def test_nbsvm_refuses_sequence_input() -> None:
    with pytest.raises(ConfigError, match="bag"):
        build_model("nbsvm", dataclasses.replace(TINY_BAG, bag=False))


def test_naive_bayes_ratios_sign_and_reserved_ids() -> None:
    positive = np.array([9, 9, 10, 0, 5])
    negative = np.array([9, 9, 0, 10, 5])
    ratios = naive_bayes_ratios(positive, negative, alpha=1.0)
    assert ratios.dtype == np.float32
    assert ratios[0] == 0 and ratios[1] == 0  # padding and out-of-vocabulary
    assert ratios[2] > 0 > ratios[3]
    assert ratios[4] == pytest.approx(0.0, abs=1e-6)
    assert ratios[2] == pytest.approx(-ratios[3])


def test_nbsvm_scores_with_its_ratios() -> None:
    model = build_model("nbsvm", TINY_BAG)
    ratios = np.zeros(TINY_BAG.num_words, dtype=np.float32)
    ratios[5], ratios[6] = 4.0, -4.0
    set_nb_ratios(model, ratios)
    assert not model.get_layer(NB_RATIOS_LAYER).trainable
    # Equal learned weights, so the ratios alone decide (random ones could flip signs).
    model.get_layer("nb_weights").set_weights([np.ones((TINY_BAG.num_words, 1), np.float32)])
    positive = np.zeros((1, TINY_BAG.max_length), np.int32)
    positive[0, -1] = 5
    negative = positive.copy()
    negative[0, -1] = 6
    assert model.predict(positive, verbose=0)[0, 0] > model.predict(negative, verbose=0)[0, 0]


def test_nb_ratio_size_must_match_the_vocabulary() -> None:
    model = build_model("nbsvm", TINY_BAG)
    with pytest.raises(ConfigError, match="vocabulary"):
        set_nb_ratios(model, np.zeros(TINY_BAG.num_words + 1, dtype=np.float32))
    with pytest.raises(ConfigError, match=NB_RATIOS_LAYER):
        set_nb_ratios(build_model("mlp", TINY), np.zeros(TINY.num_words, dtype=np.float32))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_a_seed_gives_the_same_weights_whatever_else_draws_from_random(name: str) -> None:
    def weights(seed: int, global_seed: int) -> list[np.ndarray]:
        # Another thread of the process may draw from the global generator meanwhile.
        random.seed(global_seed)
        random.random()
        return build_model(name, _tiny_config(name), seed=seed).get_weights()

    first, second, other = weights(7, 1), weights(7, 2), weights(8, 1)
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    random_layers = [a for a in first if np.any(a)]  # biases and nbsvm's ratios start at 0
    assert random_layers and not any(
        np.array_equal(a, b) for a, b in zip(first, other, strict=True) if np.any(a)
    )

"""The model zoo: every architecture the pipeline can train, built by name.

Each model maps int32 token ids ``(n, max_length)`` (as the vectorizer encodes them) to the
probability that a review is positive, ``(n, 1)``. Only built-in Keras layers are used, so
a saved bundle loads with ``safe_mode`` and never needs custom code.

- ``mlp``: the tutorial's multilayer perceptron (Embedding -> Flatten -> Dense).
- ``cnn``: the tutorial's one-dimensional convolutional network.
- ``nbsvm``: a neural NBSVM (Wang & Manning 2012, in Arun Maiya's Keras form): a logistic
  regression over the bag of distinct uni-, bi- and trigrams of a review whose inputs are
  scaled by naive-Bayes log-count ratios computed from the training portion.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from sentiment.core.errors import ConfigError
from sentiment.encoding.config import VectorizerConfig
from sentiment.encoding.vectorizer import Vectorizer
from sentiment.modeling.config import get_model_spec

if TYPE_CHECKING:
    import keras

logger = logging.getLogger(__name__)

# The frozen layer that holds the naive-Bayes log-count ratios of an NBSVM model.
NB_RATIOS_LAYER = "nb_ratios"
# The learned per-id weights of an NBSVM model.
NB_WEIGHTS_LAYER = "nb_weights"
# Size of the learned embedding in the tutorial's models.
TUTORIAL_EMBEDDING_SIZE = 32


def _initializer(name: str, seeds: random.Random | None) -> str | keras.Initializer:
    """The Keras initializer ``name``, seeded from ``seeds`` as Keras would seed it.

    An unseeded Keras initializer draws its seed from Python's global ``random`` when its
    layer is made, and another thread of the process (Prefect's, Dask's) may draw from
    that generator at the same moment: a training seed then did not always give the same
    weights. Drawn in layer order from a generator of the model's own, the seeds are the
    ones Keras draws right after ``keras.utils.set_random_seed`` in a quiet process, so
    the weights are the same as before, whatever else runs.
    """
    if seeds is None:
        return name
    import keras

    seed = seeds.randint(1, 10**9)  # keras.src.random.seed_generator.make_default_seed
    if name == "uniform":  # the Embedding layer's default
        return keras.initializers.RandomUniform(-0.05, 0.05, seed=seed)
    if name == "glorot_uniform":  # the Dense and Conv1D layers' default
        return keras.initializers.GlorotUniform(seed=seed)
    if name == "glorot_normal":
        return keras.initializers.GlorotNormal(seed=seed)
    raise ValueError(f"No seeded form of initializer '{name}'.")


def _token_input(vectorizer_config: VectorizerConfig) -> keras.KerasTensor:
    import keras

    return keras.Input(shape=(vectorizer_config.max_length,), dtype="int32", name="token_ids")


def _embedding(vectorizer_config: VectorizerConfig, seeds: random.Random | None) -> keras.Layer:
    from keras import layers

    return layers.Embedding(
        vectorizer_config.num_words,
        TUTORIAL_EMBEDDING_SIZE,
        embeddings_initializer=_initializer("uniform", seeds),
        name="embedding",
    )


def _dense(units: int, activation: str, name: str, seeds: random.Random | None) -> keras.Layer:
    from keras import layers

    return layers.Dense(
        units,
        activation=activation,
        kernel_initializer=_initializer("glorot_uniform", seeds),
        name=name,
    )


def build_mlp(
    vectorizer_config: VectorizerConfig, seeds: random.Random | None = None
) -> keras.Model:
    """The tutorial's MLP: Embedding(num_words, 32) -> Flatten -> Dense(250) -> Dense(1)."""
    import keras
    from keras import layers

    inputs = _token_input(vectorizer_config)
    x = _embedding(vectorizer_config, seeds)(inputs)
    x = layers.Flatten(name="flatten")(x)
    x = _dense(250, "relu", "hidden", seeds)(x)
    outputs = _dense(1, "sigmoid", "probability", seeds)(x)
    return keras.Model(inputs, outputs, name="mlp")


def build_cnn(
    vectorizer_config: VectorizerConfig, seeds: random.Random | None = None
) -> keras.Model:
    """The tutorial's CNN: Embedding -> Conv1D(32, 3) -> MaxPooling1D(2) -> Flatten -> Dense."""
    import keras
    from keras import layers

    inputs = _token_input(vectorizer_config)
    x = _embedding(vectorizer_config, seeds)(inputs)
    x = layers.Conv1D(
        32,
        3,
        padding="same",
        activation="relu",
        kernel_initializer=_initializer("glorot_uniform", seeds),
        name="convolution",
    )(x)
    x = layers.MaxPooling1D(2, name="pooling")(x)
    x = layers.Flatten(name="flatten")(x)
    x = _dense(250, "relu", "hidden", seeds)(x)
    outputs = _dense(1, "sigmoid", "probability", seeds)(x)
    return keras.Model(inputs, outputs, name="cnn")


def build_nbsvm(
    vectorizer_config: VectorizerConfig, seeds: random.Random | None = None
) -> keras.Model:
    """A neural NBSVM: sigmoid(sum over the review's n-grams of r_i * w_i).

    ``r`` (frozen) holds naive-Bayes log-count ratios that training fills in with
    :func:`set_nb_ratios`; ``w`` is learned. Padding (id 0) has r = 0, so it
    contributes nothing whatever its length.
    """
    import keras
    from keras import layers

    inputs = _token_input(vectorizer_config)
    ratios = layers.Embedding(
        vectorizer_config.num_words,
        1,
        embeddings_initializer="zeros",
        trainable=False,
        name=NB_RATIOS_LAYER,
    )(inputs)
    # Near-zero initial weights (as in Maiya's model): training starts from plain NB
    # scores scaled down, and without a free scale or bias it overfits far more slowly.
    weights = layers.Embedding(
        vectorizer_config.num_words,
        1,
        embeddings_initializer=_initializer("glorot_normal", seeds),
        name=NB_WEIGHTS_LAYER,
    )(inputs)
    # Sum over positions of r_i * w_i: one dot product per review.
    x = layers.Dot(axes=1, name="score")([ratios, weights])
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Activation("sigmoid", name="probability")(x)
    return keras.Model(inputs, outputs, name="nbsvm")


BUILDERS: dict[str, Callable[[VectorizerConfig, random.Random | None], keras.Model]] = {
    "mlp": build_mlp,
    "cnn": build_cnn,
    "nbsvm": build_nbsvm,
}


def build_model(
    name: str,
    vectorizer_config: VectorizerConfig | None = None,
    learning_rate: float | None = None,
    seed: int | None = None,
) -> keras.Model:
    """Build and compile a zoo model (Adam, binary cross-entropy, accuracy).

    Args:
        name: The model's name, one of :data:`sentiment.modeling.config.MODEL_NAMES`.
        vectorizer_config: The preprocessing the model reads (default: the model's own).
        learning_rate: Adam's learning rate (default: the model's own).
        seed: Seeds the initial weights: the same seed gives the same weights, whatever
            other threads of the process do meanwhile. None leaves them to Keras.

    Returns:
        The compiled model. For ``nbsvm`` the ratio layer is still zero: call
        :func:`set_nb_ratios` before training.

    Raises:
        ConfigError: For an unknown name or a vectorizer configuration the model cannot use.
    """
    import keras

    spec = get_model_spec(name)
    vectorizer_config = vectorizer_config or spec.vectorizer
    if spec.bag_input and not vectorizer_config.bag:
        raise ConfigError(
            f"Model '{name}' needs bag-of-n-gram input (setting 'bag'); preprocess with "
            "bag=True, e.g. 'sentiment preprocess --ngram-max 3 --bag'."
        )
    rate = spec.learning_rate if learning_rate is None else learning_rate
    if not rate > 0:
        raise ConfigError(f"Setting 'learning_rate' must be > 0, not {rate}.")
    model = BUILDERS[name](vectorizer_config, None if seed is None else random.Random(seed))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=rate),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


def naive_bayes_ratios(
    positive_counts: np.ndarray, negative_counts: np.ndarray, alpha: float = 1.0
) -> np.ndarray:
    """Naive-Bayes log-count ratios r = log((p / |p|) / (q / |q|)) per token id.

    Args:
        positive_counts: Per id, how many positive training reviews contain it.
        negative_counts: The same for negative reviews.
        alpha: Additive smoothing.

    Returns:
        float32 ratios, 0 for the padding and out-of-vocabulary ids, which carry no
        evidence either way.
    """
    positive = positive_counts.astype(np.float64) + alpha
    negative = negative_counts.astype(np.float64) + alpha
    positive[: Vectorizer.OOV_ID + 1] = alpha
    negative[: Vectorizer.OOV_ID + 1] = alpha
    ratios = np.log((positive / positive.sum()) / (negative / negative.sum()))
    ratios[: Vectorizer.OOV_ID + 1] = 0.0
    return ratios.astype(np.float32)


def set_nb_ratios(model: keras.Model, ratios: np.ndarray) -> None:
    """Write naive-Bayes ratios into an NBSVM model's frozen ratio layer.

    Raises:
        ConfigError: If the model has no ratio layer or the sizes differ.
    """
    try:
        layer = model.get_layer(NB_RATIOS_LAYER)
    except ValueError:
        raise ConfigError(
            f"Model '{model.name}' has no '{NB_RATIOS_LAYER}' layer to hold naive-Bayes ratios."
        ) from None
    expected = layer.get_weights()[0].shape
    if ratios.shape != (expected[0],):
        raise ConfigError(
            f"Naive-Bayes ratios have {ratios.shape[0]} entries but the model's vocabulary "
            f"holds {expected[0]}; compute them with the model's vectorizer."
        )
    layer.set_weights([ratios.reshape(expected).astype(np.float32)])


def set_linear_weights(model: keras.Model, weights: np.ndarray) -> None:
    """Make an NBSVM model score ``sum_i weights_i`` over a review's ids.

    The ratio layer takes the per-id weights and the learned layer ones, so the model
    (and the ``linear_weights.npy`` folded from it) computes exactly ``weights``.
    """
    set_nb_ratios(model, weights)
    layer = model.get_layer(NB_WEIGHTS_LAYER)
    layer.set_weights([np.ones(layer.get_weights()[0].shape, np.float32)])


def parameter_count(model: keras.Model) -> dict[str, int]:
    """Return total, trainable and frozen parameter counts."""
    trainable = int(sum(np.prod(weight.shape) for weight in model.trainable_weights))
    frozen = int(sum(np.prod(weight.shape) for weight in model.non_trainable_weights))
    return {"total": trainable + frozen, "trainable": trainable, "frozen": frozen}

"""Model bundles: a trained Keras model, the vectorizer it was trained with, and metadata.

A bundle is one directory under ``models/<version>/``::

    model.keras      the Keras model in the native format (built-in layers only)
    vectorizer.json  the vectorizer that turns raw reviews into the model's token ids
    metadata.json    model name and settings, data fingerprints, history, metrics, versions,
                     calibration and decision threshold (both chosen on validation)
    linear_weights.npy  linear bundles (nbsvm) only: one float32 weight per id, so they
                     score without Keras (fingerprint in metadata "linear")
    short_text_prior.npy  linear bundles trained with a short-text prior: one float32
                     prior per id, added to texts of few tokens (metadata
                     "linear.short_text_prior"; :mod:`sentiment.modeling.short_text_prior`)
    training_profile.json  the profile of the reviews the model was trained on, seen
                     through its vectorizer: the reference drift is judged against
    checksums.json   the sha256 of every file above (and any other file saved with the
                     bundle), recorded when the bundle is saved and checked when it loads

The directory is written through :func:`sentiment.core.atomic.atomic_directory`, so a bundle
under its final name is always complete. Loading uses Keras' ``safe_mode``: a model file
can never run arbitrary code, and checks every file against ``checksums.json``, so a file
changed after training is refused (:mod:`sentiment.modeling.bundle_files`). A bundle named
by URL is copied into a cache only this user can write and its ``checksums.json`` must
equal the object store's (:mod:`sentiment.modeling.bundle_cache`).

A scoring run reads a bundle once into a
:class:`~sentiment.modeling.resolved_bundle.ResolvedBundle`
(:mod:`sentiment.modeling.resolved_bundle`); the model itself loads once per process
(:func:`load_bundle`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from sentiment.core.atomic import atomic_directory, file_sha256, write_json
from sentiment.core.errors import DataError
from sentiment.core.quiet import import_tensorflow_quietly
from sentiment.encoding.config import SETTING_RANGES, out_of_range
from sentiment.encoding.vectorizer import Vectorizer
from sentiment.encoding.vectorizer_file import VECTORIZER_FILE, read_vectorizer_file
from sentiment.modeling.bundle_files import (
    CHECKSUMS_FILE,
    METADATA_FILE,
    MODEL_FILE,
    metadata_threshold,
    read_calibration,
    read_metadata,
    require_bundle_files,
    verify_bundle,
)
from sentiment.modeling.calibration import Calibration
from sentiment.modeling.linear import LinearScorer, folded_weights, read_weights
from sentiment.modeling.profile import PROFILE_FILE, PROFILE_FORMAT, TextProfile
from sentiment.modeling.short_text_prior import read_prior

if TYPE_CHECKING:
    import keras

logger = logging.getLogger(__name__)

# Reviews per compiled-scorer call in predict_texts.
_TEXT_BATCH = 8192


def new_version(model_name: str, now: datetime | None = None) -> str:
    """Return a bundle version that sorts by time and names the model.

    Args:
        model_name: The model's name in the zoo, e.g. ``cnn``.
        now: The creation time (default: the current UTC time); naive times are taken
            as UTC.

    Returns:
        A version such as ``20261129-191500-cnn-3f2a``: UTC time to the second, the model
        name, and four random hex digits so two runs in the same second never collide.
    """
    moment = now or datetime.now(UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{moment:%Y%m%d-%H%M%S}-{model_name}-{secrets.token_hex(2)}"


class ModelBundle:
    """A loaded bundle that scores raw reviews or pre-tokenized ids on its own.

    A bundle that is a linear function of its bag (``nbsvm``) scores through its
    compiled :attr:`text_scorer` and loads Keras only when :attr:`model` is asked for
    (the reference path); every other bundle scores through Keras. Scores are
    calibrated with the bundle's calibration (identity for bundles without one).

    Attributes:
        directory: The bundle's directory.
        version: The bundle's version (its directory name unless the metadata says so).
        vectorizer: The vectorizer the model was trained with.
        metadata: The parsed ``metadata.json``.
        text_scorer: The compiled scorer of a linear bundle, else None.
        calibration: Maps the model's scores to calibrated probabilities.
        verified: Whether every file matched ``checksums.json`` (always True: a bundle
            that does not is refused when it loads).
    """

    def __init__(
        self,
        directory: Path,
        version: str,
        model: keras.Model | None,
        vectorizer: Vectorizer,
        metadata: dict[str, Any],
        text_scorer: LinearScorer | None = None,
        verified: bool = True,
    ) -> None:
        self.directory = Path(directory)
        self.version = version
        self._model = model
        self.vectorizer = vectorizer
        self.metadata = metadata
        self.calibration = Calibration.from_metadata(metadata)
        self.text_scorer = text_scorer
        self.verified = verified
        self._forward: Any = None

    def __repr__(self) -> str:
        path = "compiled linear" if self.text_scorer is not None else "Keras"
        return f"ModelBundle({self.version!r}, {self.directory}, {path})"

    @property
    def model(self) -> keras.Model:
        """The Keras model (loaded on first use); it maps int32 ids ``(n, max_length)``
        to ``(n, 1)`` uncalibrated probabilities."""
        if self._model is None:
            self._model = _load_keras_model(self.directory, self.vectorizer)
        return self._model

    @property
    def model_name(self) -> str:
        """The model's name in the zoo (``unknown`` for bundles without it)."""
        return str(self.metadata.get("model", {}).get("name", "unknown"))

    @property
    def threshold(self) -> float:
        """The decision threshold chosen on validation (0.5 for bundles without one)."""
        return metadata_threshold(self.metadata)

    def _compiled_forward(self) -> Any:
        # One traced graph with a fixed signature serves every batch size, so scoring
        # pays neither model.predict's per-call setup nor a retrace per batch shape.
        if self._forward is None:
            import tensorflow as tf

            model = self.model
            max_length = self.vectorizer.config.max_length

            @tf.function(
                input_signature=[tf.TensorSpec(shape=(None, max_length), dtype=tf.int32)],
                reduce_retracing=True,
            )
            def forward(token_ids: tf.Tensor) -> tf.Tensor:
                return tf.reshape(model(token_ids, training=False), [-1])

            self._forward = forward
        return self._forward

    def predict_token_ids(
        self, token_ids: np.ndarray, batch_size: int = 1024, calibrated: bool = True
    ) -> np.ndarray:
        """Score pre-tokenized reviews through Keras.

        Args:
            token_ids: int32 ids of shape ``(n, max_length)``, as the vectorizer encodes.
            batch_size: Rows per forward pass; larger is faster up to memory limits.
            calibrated: Apply the bundle's calibration (off: the model's own output).

        Returns:
            float32 probabilities of a positive review, shape ``(n,)``.

        Raises:
            DataError: If the array's shape does not match the model's input length.
        """
        token_ids = np.asarray(token_ids)
        max_length = self.vectorizer.config.max_length
        if token_ids.ndim != 2 or token_ids.shape[1] != max_length:
            raise DataError(
                f"Bundle {self.directory}: token_ids has shape {token_ids.shape}, but the "
                f"model expects (n, {max_length}); encode the reviews with the bundle's "
                "vectorizer."
            )
        if batch_size < 1:
            raise DataError(f"Bundle {self.directory}: batch_size must be >= 1, not {batch_size}.")
        count = token_ids.shape[0]
        scores = np.empty(count, dtype=np.float32)
        if count == 0:
            return scores
        token_ids = token_ids.astype(np.int32, copy=False)
        forward = self._compiled_forward()
        for start in range(0, count, batch_size):
            stop = min(start + batch_size, count)
            scores[start:stop] = forward(token_ids[start:stop]).numpy()
        return self.calibration.apply(scores) if calibrated else scores

    def predict_texts(
        self, texts: Sequence[str | None], batch_size: int = 1024, calibrated: bool = True
    ) -> np.ndarray:
        """Score raw reviews (through the compiled scorer where the bundle has one).

        Args:
            texts: Review texts; ``None``, empty or non-string entries get no score.
            batch_size: Rows per forward pass.
            calibrated: Apply the bundle's calibration.

        Returns:
            float32 probabilities of a positive review, shape ``(n,)``, NaN where the
            text is missing, empty (after stripping) or not a string.
        """
        from sentiment.encoding.tokens import has_text

        scores = np.full(len(texts), np.nan, dtype=np.float32)
        valid = np.flatnonzero(has_text(texts))
        if len(valid) == 0:
            return scores
        selected = [texts[index] for index in valid]
        if self.text_scorer is not None:
            column = pa.array(selected, pa.string())
            for start in range(0, len(selected), _TEXT_BATCH):
                chunk = column.slice(start, _TEXT_BATCH)
                scores[valid[start : start + len(chunk)]] = self.text_scorer.score_texts(
                    chunk, calibrated=calibrated
                ).scores
            return scores
        token_ids = self.vectorizer.encode(selected)
        scores[valid] = self.predict_token_ids(
            token_ids, batch_size=batch_size, calibrated=calibrated
        )
        return scores


def save_bundle(
    directory: Path,
    model: keras.Model,
    vectorizer: Vectorizer,
    metadata: dict[str, Any],
    extra_files: dict[str, bytes] | None = None,
    profile: TextProfile | None = None,
) -> Path:
    """Write a bundle atomically: it appears under ``directory`` only when complete.

    Args:
        directory: The bundle's final directory, ``models/<version>``.
        model: The trained Keras model (built-in layers only, so safe_mode can load it).
        vectorizer: The vectorizer the model was trained with.
        metadata: JSON-serializable metadata; ``version`` is set to the directory name
            when absent.
        extra_files: Optional additional files (name -> bytes), e.g. a training-curve PNG.
        profile: The profile of the reviews the model was trained on (through
            ``vectorizer``), saved as :data:`PROFILE_FILE`: scoring's drift reference.

    Returns:
        The bundle's directory.
    """
    directory = Path(directory)
    payload = {"version": directory.name, **metadata}
    with atomic_directory(directory) as temporary:
        model.save(temporary / MODEL_FILE)
        vectorizer.save(temporary / VECTORIZER_FILE)
        for name, content in (extra_files or {}).items():
            (temporary / name).write_bytes(content)
        if profile is not None:
            write_json(
                temporary / PROFILE_FILE,
                {"format": PROFILE_FORMAT, "profile": profile.to_dict()},
            )
        write_json(temporary / METADATA_FILE, payload)
        # Every file is covered, so nothing scoring reads from a bundle can change unseen.
        names = sorted(path.name for path in temporary.iterdir() if path.is_file())
        write_json(
            temporary / CHECKSUMS_FILE,
            {
                "algorithm": "sha256",
                "files": {name: file_sha256(temporary / name) for name in names},
            },
        )
    logger.info("Saved model bundle %s", directory)
    return directory


def _embedding_sizes(model: keras.Model) -> list[tuple[str, int]]:
    import keras

    return [
        (layer.name, int(layer.input_dim))
        for layer in model.layers
        if isinstance(layer, keras.layers.Embedding)
    ]


def _load_keras_model(directory: Path, vectorizer: Vectorizer) -> keras.Model:
    """Load and check a bundle's Keras model against its vectorizer."""
    import_tensorflow_quietly()
    import keras

    model_path = directory / MODEL_FILE
    try:
        model = keras.saving.load_model(model_path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many types for a bad archive.
        raise DataError(
            f"Model bundle file {model_path} cannot be loaded safely "
            f"({type(error).__name__}: {error}); retrain the bundle with 'sentiment train'."
        ) from error
    config = vectorizer.config
    for layer_name, input_dim in _embedding_sizes(model):
        if config.num_words > input_dim:
            raise DataError(
                f"Model bundle {directory}: {VECTORIZER_FILE} has num_words="
                f"{config.num_words} but the model's embedding '{layer_name}' holds only "
                f"{input_dim} ids; the files come from different runs, so retrain the bundle."
            )
    input_shape = model.input_shape
    if isinstance(input_shape, tuple) and len(input_shape) == 2:
        model_length = input_shape[1]
        if model_length is not None and model_length != config.max_length:
            raise DataError(
                f"Model bundle {directory}: {VECTORIZER_FILE} has max_length="
                f"{config.max_length} but the model takes {model_length} ids per review; "
                "the files come from different runs, so retrain the bundle."
            )
    return model


def _bounded(path: Path, payload: dict[str, Any]) -> Vectorizer:
    """A bundle's vectorizer, its settings checked against their sane ranges first
    (``SETTING_RANGES``): an absurd one would load, then exhaust memory while scoring."""
    settings = payload.get("config") if isinstance(payload, dict) else None
    for name in SETTING_RANGES:
        if isinstance(settings, dict) and name in settings:
            problem = out_of_range(name, settings[name])
            if problem is not None:
                raise DataError(
                    f"Model bundle file {path} field config.{name} {problem}, so the bundle "
                    "is refused; retrain it with 'sentiment train'."
                )
    return Vectorizer.from_dict(payload)


def load_bundle(directory: Path, compiled: bool = True) -> ModelBundle:
    """Load a bundle written by :func:`save_bundle`.

    A linear bundle with its saved weights (``linear_weights.npy``, fingerprint
    matching) loads without Keras or TensorFlow; one saved before those weights existed
    loads Keras once and folds them from the model.

    Args:
        directory: The bundle's directory.
        compiled: Give linear bundles their compiled scorer (off: Keras only, the
            reference path).

    Returns:
        The loaded bundle.

    Raises:
        DataError: If a file is missing, corrupt or changed since it was saved
            (:func:`verify_bundle`), or the vectorizer's vocabulary or sequence length
            does not fit the model.
    """

    directory = Path(directory)
    require_bundle_files(directory)
    verified = verify_bundle(directory)
    metadata = read_metadata(directory)
    calibration = read_calibration(directory, metadata)
    vectorizer_path = directory / VECTORIZER_FILE
    try:
        vectorizer = read_vectorizer_file(vectorizer_path, partial(_bounded, vectorizer_path))
    except DataError:
        raise
    except Exception as error:
        raise DataError(
            f"Model bundle file {vectorizer_path} cannot be loaded "
            f"({type(error).__name__}: {error}); retrain the bundle with 'sentiment train'."
        ) from error

    model = None
    text_scorer = None
    if compiled and vectorizer.config.bag:
        linear = read_weights(directory, metadata.get("linear"), vectorizer.config.num_words)
        if linear is None and _is_linear_model(metadata):
            # A bundle saved before the weights were: fold them from the model once.
            model = _load_keras_model(directory, vectorizer)
            linear = folded_weights(model)
        if linear is not None:
            prior = read_prior(
                directory,
                (metadata.get("linear") or {}).get("short_text_prior"),
                vectorizer.config.num_words,
            )
            text_scorer = LinearScorer(vectorizer, *linear, calibration=calibration, prior=prior)
    if text_scorer is None and model is None:
        model = _load_keras_model(directory, vectorizer)
    version = str(metadata.get("version") or directory.name)
    return ModelBundle(
        directory=directory,
        version=version,
        model=model,
        vectorizer=vectorizer,
        metadata=metadata,
        text_scorer=text_scorer,
        verified=verified,
    )


def _is_linear_model(metadata: dict[str, Any]) -> bool:
    from sentiment.modeling.config import MODEL_SPECS

    model = metadata.get("model")
    spec = MODEL_SPECS.get(str(model.get("name"))) if isinstance(model, dict) else None
    return spec is not None and spec.linear

"""Model bundles: a trained Keras model, the vectorizer it was trained with, and metadata.

A bundle is one directory under ``models/<version>/``::

    model.keras      the Keras model in the native format (built-in layers only)
    vectorizer.json  the vectorizer that turns raw reviews into the model's token ids
    metadata.json    model name and settings, data fingerprints, history, metrics, versions
    checksums.json   the sha256 of each file above, recorded when the bundle is saved

The directory is written through :func:`sentiment.core.atomic.atomic_directory`, so a bundle
under its final name is always complete. Loading uses Keras' ``safe_mode``: a model file
can never run arbitrary code, and checks every file against ``checksums.json``, so a file
changed after training is refused. Bundles saved before checksums were recorded have no
``checksums.json``; they still load, with a warning, and ``ModelBundle.verified`` False.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sentiment.core.atomic import atomic_directory, file_sha256, write_json
from sentiment.core.errors import DataError

if TYPE_CHECKING:
    import keras

    from sentiment.encoding.vectorizer import Vectorizer

logger = logging.getLogger(__name__)

MODEL_FILE = "model.keras"
VECTORIZER_FILE = "vectorizer.json"
METADATA_FILE = "metadata.json"
CHECKSUMS_FILE = "checksums.json"
BUNDLE_FILES = (MODEL_FILE, VECTORIZER_FILE, METADATA_FILE)


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


@dataclass
class ModelBundle:
    """A loaded bundle that scores raw reviews or pre-tokenized ids on its own.

    Attributes:
        directory: The bundle's directory.
        version: The bundle's version (its directory name unless the metadata says so).
        model: The Keras model; it maps int32 ids ``(n, max_length)`` to ``(n, 1)``.
        vectorizer: The vectorizer the model was trained with.
        metadata: The parsed ``metadata.json``.
        verified: Whether every file matched ``checksums.json`` (False only for a bundle
            saved before checksums were recorded).
    """

    directory: Path
    version: str
    model: keras.Model
    vectorizer: Vectorizer
    metadata: dict[str, Any]
    verified: bool = True
    _forward: Any = field(default=None, init=False, repr=False, compare=False)

    @property
    def model_name(self) -> str:
        """The model's name in the zoo (``unknown`` for bundles without it)."""
        return str(self.metadata.get("model", {}).get("name", "unknown"))

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

    def predict_token_ids(self, token_ids: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Score pre-tokenized reviews.

        Args:
            token_ids: int32 ids of shape ``(n, max_length)``, as the vectorizer encodes.
            batch_size: Rows per forward pass; larger is faster up to memory limits.

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
        return scores

    def predict_texts(self, texts: Sequence[str | None], batch_size: int = 1024) -> np.ndarray:
        """Score raw reviews.

        Args:
            texts: Review texts; ``None``, empty or non-string entries get no score.
            batch_size: Rows per forward pass.

        Returns:
            float32 probabilities of a positive review, shape ``(n,)``, NaN where the
            text is missing, empty (after stripping) or not a string.
        """
        from sentiment.encoding.tokens import has_text

        scores = np.full(len(texts), np.nan, dtype=np.float32)
        valid = np.flatnonzero(has_text(texts))
        if len(valid):
            token_ids = self.vectorizer.encode([texts[index] for index in valid])
            scores[valid] = self.predict_token_ids(token_ids, batch_size=batch_size)
        return scores


def save_bundle(
    directory: Path,
    model: keras.Model,
    vectorizer: Vectorizer,
    metadata: dict[str, Any],
    extra_files: dict[str, bytes] | None = None,
) -> Path:
    """Write a bundle atomically: it appears under ``directory`` only when complete.

    Args:
        directory: The bundle's final directory, ``models/<version>``.
        model: The trained Keras model (built-in layers only, so safe_mode can load it).
        vectorizer: The vectorizer the model was trained with.
        metadata: JSON-serializable metadata; ``version`` is set to the directory name
            when absent.
        extra_files: Optional additional files (name -> bytes), e.g. a training-curve PNG.

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
        write_json(temporary / METADATA_FILE, payload)
        write_json(
            temporary / CHECKSUMS_FILE,
            {
                "algorithm": "sha256",
                "files": {name: file_sha256(temporary / name) for name in BUNDLE_FILES},
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


def verify_bundle(directory: Path) -> bool:
    """Check the bundle's files against the checksums recorded when it was saved.

    Returns:
        True when every file matches; False for a bundle saved before checksums were
        recorded (no ``checksums.json``), which is logged as a warning.

    Raises:
        DataError: If a file differs from its checksum, or the checksums are unreadable.
    """
    directory = Path(directory)
    checksums_path = directory / CHECKSUMS_FILE
    if not checksums_path.is_file():
        logger.warning(
            "Model bundle %s has no checksums (saved before they were recorded); its files "
            "cannot be verified",
            directory,
        )
        return False
    try:
        recorded = json.loads(checksums_path.read_text(encoding="utf-8"))["files"]
        if not isinstance(recorded, dict):
            raise TypeError("files is not an object")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        raise DataError(
            f"Model bundle file {checksums_path} is unreadable ({error}); the bundle cannot "
            "be verified, so retrain it with 'sentiment train'."
        ) from error
    for name in BUNDLE_FILES:
        if recorded.get(name) != file_sha256(directory / name):
            raise DataError(
                f"Model bundle file {directory / name} does not match the checksum recorded "
                "when the bundle was saved, so it was changed since and is refused; restore "
                "the bundle or retrain it with 'sentiment train'."
            )
    return True


def load_bundle(directory: Path) -> ModelBundle:
    """Load a bundle written by :func:`save_bundle`.

    Args:
        directory: The bundle's directory.

    Returns:
        The loaded bundle.

    Raises:
        DataError: If a file is missing, corrupt or changed since it was saved
            (:func:`verify_bundle`), or the vectorizer's vocabulary or sequence length
            does not fit the model.
    """
    import keras

    from sentiment.encoding.vectorizer import Vectorizer

    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(
            f"Model bundle {directory} does not exist; train one with 'sentiment train' or "
            "pick a version listed by 'sentiment models'."
        )
    for name in BUNDLE_FILES:
        if not (directory / name).is_file():
            raise DataError(
                f"Model bundle file {directory / name} is missing; the bundle is incomplete, "
                "so retrain it with 'sentiment train'."
            )
    verified = verify_bundle(directory)
    metadata_path = directory / METADATA_FILE
    try:
        metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(
            f"Model bundle file {metadata_path} is not valid JSON ({error}); retrain the "
            "bundle with 'sentiment train'."
        ) from error
    if not isinstance(metadata, dict):
        raise DataError(
            f"Model bundle file {metadata_path} must hold a JSON object; retrain the bundle "
            "with 'sentiment train'."
        )
    model_path = directory / MODEL_FILE
    try:
        model = keras.saving.load_model(model_path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many types for a bad archive.
        raise DataError(
            f"Model bundle file {model_path} cannot be loaded safely "
            f"({type(error).__name__}: {error}); retrain the bundle with 'sentiment train'."
        ) from error
    vectorizer_path = directory / VECTORIZER_FILE
    try:
        vectorizer = Vectorizer.load(vectorizer_path)
    except DataError:
        raise
    except Exception as error:
        raise DataError(
            f"Model bundle file {vectorizer_path} cannot be loaded "
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
    version = str(metadata.get("version") or directory.name)
    return ModelBundle(
        directory=directory,
        version=version,
        model=model,
        vectorizer=vectorizer,
        metadata=metadata,
        verified=verified,
    )

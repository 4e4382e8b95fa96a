"""Model bundles: a trained Keras model, the vectorizer it was trained with, and metadata.

A bundle is one directory under ``models/<version>/``::

    model.keras      the Keras model in the native format (built-in layers only)
    vectorizer.json  the vectorizer that turns raw reviews into the model's token ids
    metadata.json    model name and settings, data fingerprints, history, metrics, versions,
                     calibration and decision threshold (both chosen on validation)
    linear_weights.npy  linear bundles (nbsvm) only: one float32 weight per id, so they
                     score without Keras (fingerprint in metadata "linear")
    training_profile.json  the profile of the reviews the model was trained on, seen
                     through its vectorizer: the reference drift is judged against
    checksums.json   the sha256 of every file above (and any other file saved with the
                     bundle), recorded when the bundle is saved and checked when it loads

The directory is written through :func:`sentiment.core.atomic.atomic_directory`, so a bundle
under its final name is always complete. Loading uses Keras' ``safe_mode``: a model file
can never run arbitrary code, and checks every file against ``checksums.json``, so a file
changed after training is refused. A bundle whose ``checksums.json`` is missing, or does
not record each of the model, vectorizer and metadata, is refused wherever it comes from
(registry, ``--bundle`` directory or URL): deleting the checksums must not turn
verification off. A bundle named by URL is copied into a cache only this user can write
and its ``checksums.json`` must equal the object store's (:func:`local_bundle`).

A scoring run reads a bundle once into a :class:`ResolvedBundle` (:func:`read_bundle`):
its identity, threshold, calibration and training profile, the files they come from
checked against the checksums; the model itself loads once per process
(:func:`load_bundle`).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa

from sentiment.core import storage
from sentiment.core.atomic import atomic_directory, file_sha256, write_json
from sentiment.core.errors import DataError
from sentiment.core.quiet import import_tensorflow_quietly
from sentiment.encoding.config import SETTING_RANGES, out_of_range
from sentiment.encoding.vectorizer import Vectorizer
from sentiment.encoding.vectorizer_file import VECTORIZER_FILE, read_vectorizer_file
from sentiment.modeling.calibration import DEFAULT_THRESHOLD, Calibration
from sentiment.modeling.linear import LinearScorer, folded_weights, read_weights
from sentiment.modeling.profile import PROFILE_FILE, PROFILE_FORMAT, TextProfile

if TYPE_CHECKING:
    import keras

logger = logging.getLogger(__name__)

MODEL_FILE = "model.keras"
METADATA_FILE = "metadata.json"
CHECKSUMS_FILE = "checksums.json"
BUNDLE_FILES = (MODEL_FILE, VECTORIZER_FILE, METADATA_FILE)
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


def _recorded_checksums(directory: Path) -> dict[str, str]:
    """The file checksums ``checksums.json`` records, which must cover every file a
    bundle must hold.

    Raises:
        DataError: If the checksums are missing, unreadable or incomplete.
    """
    checksums_path = directory / CHECKSUMS_FILE
    if not checksums_path.is_file():
        raise DataError(
            f"Model bundle {directory} has no checksums.json, so its files cannot be verified "
            "and it is refused; restore the bundle whole or retrain it with 'sentiment train'."
        )
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
        if not isinstance(recorded.get(name), str):
            raise DataError(
                f"Model bundle file {checksums_path} records no checksum for {name}, so that "
                "file cannot be verified and the bundle is refused; restore the bundle whole "
                "or retrain it with 'sentiment train'."
            )
    return recorded


def _check_files(directory: Path, recorded: dict[str, str], names: Sequence[str]) -> None:
    """Raise unless each of ``names`` matches its recorded checksum."""
    for name in names:
        path = directory / name
        if not path.is_file():
            raise DataError(
                f"Model bundle file {path} is missing although the bundle's checksums "
                "record it; restore the bundle or retrain it with 'sentiment train'."
            )
        if recorded.get(name) != file_sha256(path):
            raise DataError(
                f"Model bundle file {path} does not match the checksum recorded "
                "when the bundle was saved, so it was changed since and is refused; restore "
                "the bundle or retrain it with 'sentiment train'."
            )


def verify_bundle(directory: Path) -> bool:
    """Check the bundle's files against the checksums recorded when it was saved: the
    model, vectorizer and metadata, and every other file the checksums record.

    Files added after training (an evaluation's results) are not the bundle's and are
    not checked.

    Returns:
        True: every file matches (anything else raises).

    Raises:
        DataError: If a file differs from its checksum or is missing, or the checksums
            are missing, unreadable or incomplete.
    """
    directory = Path(directory)
    recorded = _recorded_checksums(directory)
    _check_files(directory, recorded, [*BUNDLE_FILES, *sorted(set(recorded) - set(BUNDLE_FILES))])
    return True


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


def metadata_threshold(metadata: dict[str, Any]) -> float:
    """The decision threshold a bundle's metadata records (0.5 where it records none)."""
    entry = metadata.get("decision_threshold")
    if isinstance(entry, dict) and isinstance(entry.get("value"), int | float):
        return float(entry["value"])
    return DEFAULT_THRESHOLD


@dataclass(frozen=True)
class BundleIdentity:
    """A bundle's version and threshold, read without loading its model."""

    version: str
    threshold: float


# Where bundles named by URL are copied to on each host (a worker copies it once); by
# default a directory only this user can write (see _bundle_cache).
BUNDLE_CACHE_VARIABLE = "SENTIMENT_BUNDLE_CACHE"


def _private_directory(directory: Path) -> Path:
    """``directory``, created only-this-user (0700) if absent.

    Raises:
        OSError: If it cannot be created.
        PermissionError: If it exists but another user owns it or may write to it.
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    status = directory.stat()
    if status.st_uid != os.getuid() or status.st_mode & 0o022:
        raise PermissionError(f"owned by uid {status.st_uid} with mode {status.st_mode & 0o777:o}")
    return directory


def _bundle_cache() -> Path:
    """The directory bundles named by URL are copied into: ``$SENTIMENT_BUNDLE_CACHE``,
    else ``$XDG_CACHE_HOME/sentiment/bundles`` (``~/.cache`` by default), else, with no
    writable home, a 0700 directory of this user's own under the temporary directory.
    Never a directory another user can write, where a planted copy would decide scores.

    Raises:
        DataError: If the directory named by the variable, or every default, is not this
            user's alone.
    """
    configured = os.environ.get(BUNDLE_CACHE_VARIABLE)
    if configured:
        try:
            return _private_directory(Path(configured).expanduser())
        except OSError as error:
            raise DataError(
                f"Bundle cache {configured} (${BUNDLE_CACHE_VARIABLE}) is not a directory only "
                f"you can write ({error}), so a copy there could be planted; point "
                f"{BUNDLE_CACHE_VARIABLE} at a directory of yours with mode 700."
            ) from error
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    candidates = [
        Path(cache_home) / "sentiment" / "bundles",
        Path(tempfile.gettempdir()) / f"sentiment-bundles-{os.getuid()}",
    ]
    problems = []
    for candidate in candidates:
        try:
            return _private_directory(candidate)
        except OSError as error:
            problems.append(f"{candidate}: {error}")
    raise DataError(
        f"No bundle cache only you can write could be made ({'; '.join(problems)}); set "
        f"{BUNDLE_CACHE_VARIABLE} to a directory of yours with mode 700."
    )


def local_bundle(directory: storage.Location | str) -> Path:
    """A bundle's local directory: itself, or for a URL (``s3://.../models/VERSION``) a
    copy made once per host in a cache only this user can write (:func:`_bundle_cache`),
    whose ``checksums.json`` equals the object store's: a stale or altered copy is copied
    again, so the files are verified (when read or loaded) against the source's checksums.

    Raises:
        DataError: If the URL cannot be copied (missing, or no access), has no
            checksums, or changes while it is copied.
    """
    where = storage.location(directory)
    if not storage.is_remote(where):
        return Path(where)
    cache = _bundle_cache()
    checksums = storage.join(where, CHECKSUMS_FILE)
    try:
        try:
            source = storage.read_bytes(checksums)
        except FileNotFoundError:
            raise DataError(
                f"Model bundle {where} has no checksums.json, so its files cannot be verified "
                "and it is refused; copy the bundle there whole, as 'sentiment train' saved it."
            ) from None
        copy = storage.local_copy(where, cache)
        if _read_if_present(copy / CHECKSUMS_FILE) != source:
            # A copy from before the source changed, or one altered here: copy it again.
            shutil.rmtree(copy, ignore_errors=True)
            copy = storage.local_copy(where, cache)
    except OSError as error:
        raise DataError(
            f"Model bundle {where} could not be copied ({error}); check the URL and the "
            "storage credentials (AWS_* variables)."
        ) from error
    if _read_if_present(copy / CHECKSUMS_FILE) != source:
        raise DataError(
            f"Model bundle {where} changed while it was being copied (its checksums.json "
            "differs from the copy's), so it is refused; score again once it is written whole."
        )
    return copy


def _read_if_present(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def bundle_identity(directory: Path) -> BundleIdentity:
    """Read a bundle's version and decision threshold from its metadata alone (cheap:
    no model, no vectorizer), e.g. to tell whether an output is up to date.

    Raises:
        DataError: If the metadata is missing or not a JSON object.
    """
    metadata = _read_metadata(Path(directory))
    version = str(metadata.get("version") or Path(directory).name)
    return BundleIdentity(version=version, threshold=metadata_threshold(metadata))


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


def _read_metadata(directory: Path) -> dict[str, Any]:
    """A bundle's ``metadata.json`` as a dict, its decision threshold checked.

    Raises:
        DataError: If it is unreadable, not JSON or not a JSON object, or records a
            decision threshold that is not a number from 0 to 1.
    """
    path = directory / METADATA_FILE
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(
            f"Model bundle file {path} is not valid JSON ({error}); retrain the bundle with "
            "'sentiment train'."
        ) from error
    if not isinstance(metadata, dict):
        raise DataError(
            f"Model bundle file {path} must hold a JSON object; retrain the bundle with "
            "'sentiment train'."
        )
    entry = metadata.get("decision_threshold")
    value = entry.get("value") if isinstance(entry, dict) else None
    if entry is not None and not (
        isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1
    ):
        raise DataError(
            f"Model bundle file {path} field decision_threshold.value is {value!r}, not a "
            "number from 0 to 1, so the bundle is refused; retrain it with 'sentiment train'."
        )
    return metadata


BundleSource = Literal["registry", "path"]


@dataclass(frozen=True)
class ResolvedBundle:
    """Everything a scoring run needs to know about its bundle, read once per run.

    Attributes:
        version: The bundle's version.
        location: The bundle as named: its directory, or its URL
            (``s3://bucket/models/VERSION``), which every host copies once
            (:func:`local_bundle`); what tasks pass to load the model.
        directory: This host's local directory of the bundle.
        source: ``registry`` (the champion or ``--model``) or ``path`` (``--bundle``).
        metadata: The parsed ``metadata.json`` (not to be changed).
        threshold: The decision threshold chosen on validation (0.5 for bundles
            without one).
        calibration: Maps the model's scores to calibrated probabilities.
        profile: The profile of the reviews the model was trained on, the drift
            reference; None for a bundle saved before bundles carried one.
    """

    version: str
    location: str
    directory: Path
    source: BundleSource
    metadata: dict[str, Any]
    threshold: float
    calibration: Calibration
    profile: TextProfile | None

    @property
    def identity(self) -> BundleIdentity:
        """The version and threshold, which key whether an output is up to date."""
        return BundleIdentity(version=self.version, threshold=self.threshold)


def _require_bundle_files(directory: Path) -> None:
    """Raise unless ``directory`` is a bundle holding every file a bundle must hold."""
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


def _read_calibration(directory: Path, metadata: dict[str, Any]) -> Calibration:
    try:
        return Calibration.from_metadata(metadata)
    except (ValueError, TypeError, KeyError) as error:
        raise DataError(
            f"Model bundle file {directory / METADATA_FILE} has an invalid 'calibration' "
            f"({error}); retrain the bundle with 'sentiment train'."
        ) from error


def _read_profile(directory: Path, recorded: dict[str, str]) -> TextProfile | None:
    """The training profile a bundle's checksums vouch for (checked by the caller), or
    None for a bundle saved without one."""
    if PROFILE_FILE not in recorded:
        if (directory / PROFILE_FILE).is_file():
            # Not saved with the bundle (an older release cached one there): no reference.
            logger.warning(
                "Ignoring %s: the bundle's checksums do not record it", directory / PROFILE_FILE
            )
        return None
    path = directory / PROFILE_FILE
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        if payload.get("format") != PROFILE_FORMAT:
            raise ValueError(f"format {payload.get('format')!r}, not {PROFILE_FORMAT}")
        return TextProfile.from_dict(payload["profile"])
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise DataError(
            f"Model bundle file {path} is not a training profile this release reads "
            f"({error}); retrain the bundle with 'sentiment train'."
        ) from error


def read_bundle(
    location: storage.Location | str, source: BundleSource = "registry"
) -> ResolvedBundle:
    """Read what scoring needs from a bundle, once, without loading its model.

    The files read (metadata and training profile) are checked against the bundle's
    checksums first; the model and vectorizer are checked when a process loads them
    (:func:`load_bundle`).

    Args:
        location: The bundle's directory or URL (copied to this host once).
        source: Where it was found: ``registry`` or ``path`` (``--bundle``).

    Returns:
        The bundle's version, directories, metadata, threshold, calibration and profile.

    Raises:
        DataError: If the bundle is missing or incomplete, a file it reads is changed
            since training or unreadable.
    """
    directory = local_bundle(location)
    _require_bundle_files(directory)
    recorded = _recorded_checksums(directory)
    # The metadata is always recorded; the profile is when it was saved.
    profile = [PROFILE_FILE] if PROFILE_FILE in recorded else []
    _check_files(directory, recorded, [METADATA_FILE, *profile])
    metadata = _read_metadata(directory)
    return ResolvedBundle(
        version=str(metadata.get("version") or directory.name),
        location=str(storage.location(location)),
        directory=directory,
        source=source,
        metadata=metadata,
        threshold=metadata_threshold(metadata),
        calibration=_read_calibration(directory, metadata),
        profile=_read_profile(directory, recorded),
    )


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
    _require_bundle_files(directory)
    verified = verify_bundle(directory)
    metadata = _read_metadata(directory)
    calibration = _read_calibration(directory, metadata)
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
            text_scorer = LinearScorer(vectorizer, *linear, calibration=calibration)
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

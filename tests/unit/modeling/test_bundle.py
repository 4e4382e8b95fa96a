"""Model bundles: atomic save, safe loading, scoring, versions."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import keras
import numpy as np
import pyarrow as pa
import pytest

from sentiment.core.atomic import file_sha256
from sentiment.core.errors import DataError
from sentiment.encoding.config import VectorizerConfig
from sentiment.encoding.vectorizer import Vectorizer
from sentiment.encoding.vectorizer_file import VECTORIZER_FILE
from sentiment.encoding.vocabulary import fit_vectorizer
from sentiment.modeling.bundle import ModelBundle, load_bundle, new_version, save_bundle
from sentiment.modeling.bundle_files import CHECKSUMS_FILE, METADATA_FILE, MODEL_FILE
from sentiment.modeling.profile import PROFILE_FILE, profile_texts
from sentiment.modeling.resolved_bundle import read_bundle
from sentiment.modeling.zoo import build_model
from tests.support.bundles import save_nbsvm

TEXTS = [
    "a great film, great acting",
    "an awful film, awful plot",
    "great plot and a fine cast",
    "boring and awful",
] * 5


@pytest.fixture(scope="module")
def vectorizer() -> Vectorizer:
    return fit_vectorizer(TEXTS, VectorizerConfig(num_words=30, max_length=8))


@pytest.fixture(scope="module")
def trained(vectorizer: Vectorizer) -> keras.Model:
    model = build_model("cnn", vectorizer.config)
    labels = np.array([1.0, 0.0, 1.0, 0.0] * 5, dtype=np.float32)
    model.fit(vectorizer.encode(TEXTS), labels, epochs=1, batch_size=4, verbose=0)
    return model


@pytest.fixture(scope="module")
def saved(
    tmp_path_factory: pytest.TempPathFactory, vectorizer: Vectorizer, trained: keras.Model
) -> Path:
    directory = tmp_path_factory.mktemp("models") / new_version("cnn")
    return save_bundle(directory, trained, vectorizer, {"model": {"name": "cnn"}})


def test_bundle_holds_the_three_files_and_no_temporaries(saved: Path) -> None:
    assert {path.name for path in saved.iterdir()} == {
        MODEL_FILE,
        VECTORIZER_FILE,
        METADATA_FILE,
        CHECKSUMS_FILE,
    }
    assert [path.name for path in saved.parent.iterdir()] == [saved.name]
    metadata = json.loads((saved / METADATA_FILE).read_text())
    assert metadata["version"] == saved.name


def test_round_trip_scores_identically(
    saved: Path, vectorizer: Vectorizer, trained: keras.Model
) -> None:
    bundle = load_bundle(saved)
    assert bundle.version == saved.name
    assert bundle.model_name == "cnn"
    assert bundle.vectorizer.config == vectorizer.config
    token_ids = vectorizer.encode(TEXTS)
    original = ModelBundle(saved, saved.name, trained, vectorizer, {})
    scores = bundle.predict_token_ids(token_ids, batch_size=8)
    assert scores.dtype == np.float32 and scores.shape == (len(TEXTS),)
    np.testing.assert_array_equal(scores, original.predict_token_ids(token_ids, batch_size=8))
    # Batch boundaries only change float rounding, and Keras' own predict agrees.
    np.testing.assert_allclose(scores, bundle.predict_token_ids(token_ids, batch_size=3), atol=1e-6)
    np.testing.assert_allclose(scores, trained.predict(token_ids, verbose=0).ravel(), atol=1e-6)
    assert scores.std() > 0


def test_predict_texts_marks_missing_texts_nan(saved: Path) -> None:
    bundle = load_bundle(saved)
    scores = bundle.predict_texts(["a great film", None, "", "   ", 7, "awful plot"])  # type: ignore[list-item]
    assert scores.dtype == np.float32
    assert np.isnan(scores[[1, 2, 3, 4]]).all()
    assert np.isfinite(scores[[0, 5]]).all()
    expected = bundle.predict_token_ids(bundle.vectorizer.encode(["a great film", "awful plot"]))
    np.testing.assert_array_equal(scores[[0, 5]], expected)
    assert bundle.predict_texts([]).shape == (0,)


def test_wrong_token_shape_is_a_data_error(saved: Path) -> None:
    bundle = load_bundle(saved)
    with pytest.raises(DataError, match=r"max_length|shape"):
        bundle.predict_token_ids(np.zeros((2, 3), np.int32))


@pytest.mark.parametrize("name", [MODEL_FILE, VECTORIZER_FILE, METADATA_FILE])
def test_missing_file_is_named(saved: Path, tmp_path: Path, name: str) -> None:
    copy = tmp_path / saved.name
    copy.mkdir()
    for path in saved.iterdir():
        if path.name != name:
            (copy / path.name).write_bytes(path.read_bytes())
    with pytest.raises(DataError, match=name):
        load_bundle(copy)


@pytest.mark.parametrize("name", [MODEL_FILE, METADATA_FILE])
def test_corrupt_file_is_named(saved: Path, tmp_path: Path, name: str) -> None:
    copy = tmp_path / saved.name
    copy.mkdir()
    for path in saved.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    (copy / name).write_bytes(b"not what it should be")
    with pytest.raises(DataError, match=name):
        load_bundle(copy)


def test_vocabulary_larger_than_the_embedding_is_refused(tmp_path: Path) -> None:
    small = fit_vectorizer(TEXTS, VectorizerConfig(num_words=10, max_length=8))
    large = fit_vectorizer(TEXTS, VectorizerConfig(num_words=40, max_length=8))
    directory = save_bundle(
        tmp_path / "mismatch", build_model("mlp", small.config), large, {"model": {"name": "mlp"}}
    )
    with pytest.raises(DataError, match="num_words"):
        load_bundle(directory)


def test_model_file_with_custom_code_is_refused(tmp_path: Path, vectorizer: Vectorizer) -> None:
    inputs = keras.Input(shape=(vectorizer.config.max_length,), dtype="int32")
    x = keras.layers.Embedding(vectorizer.config.num_words, 2)(inputs)
    x = keras.layers.Lambda(lambda tensor: tensor * 2.0)(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Flatten()(x))
    directory = save_bundle(
        tmp_path / "lambda", keras.Model(inputs, outputs), vectorizer, {"model": {"name": "x"}}
    )
    with pytest.raises(DataError, match=MODEL_FILE):
        load_bundle(directory)


def test_a_failed_save_leaves_nothing(tmp_path: Path, vectorizer: Vectorizer) -> None:
    class Exploding:
        def save(self, path: Path) -> None:
            Path(path).write_bytes(b"half")
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        save_bundle(tmp_path / "broken", Exploding(), vectorizer, {})  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_versions_sort_by_time_and_name_the_model() -> None:
    start = datetime(2026, 11, 29, 19, 15, 0, tzinfo=UTC)
    first = new_version("cnn", start)
    assert first.startswith("20261129-191500-cnn-")
    later = new_version("mlp", start + timedelta(seconds=1))
    assert sorted([later, first]) == [first, later]
    # Two runs in the same second still get different versions.
    assert len({new_version("cnn", start) for _ in range(20)}) > 1
    eastern = datetime(2026, 11, 29, 14, 15, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert new_version("cnn", eastern).startswith("20261129-191500-cnn-")


def _copy(saved: Path, destination: Path) -> Path:
    destination.mkdir()
    for path in saved.iterdir():
        (destination / path.name).write_bytes(path.read_bytes())
    return destination


@pytest.mark.parametrize("name", [MODEL_FILE, VECTORIZER_FILE, METADATA_FILE])
def test_a_tampered_file_is_refused(saved: Path, tmp_path: Path, name: str) -> None:
    copy = _copy(saved, tmp_path / saved.name)
    path = copy / name
    if name == VECTORIZER_FILE:
        # Still a valid vectorizer, only with two words swapped: it loads, but scores wrong.
        payload = json.loads(path.read_text())
        words = payload["vocabulary"]
        words[-1], words[-2] = words[-2], words[-1]
        path.write_text(json.dumps(payload))
    elif name == METADATA_FILE:
        payload = json.loads(path.read_text())
        payload["model"]["name"] = "mlp"
        path.write_text(json.dumps(payload))
    else:
        path.write_bytes(path.read_bytes() + b"\0")  # a zip with trailing bytes still loads
    with pytest.raises(DataError, match=rf"{name}.*does not match") as caught:
        load_bundle(copy)
    assert len(str(caught.value).rstrip(".").split(". ")) == 1  # one sentence


def test_a_bundle_without_complete_checksums_is_refused(saved: Path, tmp_path: Path) -> None:
    # Deleting checksums.json must not turn verification off: with altered weights the
    # bundle would otherwise score under the genuine version.
    copy = _copy(saved, tmp_path / saved.name)
    (copy / MODEL_FILE).write_bytes((copy / MODEL_FILE).read_bytes() + b"\0")
    (copy / CHECKSUMS_FILE).unlink()
    for read in (load_bundle, read_bundle):
        with pytest.raises(DataError, match=r"has no checksums\.json, so its files cannot be"):
            read(copy)
    # Checksums that leave out a file the bundle must hold vouch for nothing about it.
    payload = json.loads((saved / CHECKSUMS_FILE).read_text())
    del payload["files"][MODEL_FILE]
    (copy / CHECKSUMS_FILE).write_text(json.dumps(payload))
    for read in (load_bundle, read_bundle):
        with pytest.raises(DataError, match=rf"records no checksum for {MODEL_FILE}") as caught:
            read(copy)
        assert len(str(caught.value).rstrip(".").split(". ")) == 1  # one sentence
    assert load_bundle(saved).verified is True


def test_checksums_that_are_not_json_are_refused(saved: Path, tmp_path: Path) -> None:
    copy = _copy(saved, tmp_path / saved.name)
    (copy / CHECKSUMS_FILE).write_text("{")
    with pytest.raises(DataError, match=CHECKSUMS_FILE):
        load_bundle(copy)


@pytest.fixture(scope="module")
def profiled(
    tmp_path_factory: pytest.TempPathFactory, vectorizer: Vectorizer, trained: keras.Model
) -> Path:
    """A bundle saved with the profile of its training texts, a curve and a threshold."""
    directory = tmp_path_factory.mktemp("profiled") / new_version("cnn")
    metadata = {
        "model": {"name": "cnn"},
        "decision_threshold": {"value": 0.42},
        "calibration": {"method": "platt", "slope": 0.5, "intercept": -0.25},
    }
    profile = profile_texts([pa.array(TEXTS)], vectorizer)
    extra = {"training_curve.png": b"\x89PNG not really"}
    return save_bundle(directory, trained, vectorizer, metadata, extra, profile=profile)


def test_read_bundle_gives_identity_threshold_calibration_and_the_training_profile(
    profiled: Path, vectorizer: Vectorizer
) -> None:
    resolved = read_bundle(profiled, "path")
    assert (resolved.version, resolved.directory, resolved.source) == (
        profiled.name,
        profiled,
        "path",
    )
    assert resolved.location == str(profiled)
    assert resolved.threshold == 0.42 == resolved.identity.threshold
    assert (resolved.calibration.slope, resolved.calibration.intercept) == (0.5, -0.25)
    # The profile of the texts the model was fitted on, as saved.
    assert resolved.profile == profile_texts([pa.array(TEXTS)], vectorizer)
    assert resolved.profile.rows == len(TEXTS)
    assert resolved.profile.word_tokens == sum(len(text.split()) for text in TEXTS)
    assert resolved.metadata["model"] == {"name": "cnn"}
    # The same bundle, loaded: the same threshold and calibration.
    bundle = load_bundle(profiled)
    assert bundle.verified and bundle.threshold == resolved.threshold
    assert bundle.calibration == resolved.calibration


def test_checksums_cover_every_file_saved_with_the_bundle(profiled: Path) -> None:
    recorded = json.loads((profiled / CHECKSUMS_FILE).read_text())["files"]
    assert set(recorded) == {path.name for path in profiled.iterdir()} - {CHECKSUMS_FILE}
    assert PROFILE_FILE in recorded and "training_curve.png" in recorded


@pytest.mark.parametrize("name", [PROFILE_FILE, "training_curve.png"])
def test_a_changed_profile_or_extra_file_is_refused(
    profiled: Path, tmp_path: Path, name: str
) -> None:
    copy = _copy(profiled, tmp_path / profiled.name)
    path = copy / name
    if name == PROFILE_FILE:
        payload = json.loads(path.read_text())
        payload["profile"]["oov_tokens"] += 1  # still a valid profile, only a wrong one
        path.write_text(json.dumps(payload))
    else:
        path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(DataError, match=rf"{name}.*does not match the checksum") as caught:
        load_bundle(copy)
    assert len(str(caught.value).rstrip(".").split(". ")) == 1  # one sentence
    if name == PROFILE_FILE:
        with pytest.raises(DataError, match=rf"{name}.*does not match the checksum"):
            read_bundle(copy)
    # A recorded file removed is refused too.
    path.unlink()
    with pytest.raises(DataError, match=rf"{name} is missing"):
        load_bundle(copy)


def test_a_bundle_without_a_profile_has_no_reference(
    saved: Path, profiled: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert read_bundle(saved).profile is None
    # A profile its checksums do not record (dropped in later) is not the bundle's.
    copy = _copy(saved, tmp_path / saved.name)
    (copy / PROFILE_FILE).write_bytes((profiled / PROFILE_FILE).read_bytes())
    with caplog.at_level("WARNING"):
        assert read_bundle(copy).profile is None
    assert PROFILE_FILE in caplog.text
    assert load_bundle(copy).verified


@pytest.fixture(scope="module")
def nbsvm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_nbsvm(tmp_path_factory.mktemp("linear") / "v-nbsvm", "pre", True)[0]


def _resigned(copy: Path, name: str, change: Callable[[dict], None]) -> None:
    """Change a JSON file of a bundle and record its new checksum: a bundle trained or
    written with the change, which the checksums alone cannot refuse."""
    path = copy / name
    payload = json.loads(path.read_text())
    change(payload)
    path.write_text(json.dumps(payload))
    checksums = json.loads((copy / CHECKSUMS_FILE).read_text())
    checksums["files"][name] = file_sha256(path)
    (copy / CHECKSUMS_FILE).write_text(json.dumps(checksums))


@pytest.mark.parametrize(
    ("name", "field", "value"),
    [
        (VECTORIZER_FILE, "config.max_length", 10**9),
        (VECTORIZER_FILE, "config.num_words", 10**12),
        (VECTORIZER_FILE, "config.negation_scope", -1),
        (METADATA_FILE, "decision_threshold.value", 7.5),
    ],
)
def test_bundle_settings_outside_sane_bounds_are_refused_at_load(
    nbsvm: Path, tmp_path: Path, name: str, field: str, value: object
) -> None:
    # A linear bundle loads without Keras, so nothing else would catch the setting
    # before scoring runs out of memory.
    copy = _copy(nbsvm, tmp_path / nbsvm.name)
    section, key = field.split(".")

    def change(payload: dict) -> None:
        payload.setdefault(section, {})[key] = value

    _resigned(copy, name, change)
    with pytest.raises(DataError, match=rf"{name} field {field} .*refused") as caught:
        load_bundle(copy)
    message = str(caught.value)
    assert len(message.rstrip(".").split(". ")) == 1 and "\n" not in message  # one sentence

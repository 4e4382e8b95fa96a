"""Model bundles: atomic save, safe loading, scoring, versions."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import keras
import numpy as np
import pytest

from sentiment.core.atomic import file_sha256
from sentiment.core.errors import DataError
from sentiment.encoding.config import VectorizerConfig
from sentiment.encoding.vectorizer import Vectorizer
from sentiment.encoding.vectorizer_file import VECTORIZER_FILE
from sentiment.encoding.vocabulary import fit_vectorizer
from sentiment.modeling.bundle import ModelBundle, load_bundle, new_version, save_bundle
from sentiment.modeling.bundle_files import CHECKSUMS_FILE, METADATA_FILE, MODEL_FILE
from sentiment.modeling.profile import PROFILE_FILE
from sentiment.modeling.resolved_bundle import read_bundle
from sentiment.modeling.zoo import build_model
from tests.support.bundles import CNN_TEXTS, copy_bundle, save_nbsvm


def test_bundle_holds_the_three_files_and_no_temporaries(cnn_bundle: Path) -> None:
    assert {path.name for path in cnn_bundle.iterdir()} == {
        MODEL_FILE,
        VECTORIZER_FILE,
        METADATA_FILE,
        CHECKSUMS_FILE,
    }
    assert [path.name for path in cnn_bundle.parent.iterdir()] == [cnn_bundle.name]
    metadata = json.loads((cnn_bundle / METADATA_FILE).read_text())
    assert metadata["version"] == cnn_bundle.name


def test_round_trip_scores_identically(
    cnn_bundle: Path, cnn_vectorizer: Vectorizer, cnn_model: keras.Model
) -> None:
    bundle = load_bundle(cnn_bundle)
    assert bundle.version == cnn_bundle.name
    assert bundle.model_name == "cnn"
    assert bundle.vectorizer.config == cnn_vectorizer.config
    token_ids = cnn_vectorizer.encode(CNN_TEXTS)
    original = ModelBundle(cnn_bundle, cnn_bundle.name, cnn_model, cnn_vectorizer, {})
    scores = bundle.predict_token_ids(token_ids, batch_size=8)
    assert scores.dtype == np.float32 and scores.shape == (len(CNN_TEXTS),)
    np.testing.assert_array_equal(scores, original.predict_token_ids(token_ids, batch_size=8))
    # Batch boundaries only change float rounding, and Keras' own predict agrees.
    np.testing.assert_allclose(scores, bundle.predict_token_ids(token_ids, batch_size=3), atol=1e-6)
    np.testing.assert_allclose(scores, cnn_model.predict(token_ids, verbose=0).ravel(), atol=1e-6)
    assert scores.std() > 0


def test_predict_texts_marks_missing_texts_nan(cnn_bundle: Path) -> None:
    bundle = load_bundle(cnn_bundle)
    scores = bundle.predict_texts(["a great film", None, "", "   ", 7, "awful plot"])  # type: ignore[list-item]
    assert scores.dtype == np.float32
    assert np.isnan(scores[[1, 2, 3, 4]]).all()
    assert np.isfinite(scores[[0, 5]]).all()
    expected = bundle.predict_token_ids(bundle.vectorizer.encode(["a great film", "awful plot"]))
    np.testing.assert_array_equal(scores[[0, 5]], expected)
    assert bundle.predict_texts([]).shape == (0,)


def test_wrong_token_shape_is_a_data_error(cnn_bundle: Path) -> None:
    bundle = load_bundle(cnn_bundle)
    with pytest.raises(DataError, match=r"max_length|shape"):
        bundle.predict_token_ids(np.zeros((2, 3), np.int32))


@pytest.mark.parametrize("name", [MODEL_FILE, VECTORIZER_FILE, METADATA_FILE])
def test_missing_file_is_named(cnn_bundle: Path, tmp_path: Path, name: str) -> None:
    copy = tmp_path / cnn_bundle.name
    copy.mkdir()
    for path in cnn_bundle.iterdir():
        if path.name != name:
            (copy / path.name).write_bytes(path.read_bytes())
    with pytest.raises(DataError, match=name):
        load_bundle(copy)


@pytest.mark.parametrize("name", [MODEL_FILE, METADATA_FILE])
def test_corrupt_file_is_named(cnn_bundle: Path, tmp_path: Path, name: str) -> None:
    copy = tmp_path / cnn_bundle.name
    copy.mkdir()
    for path in cnn_bundle.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    (copy / name).write_bytes(b"not what it should be")
    with pytest.raises(DataError, match=name):
        load_bundle(copy)


def test_vocabulary_larger_than_the_embedding_is_refused(tmp_path: Path) -> None:
    small = fit_vectorizer(CNN_TEXTS, VectorizerConfig(num_words=10, max_length=8))
    large = fit_vectorizer(CNN_TEXTS, VectorizerConfig(num_words=40, max_length=8))
    directory = save_bundle(
        tmp_path / "mismatch", build_model("mlp", small.config), large, {"model": {"name": "mlp"}}
    )
    with pytest.raises(DataError, match="num_words"):
        load_bundle(directory)


def test_model_file_with_custom_code_is_refused(tmp_path: Path, cnn_vectorizer: Vectorizer) -> None:
    inputs = keras.Input(shape=(cnn_vectorizer.config.max_length,), dtype="int32")
    x = keras.layers.Embedding(cnn_vectorizer.config.num_words, 2)(inputs)
    x = keras.layers.Lambda(lambda tensor: tensor * 2.0)(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Flatten()(x))
    directory = save_bundle(
        tmp_path / "lambda", keras.Model(inputs, outputs), cnn_vectorizer, {"model": {"name": "x"}}
    )
    with pytest.raises(DataError, match=MODEL_FILE):
        load_bundle(directory)


def test_a_failed_save_leaves_nothing(tmp_path: Path, cnn_vectorizer: Vectorizer) -> None:
    class Exploding:
        def save(self, path: Path) -> None:
            Path(path).write_bytes(b"half")
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        save_bundle(tmp_path / "broken", Exploding(), cnn_vectorizer, {})  # type: ignore[arg-type]
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


@pytest.mark.parametrize("name", [MODEL_FILE, VECTORIZER_FILE, METADATA_FILE])
def test_a_tampered_file_is_refused(cnn_bundle: Path, tmp_path: Path, name: str) -> None:
    copy = copy_bundle(cnn_bundle, tmp_path / cnn_bundle.name)
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


def test_a_bundle_without_complete_checksums_is_refused(cnn_bundle: Path, tmp_path: Path) -> None:
    # Deleting checksums.json must not turn verification off: with altered weights the
    # bundle would otherwise score under the genuine version.
    copy = copy_bundle(cnn_bundle, tmp_path / cnn_bundle.name)
    (copy / MODEL_FILE).write_bytes((copy / MODEL_FILE).read_bytes() + b"\0")
    (copy / CHECKSUMS_FILE).unlink()
    for read in (load_bundle, read_bundle):
        with pytest.raises(DataError, match=r"has no checksums\.json, so its files cannot be"):
            read(copy)
    # Checksums that leave out a file the bundle must hold vouch for nothing about it.
    payload = json.loads((cnn_bundle / CHECKSUMS_FILE).read_text())
    del payload["files"][MODEL_FILE]
    (copy / CHECKSUMS_FILE).write_text(json.dumps(payload))
    for read in (load_bundle, read_bundle):
        with pytest.raises(DataError, match=rf"records no checksum for {MODEL_FILE}") as caught:
            read(copy)
        assert len(str(caught.value).rstrip(".").split(". ")) == 1  # one sentence
    assert load_bundle(cnn_bundle).verified is True


def test_checksums_that_are_not_json_are_refused(cnn_bundle: Path, tmp_path: Path) -> None:
    copy = copy_bundle(cnn_bundle, tmp_path / cnn_bundle.name)
    (copy / CHECKSUMS_FILE).write_text("{")
    with pytest.raises(DataError, match=CHECKSUMS_FILE):
        load_bundle(copy)


def test_checksums_cover_every_file_saved_with_the_bundle(profiled_cnn_bundle: Path) -> None:
    recorded = json.loads((profiled_cnn_bundle / CHECKSUMS_FILE).read_text())["files"]
    assert set(recorded) == {path.name for path in profiled_cnn_bundle.iterdir()} - {CHECKSUMS_FILE}
    assert PROFILE_FILE in recorded and "training_curve.png" in recorded


@pytest.mark.parametrize("name", [PROFILE_FILE, "training_curve.png"])
def test_a_changed_profile_or_extra_file_is_refused(
    profiled_cnn_bundle: Path, tmp_path: Path, name: str
) -> None:
    copy = copy_bundle(profiled_cnn_bundle, tmp_path / profiled_cnn_bundle.name)
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
    copy = copy_bundle(nbsvm, tmp_path / nbsvm.name)
    section, key = field.split(".")

    def change(payload: dict) -> None:
        payload.setdefault(section, {})[key] = value

    _resigned(copy, name, change)
    with pytest.raises(DataError, match=rf"{name} field {field} .*refused") as caught:
        load_bundle(copy)
    message = str(caught.value)
    assert len(message.rstrip(".").split(". ")) == 1 and "\n" not in message  # one sentence

"""Training on a tiny synthetic home: smoke fits, bundles, reproducibility, failures."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import keras
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sentiment.core.errors import ConfigError, DataError, StageOutputMissingError
from sentiment.core.paths import HomeLayout
from sentiment.data.preprocess import find_processed, preprocess
from sentiment.encoding.config import VectorizerConfig
from sentiment.modeling import dataset
from sentiment.modeling.bundle import load_bundle
from sentiment.modeling.bundle_files import METADATA_FILE
from sentiment.modeling.calibration import best_threshold, fit_platt
from sentiment.modeling.config import MODEL_NAMES, TrainConfig, get_model_spec
from sentiment.modeling.fitting import TrainingDivergedError
from sentiment.modeling.profile import profile_texts
from sentiment.modeling.resolved_bundle import read_bundle
from sentiment.modeling.training import calibrate_logits, train
from sentiment.modeling.training_outputs import CURVE_FILE
from tests.support.reviews import cue_reviews

TINY_SEQUENCE = VectorizerConfig(num_words=40, max_length=16)
TINY_BAG = VectorizerConfig(num_words=200, max_length=48, ngram_max=3, bag=True)


@pytest.fixture(scope="module")
def raw_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with a tiny ingested train/test split and no processed data."""
    home = tmp_path_factory.mktemp("home")
    layout = HomeLayout(home)
    layout.raw_dir.mkdir(parents=True)
    pq.write_table(cue_reviews(240, 0, "train"), layout.raw_split("train"))
    pq.write_table(cue_reviews(60, 1, "test"), layout.raw_split("test"))
    return home


@pytest.fixture(scope="module")
def home(raw_home: Path) -> Path:
    """The tiny home preprocessed for every configuration used below."""
    for vectorizer in (TINY_SEQUENCE, TINY_BAG):
        preprocess(raw_home, TrainConfig(model="cnn", vectorizer=vectorizer).preprocess_config)
    return raw_home


def _config(model: str, **settings: object) -> TrainConfig:
    vectorizer = TINY_BAG if get_model_spec(model).bag_input else TINY_SEQUENCE
    defaults: dict[str, object] = {"epochs": 1, "batch_size": 16, "vectorizer": vectorizer}
    return TrainConfig(model=model, **{**defaults, **settings})  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.parametrize("model", MODEL_NAMES)
def test_one_epoch_smoke_fit_writes_a_working_bundle(home: Path, model: str) -> None:
    epochs_seen: list[tuple[int, dict[str, float]]] = []
    result = train(home, _config(model), on_epoch_end=lambda e, m: epochs_seen.append((e, m)))

    assert [epoch for epoch, _ in epochs_seen] == [1]
    assert math.isfinite(epochs_seen[0][1]["loss"])
    assert set(epochs_seen[0][1]) >= {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"}
    assert result.directory.parent == HomeLayout(home).models_dir
    assert result.directory.name == result.version and f"-{model}-" in result.version
    assert 0.0 <= result.validation_metrics["accuracy"] <= 1.0

    bundle = load_bundle(result.directory)
    scores = bundle.predict_texts(["great wonderful film", "awful boring plot", None])
    assert np.all((scores[:2] >= 0) & (scores[:2] <= 1)) and np.isnan(scores[2])
    assert (result.directory / CURVE_FILE).read_bytes().startswith(b"\x89PNG")

    metadata = json.loads((result.directory / METADATA_FILE).read_text())
    assert metadata["model"]["name"] == model
    assert metadata["model"]["epochs"] == 1 and metadata["seed"] == 42
    assert metadata["preprocessing"]["key"] == result.preprocessing_key
    assert set(metadata["data_fingerprints"]) == {"train", "validation", "vectorizer"}
    assert len(metadata["history"]) == 1
    assert metadata["validation_metrics"] == result.validation_metrics
    assert {"python", "tensorflow", "keras"} <= set(metadata["environment"])
    assert metadata["parameter_count"]["total"] == bundle.model.count_params()
    assert metadata["training_seconds"] > 0
    # Calibrated on the validation reviews and their sentences (one each here).
    validation_rows = dataset.inspect_split(_splits(home)[1]).num_rows
    assert metadata["calibration"]["rows"] == validation_rows
    assert metadata["calibration"]["short_texts"] == {"rows": validation_rows, "weight": 1.0}

    # The drift reference: the reviews it was trained on (train and validation rows of
    # the raw training split), through its own vectorizer, saved in the bundle.
    texts = pq.read_table(HomeLayout(home).raw_split("train")).column("text").to_pylist()
    profile = read_bundle(result.directory).profile
    assert profile is not None and profile.rows == len(texts) == 240
    assert profile.word_tokens == sum(len(text.split()) for text in texts)
    assert profile.length_quantile(0.5) == 10.0  # every review has 13 words: bin 10-19
    assert profile == profile_texts([pa.array(texts)], bundle.vectorizer)
    assert metadata["training_profile"]["inputs"] == ["raw/imdb/train.parquet"]


@pytest.mark.slow
def test_calibration_fits_the_validation_reviews_alone_without_sentences(home: Path) -> None:
    result = train(home, _config("nbsvm", calibration_sentences=0.0))
    calibration = result.metadata["calibration"]
    assert calibration["fitted_on"] == "validation" and "short_texts" not in calibration
    assert calibration["rows"] == dataset.inspect_split(_splits(home)[1]).num_rows


@pytest.mark.slow
def test_nbsvm_learns_the_cue_words(home: Path) -> None:
    result = train(home, _config("nbsvm", epochs=3, learning_rate=0.05))
    bundle = load_bundle(result.directory)
    scores = bundle.predict_texts(["great wonderful superb", "awful boring dull"])
    assert scores[0] > 0.5 > scores[1]
    assert result.validation_metrics["accuracy"] >= 0.9
    assert len(result.history) <= 3  # early stopping may end it sooner
    assert 1 <= result.best_epoch <= len(result.history)


@pytest.mark.slow
def test_a_fold_ensemble_is_one_linear_model_calibrated_out_of_fold(home: Path) -> None:
    pooled = sum(dataset.inspect_split(p).num_rows for p in _splits(home))
    epochs_seen: list[dict[str, float]] = []
    # No short-text prior: the compiled scorer then equals the Keras model on any text.
    config = _config("nbsvm", epochs=3, learning_rate=0.05, folds=3, short_text_prior=0.0)
    result = train(home, config, on_epoch_end=lambda e, m: epochs_seen.append(m))

    metadata = json.loads((result.directory / METADATA_FILE).read_text())
    folds = metadata["folds"]
    assert [fold["fold"] for fold in folds] == [1, 2, 3]
    assert sum(fold["held_out_rows"] for fold in folds) == pooled  # every review stops one
    assert all(fold["train_rows"] + fold["held_out_rows"] == pooled for fold in folds)
    assert {row["fold"] for row in epochs_seen} == {1, 2, 3}
    assert metadata["calibration"]["rows"] == pooled
    assert metadata["calibration"]["fitted_on"].startswith("out-of-fold")
    assert metadata["model"]["folds"] == 3
    assert result.validation_metrics["accuracy"] >= 0.9

    # One model: its Keras forward pass and the compiled linear scorer agree.
    bundle = load_bundle(result.directory)
    texts = ["great wonderful superb", "awful boring dull", "the film and a plot"]
    scores = bundle.predict_texts(texts)
    assert scores[0] > 0.5 > scores[1]
    ids = bundle.vectorizer.encode(texts)
    keras_scores = bundle.calibration.apply(bundle.model.predict(ids, verbose=0).reshape(-1))
    np.testing.assert_allclose(scores, keras_scores, atol=1e-5)


@pytest.mark.slow
def test_the_fold_ensemble_averages_its_fold_models(home: Path) -> None:
    from sentiment.modeling.folds import fold_assignment, train_fold_ensemble
    from sentiment.modeling.linear import folded_weights
    from sentiment.modeling.zoo import build_model

    vectorizer = TINY_BAG
    models: list[keras.Model] = []

    def fit(model: keras.Model, fold: int, data: object, stop: object) -> tuple[list, int]:
        model.fit(data, epochs=2, shuffle=False, verbose=0)
        models.append(model)
        return [{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.4}], 1

    ensemble = train_fold_ensemble(
        _splits(home),
        vectorizer.max_length,
        vectorizer.num_words,
        folds=3,
        seed=5,
        nb_alpha=1.0,
        batch_size=16,
        build=lambda seed: build_model("nbsvm", vectorizer, 0.05, seed),
        fit=fit,
    )
    per_fold = [folded_weights(model)[0].astype(np.float64) for model in models]  # type: ignore[index]
    np.testing.assert_allclose(ensemble.weights, np.mean(per_fold, axis=0), rtol=1e-5, atol=1e-7)

    ids = np.concatenate([dataset.load_arrays(p, vectorizer.max_length)[0] for p in _splits(home)])
    parts = fold_assignment(len(ids), 3, 5)
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(len(ids)))
    for held, weights in zip(parts, per_fold, strict=True):
        # Each review's out-of-fold logit comes from the one model that never trained on it.
        np.testing.assert_allclose(
            ensemble.out_of_fold_logits[held], weights[ids[held]].sum(axis=1), rtol=1e-6
        )
    assert [fold["best_epoch"] for fold in ensemble.folds] == [2, 2, 2]
    assert len(ensemble.history) == 6 and {row["fold"] for row in ensemble.history} == {1, 2, 3}


def _splits(home: Path) -> tuple[Path, Path]:
    processed = find_processed(home, _config("nbsvm").preprocess_config)
    return processed.split_path("train"), processed.split_path("validation")


@pytest.mark.slow
def test_same_seed_gives_the_same_validation_metrics(home: Path) -> None:
    first = train(home, _config("cnn", epochs=2, seed=7))
    second = train(home, _config("cnn", epochs=2, seed=7))
    other = train(home, _config("cnn", epochs=2, seed=8))
    assert first.version != second.version
    assert first.validation_metrics == second.validation_metrics
    assert [row["loss"] for row in first.history] == [row["loss"] for row in second.history]
    assert [row["loss"] for row in first.history] != [row["loss"] for row in other.history]


@pytest.mark.slow
def test_nan_loss_stops_and_saves_nothing(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sentiment.modeling.training as training

    real_build = training.build_model

    def build_diverging(*arguments: object, **settings: object) -> keras.Model:
        model = real_build(*arguments, **settings)  # type: ignore[arg-type]
        model.compile(
            optimizer="adam",
            loss=lambda truth, predicted: keras.ops.mean(predicted) * float("nan"),
        )
        return model

    monkeypatch.setattr(training, "build_model", build_diverging)
    before = _bundles(home)
    with pytest.raises(TrainingDivergedError, match="learning_rate"):
        train(home, _config("mlp", epochs=3))
    assert _bundles(home) == before


@pytest.mark.slow
def test_a_crash_mid_training_leaves_no_bundle(home: Path) -> None:
    before = _bundles(home)

    def crash(epoch: int, metrics: dict[str, float]) -> None:
        raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        train(home, _config("mlp", epochs=2), on_epoch_end=crash)
    assert _bundles(home) == before


@pytest.mark.slow
def test_training_says_each_step_and_how_far_each_epoch_got(
    home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="sentiment.modeling"):
        train(home, _config("nbsvm", epochs=2), progress_seconds=0)
    lines = [record.getMessage() for record in caplog.records]
    assert lines[0] == "Training nbsvm: started."
    for step in (
        "reading the processed data",
        "naive-Bayes ratios of the training split",
        "calibrating the scores",
        "profiling the training reviews (scoring's drift reference)",
    ):
        assert f"Training nbsvm: {step}." in lines
    batches = -(-dataset.inspect_split(_splits(home)[0]).num_rows // 16)
    for epoch in (1, 2):
        phase = f"Training nbsvm, epoch {epoch}/2"
        assert f"{phase} ({batches} batches): started." in lines
        # Every batch may be counted; the last one always is.
        counted = [line for line in lines if line.startswith(f"{phase}: ")]
        assert counted and all(" of " in line for line in counted)
        assert any(line.startswith(f"{phase}: {batches} of {batches} batches") for line in counted)


def _bundles(home: Path) -> list[str]:
    models = HomeLayout(home).models_dir
    return sorted(path.name for path in models.iterdir()) if models.exists() else []


def test_unknown_model_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as raised:
        TrainConfig(model="bert")
    assert all(name in str(raised.value) for name in MODEL_NAMES)


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"epochs": 0}, "epochs"),
        ({"batch_size": -1}, "batch_size"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"folds": 0}, "folds"),
        ({"folds": 3}, "folds"),  # cnn is not linear: its fold models cannot be averaged
        ({"decision_threshold": "youden"}, "decision_threshold"),
        ({"calibration_sentences": -1.0}, "calibration_sentences"),
    ],
)
def test_bad_settings_name_the_setting(settings: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        TrainConfig(model="cnn", **settings)  # type: ignore[arg-type]


def test_the_decision_threshold_is_calibrated_one_half_unless_max_accuracy_is_asked() -> None:
    generator = np.random.default_rng(3)
    labels = (np.arange(400) % 2).astype(np.int64)
    logits = np.where(labels == 1, 1.0, -1.0) * 1.5 + generator.normal(0.0, 1.5, labels.size)
    calibrated = fit_platt(logits, labels).apply_logits(logits)
    best, best_accuracy = best_threshold(calibrated, labels)
    assert best != 0.5  # the accuracy-maximizing cut of these scores is not at one half

    default = calibrate_logits(logits, labels, "validation")["decision_threshold"]
    assert default["value"] == 0.5 and default["rule"] == "calibrated"
    assert default["validation_accuracy"] == np.mean((calibrated >= 0.5) == (labels == 1))
    # The other cut is still recorded, so a user can see what choosing it would give.
    assert default["max_accuracy_threshold"] == best

    chosen = calibrate_logits(logits, labels, "validation", "max-accuracy")["decision_threshold"]
    assert chosen["value"] == best and chosen["validation_accuracy"] == best_accuracy


def test_missing_preprocessing_names_the_command(raw_home: Path) -> None:
    config = _config("cnn", vectorizer=VectorizerConfig(num_words=41, max_length=16))
    with pytest.raises(StageOutputMissingError, match=r"sentiment .*preprocess"):
        train(raw_home, config)


def test_dataset_streams_every_row_shuffled_and_reproducibly(home: Path) -> None:
    config = _config("cnn")
    from sentiment.data.preprocess import find_processed

    path = find_processed(home, config.preprocess_config).directory / "train.parquet"
    token_ids, labels = dataset.load_arrays(path)
    assert token_ids.dtype == np.int32 and token_ids.shape[1] == TINY_SEQUENCE.max_length

    def epoch_labels(seed: int) -> np.ndarray:
        stream = dataset.make_dataset(path, batch_size=32, shuffle=True, seed=seed)
        batches = list(stream.as_numpy_iterator())
        assert all(ids.shape[1] == TINY_SEQUENCE.max_length for ids, _ in batches)
        return np.concatenate([ids[:, -1] for ids, _ in batches])

    first = epoch_labels(3)
    assert len(first) == len(labels)
    assert sorted(first) == sorted(token_ids[:, -1])
    np.testing.assert_array_equal(first, epoch_labels(3))
    assert not np.array_equal(first, token_ids[:, -1])


def test_dataset_refuses_a_file_without_token_ids(tmp_path: Path) -> None:
    path = tmp_path / "train.parquet"
    pq.write_table(pa.table({"label": pa.array([1], pa.int8())}), path)
    with pytest.raises(DataError, match="token_ids"):
        dataset.inspect_split(path)


@pytest.mark.slow
def test_training_removes_the_temporaries_a_killed_training_left(home: Path) -> None:
    from tests.support.temporaries import dead_pid, plant_orphans

    orphans = plant_orphans(HomeLayout(home).models_dir, dead_pid())

    def crash(epoch: int, metrics: dict[str, float]) -> None:
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        train(home, _config("mlp", epochs=1), on_epoch_end=crash)
    assert not any(path.exists() for path in orphans)

"""The ``train`` flow and ``sentiment train``: preprocessing on demand, bundle, artifacts."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from cli.main import main
from flows.train import train_flow
from sentiment.core.errors import StageOutputMissingError
from sentiment.core.paths import HomeLayout
from sentiment.encoding.config import VectorizerConfig
from sentiment.modeling.bundle import load_bundle
from sentiment.modeling.config import TrainConfig
from tests.support.reviews import cue_reviews


@pytest.fixture
def raw_home(tmp_path: Path) -> Path:
    layout = HomeLayout(tmp_path / "home")
    layout.raw_dir.mkdir(parents=True)
    pq.write_table(cue_reviews(200, 0, "train"), layout.raw_split("train"))
    pq.write_table(cue_reviews(40, 1, "test"), layout.raw_split("test"))
    return layout.home


def test_train_flow_preprocesses_trains_and_publishes(raw_home: Path) -> None:
    with pytest.raises(StageOutputMissingError, match="preprocess"):
        train_flow(
            home=str(raw_home),
            training=TrainConfig(
                model="cnn",
                epochs=1,
                vectorizer=VectorizerConfig(num_words=40, max_length=16),
                preprocess=False,
            ),
        )

    result = train_flow(
        home=str(raw_home),
        training=TrainConfig(
            model="cnn",
            epochs=1,
            batch_size=16,
            vectorizer=VectorizerConfig(num_words=40, max_length=16),
        ),
    )

    bundle = load_bundle(Path(result["bundle"]))
    assert bundle.version == result["version"]
    assert (bundle.vectorizer.config.num_words, bundle.vectorizer.config.max_length) == (40, 16)
    assert result["epochs_run"] == 1
    assert 0.0 <= result["validation_metrics"]["accuracy"] <= 1.0
    assert len(list(HomeLayout(raw_home).processed_dir.iterdir())) == 1

    with get_client(sync_client=True) as client:
        curves = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["training-curve-cnn"]))
        )
        progress = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["training-progress-cnn"]))
        )
    assert curves and "val_loss" in str(curves[0].data)
    # The refused run above published its own progress (0%); this run's reached 100%.
    assert 100.0 in [float(artifact.data) for artifact in progress]


def test_cli_rejects_an_unknown_model_in_one_line(
    raw_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["--home", str(raw_home), "train", "--model", "gpt"])
    error = capsys.readouterr().err.strip()
    assert status == 1
    assert "\n" not in error and "mlp" in error and "cnn" in error
    assert not HomeLayout(raw_home).models_dir.exists()


def test_preprocess_then_train_with_the_same_settings_preprocesses_once(raw_home: Path) -> None:
    from flows.preprocess import preprocess_flow

    vectorizer = VectorizerConfig(num_words=40, max_length=16)
    training = TrainConfig(model="mlp", epochs=1, vectorizer=vectorizer)
    processed = preprocess_flow(home=str(raw_home), training=training)
    assert not processed["cache_hit"]
    result = train_flow(home=str(raw_home), training=replace(training, preprocess=False))
    assert result["preprocessing_key"] == processed["key"]
    assert [path.name for path in HomeLayout(raw_home).processed_dir.iterdir()] == [
        processed["key"]
    ]


def test_train_command_with_folds_saves_one_averaged_model(
    raw_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny_bag = ["--num-words", "200", "--max-length", "48", "--ngram-max", "3", "--bag"]
    arguments = ["--home", str(raw_home), "train", "--model", "nbsvm", "--folds", "3"]
    threshold = ["--decision-threshold", "max-accuracy"]
    status = main([*arguments, "--epochs", "3", "--learning-rate", "0.05", *threshold, *tiny_bag])
    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert status == 0
    assert "(out-of-fold accuracy " in last_line
    (directory,) = HomeLayout(raw_home).models_dir.iterdir()
    bundle = load_bundle(directory)
    assert [fold["fold"] for fold in bundle.metadata["folds"]] == [1, 2, 3]
    assert bundle.metadata["decision_threshold"]["rule"] == "max-accuracy"
    assert bundle.threshold == bundle.metadata["decision_threshold"]["max_accuracy_threshold"]
    scores = bundle.predict_texts(["great wonderful superb", "awful boring dull"])
    assert scores[0] > 0.5 > scores[1]

    # A model that is not linear cannot be averaged: one sentence, nothing written.
    status = main([*arguments[:3], "--model", "cnn", "--folds", "3"])
    error = capsys.readouterr().err.strip()
    assert status == 1 and "\n" not in error and "folds" in error
    assert len(list(HomeLayout(raw_home).models_dir.iterdir())) == 1

"""Drift is judged against the data the bundle was trained on, whatever the home holds.

A bundle is trained on reviews A; afterwards the home's raw training split is replaced
by very different reviews B (or the bundle is scored from another home, or from a
bucket). Scoring A itself must then find the batch's figures equal to the training
figures: the reference travels inside the bundle, covered by its checksums.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from flows.score import score_flow
from sentiment.core.errors import DataError
from sentiment.core.paths import HomeLayout
from sentiment.data.preprocess import preprocess
from sentiment.encoding.config import VectorizerConfig
from sentiment.modeling.config import TrainConfig
from sentiment.modeling.training import train
from tests.support.bundles import promoted_home
from tests.support.registry import promote_bundle
from tests.support.s3_server import BUCKET

WORDS = [f"word{index}" for index in range(40)]
CONFIG = TrainConfig(
    model="mlp",
    epochs=1,
    batch_size=16,
    # Fewer ids than words: the training data has out-of-vocabulary tokens of its own.
    vectorizer=VectorizerConfig(num_words=24, max_length=16),
)


def _reviews(count: int, seed: int, words: list[str], lengths: tuple[int, int]) -> pa.Table:
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(words, rng.integers(*lengths))) for _ in range(count)]
    return pa.table(
        {
            "review_id": [f"{seed}-{index}" for index in range(count)],
            "text": texts,
            "label": pa.array(np.arange(count) % 2, pa.int8()),
        }
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, pa.Table]:
    """A home whose champion was trained on reviews A, and whose raw training split was
    replaced by reviews B afterwards; returns the home, the bundle and A."""
    home = tmp_path_factory.mktemp("home")
    layout = HomeLayout(home)
    layout.raw_dir.mkdir(parents=True)
    data_a = _reviews(160, 0, WORDS, (5, 30))
    pq.write_table(data_a, layout.raw_split("train"))
    pq.write_table(_reviews(40, 1, WORDS, (5, 30)), layout.raw_split("test"))
    preprocess(home, CONFIG.preprocess_config, workers=1)
    result = train(home, CONFIG)
    promote_bundle(home, result.version)
    # B: long reviews of words the model never saw.
    unknown = [f"other{index}" for index in range(500)]
    pq.write_table(_reviews(160, 2, unknown, (200, 400)), layout.raw_split("train"))
    return home, result.directory, data_a


def _dump(data: pa.Table, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "reviews.parquet"
    pq.write_table(data.select(["review_id", "text"]), path)
    return path


def _assert_judged_against(summary: dict, data: str) -> None:
    """Scoring the training data itself: every figure equals training's."""
    assert summary["training_oov_rate"] is not None, data
    assert summary["training_oov_rate"] == summary["oov_rate"], data
    assert summary["training_length_quantiles"] == summary["length_quantiles"], data
    checks = {check["measure"]: check for check in summary["drift"]["checks"]}
    assert not checks["out-of-vocabulary rate"]["exceeded"], data
    assert not checks["median review length (words)"]["exceeded"], data


def test_the_registry_bundle_is_judged_against_its_training_data_not_the_home(
    trained: tuple[Path, Path, pa.Table], tmp_path: Path
) -> None:
    home, _, data_a = trained
    summary = score_flow(
        [str(_dump(data_a, tmp_path / "in"))], str(tmp_path / "out"), home=str(home)
    )
    _assert_judged_against(summary, "champion")
    assert summary["rows"] == data_a.num_rows
    # The home's data does not count: nothing is cached in the home either.
    assert not (HomeLayout(home).cache_dir / "training-profiles").exists()


def test_an_explicit_bundle_from_another_home_brings_its_reference(
    trained: tuple[Path, Path, pa.Table], tmp_path: Path
) -> None:
    _, bundle, data_a = trained
    other = tmp_path / "other-home"  # no raw data, no registry
    copy = shutil.copytree(bundle, tmp_path / "elsewhere" / bundle.name)
    as_given = {path.name: path.read_bytes() for path in copy.iterdir()}
    dump = _dump(data_a, tmp_path / "in")
    summary = score_flow([str(dump)], str(tmp_path / "out"), home=str(other), bundle=str(copy))
    _assert_judged_against(summary, "--bundle")
    assert {path.name: path.read_bytes() for path in copy.iterdir()} == as_given

    # The reference is covered by the bundle's checksums: a changed one is refused.
    profile_file = next(path for path in copy.iterdir() if "profile" in path.name)
    payload = json.loads(profile_file.read_text())
    payload["profile"]["oov_tokens"] += 1
    profile_file.write_text(json.dumps(payload))
    with pytest.raises(DataError, match=rf"{profile_file.name}.*does not match the checksum"):
        score_flow([str(dump)], str(tmp_path / "x"), home=str(other), bundle=str(copy))


def test_a_bundle_without_a_training_profile_is_not_judged(tmp_path: Path) -> None:
    texts = ["a great film, great acting", "an awful film, awful plot"] * 10
    home = promoted_home(tmp_path / "home", texts)
    # The home's raw split is no reference for a bundle that does not carry its own.
    HomeLayout(home).raw_dir.mkdir(parents=True)
    pq.write_table(pa.table({"text": texts}), HomeLayout(home).raw_split("train"))
    source = tmp_path / "in" / "reviews.jsonl"
    source.parent.mkdir()
    # Enough rows to be judged (DriftThresholds.minimum_rows) had there been a reference.
    source.write_text("".join(json.dumps({"text": text}) + "\n" for text in texts * 10))
    summary = score_flow([str(source)], str(tmp_path / "out"), home=str(home))
    assert summary["training_oov_rate"] is None
    assert summary["drift"]["status"] == "not judged"
    assert "training-data profile" in summary["drift"]["reason"]


def test_a_bundle_in_a_bucket_brings_its_reference(
    trained: tuple[Path, Path, pa.Table],
    s3: pafs.S3FileSystem,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SENTIMENT_BUNDLE_CACHE", str(tmp_path / "bundle-cache"))
    _, bundle, data_a = trained
    for path in sorted(bundle.iterdir()):
        with s3.open_output_stream(f"{BUCKET}/models/{bundle.name}/{path.name}") as stream:
            stream.write(path.read_bytes())
    url = f"s3://{BUCKET}/models/{bundle.name}"
    dump = _dump(data_a, tmp_path / "in")
    summary = score_flow(
        [str(dump)], str(tmp_path / "out"), home=str(tmp_path / "empty"), bundle=url
    )
    _assert_judged_against(summary, "s3 bundle")
    assert summary["model_source"] == "path"

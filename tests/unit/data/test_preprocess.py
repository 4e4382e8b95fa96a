"""The preprocessing stage on tiny synthetic raw Parquet."""

from __future__ import annotations

import json
import os
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import sentiment.data.workers as workers_module
from sentiment.core.errors import ConfigError, DataError, StageOutputMissingError
from sentiment.core.paths import HomeLayout
from sentiment.data.config import PreprocessConfig
from sentiment.data.preprocess import PROCESSED_SPLITS, find_processed, preprocess, validation_mask
from sentiment.encoding.config import VectorizerConfig
from sentiment.encoding.vectorizer import Vectorizer
from tests.support.raw_homes import RAW_SCHEMA, make_home, write_raw

SMALL = PreprocessConfig(vectorizer=VectorizerConfig(num_words=30, max_length=6))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return make_home(tmp_path / "home")


def read_split(directory: Path, split: str) -> pa.Table:
    return pq.read_table(directory / f"{split}.parquet")


def test_writes_every_split_with_the_contract_schema(home: Path) -> None:
    result = preprocess(home, SMALL)
    assert not result.cache_hit
    assert result.directory == home / "processed" / result.key
    for split in PROCESSED_SPLITS:
        table = read_split(result.directory, split)
        assert table.schema.field("review_id").type == pa.string()
        assert table.schema.field("label").type == pa.int8()
        assert table.schema.field("token_ids").type == pa.list_(pa.int32(), 6)
    rows = {split: read_split(result.directory, split).num_rows for split in PROCESSED_SPLITS}
    assert rows == {"train": 36, "validation": 4, "test": 20}
    assert result.manifest["rows"] == rows
    manifest = json.loads((result.directory / "manifest.json").read_text())
    assert manifest["settings"] == SMALL.to_dict()
    assert set(manifest["inputs"]) == {"train", "test"}
    assert 0.0 <= manifest["splits"]["test"]["oov_rate"] <= 1.0


def test_validation_split_is_stratified_seeded_and_from_train(home: Path) -> None:
    result = preprocess(home, SMALL)
    validation = read_split(result.directory, "validation")
    assert sorted(validation.column("label").to_pylist()) == [0, 0, 1, 1]
    train_ids = set(read_split(result.directory, "train").column("review_id").to_pylist())
    validation_ids = set(validation.column("review_id").to_pylist())
    assert not train_ids & validation_ids
    assert all(review_id.startswith("train/") for review_id in validation_ids)
    assert len(train_ids | validation_ids) == 40
    labels = np.array([1, 0] * 50, np.int8)
    mask = validation_mask(labels, 0.2, seed=7)
    assert mask.sum() == 20 and labels[mask].sum() == 10
    assert (mask == validation_mask(labels, 0.2, seed=7)).all()
    assert (mask != validation_mask(labels, 0.2, seed=8)).any()


def test_token_ids_are_what_the_saved_vectorizer_encodes(home: Path) -> None:
    result = preprocess(home, SMALL)
    vectorizer = Vectorizer.load(result.directory / "vectorizer.json")
    raw = pq.read_table(home / "raw" / "imdb" / "test.parquet")
    test = read_split(result.directory, "test")
    stored = np.stack(test.column("token_ids").to_pylist())
    np.testing.assert_array_equal(stored, vectorizer.encode(raw.column("text").to_pylist()))
    assert test.column("review_id").to_pylist() == raw.column("review_id").to_pylist()


def test_vocabulary_never_sees_validation_or_test_words(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home")
    train = pq.read_table(HomeLayout(home).raw_split("train")).to_pydict()
    mask = validation_mask(np.array(train["label"], np.int8), SMALL.validation_fraction, 42)
    for row in np.flatnonzero(mask):
        train["text"][row] = "validationonlyword"
    write_raw(home, "train", pa.table(train, schema=RAW_SCHEMA))
    test = pq.read_table(HomeLayout(home).raw_split("test")).to_pydict()
    test["text"][0] = "testonlyword"
    write_raw(home, "test", pa.table(test, schema=RAW_SCHEMA))
    result = preprocess(home, SMALL)
    vocabulary = Vectorizer.load(result.directory / "vectorizer.json").vocabulary
    assert "validationonlyword" not in vocabulary
    assert "testonlyword" not in vocabulary
    assert result.manifest["splits"]["validation"]["oov_rate"] == 1.0


def test_rerun_is_a_cache_hit_and_a_new_setting_is_not(home: Path) -> None:
    first = preprocess(home, SMALL)
    modified = os.stat(first.directory / "train.parquet").st_mtime_ns
    second = preprocess(home, SMALL)
    assert second.cache_hit and second.key == first.key
    assert os.stat(second.directory / "train.parquet").st_mtime_ns == modified
    other = preprocess(home, PreprocessConfig(vectorizer=VectorizerConfig(30, 7)))
    assert not other.cache_hit and other.key != first.key


def test_changed_raw_data_makes_a_new_key(home: Path) -> None:
    first = preprocess(home, SMALL)
    table = pq.read_table(HomeLayout(home).raw_split("test"))
    write_raw(home, "test", table.slice(0, 10))
    with pytest.raises(StageOutputMissingError, match="sentiment --home"):
        find_processed(home, SMALL)
    second = preprocess(home, SMALL)
    assert second.key != first.key and second.manifest["rows"]["test"] == 10


def test_find_processed_says_which_command_to_run(home: Path) -> None:
    config = PreprocessConfig(
        vectorizer=VectorizerConfig(num_words=30, max_length=6, ngram_max=2, bag=True), seed=3
    )
    with pytest.raises(StageOutputMissingError) as missing:
        find_processed(home, config)
    message = str(missing.value)
    for part in (
        "preprocess",
        "--num-words 30",
        "--max-length 6",
        "--split-seed 3",
        "--ngram-max 2",
    ):
        assert part in message
    assert "--bag" in message
    written = preprocess(home, config)
    found = find_processed(home, config)
    assert found.key == written.key and found.directory == written.directory


def test_find_processed_without_raw_data_points_at_ingest(tmp_path: Path) -> None:
    with pytest.raises(StageOutputMissingError, match="ingest"):
        find_processed(tmp_path, SMALL)


def test_null_and_empty_texts_are_counted_not_fatal(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home")
    test = pq.read_table(HomeLayout(home).raw_split("test")).to_pydict()
    test["text"][0], test["text"][1], test["text"][2] = None, "", "..."
    write_raw(home, "test", pa.table(test, schema=RAW_SCHEMA))
    result = preprocess(home, SMALL)
    assert result.manifest["splits"]["test"]["empty_documents"] == 3
    stored = np.stack(read_split(result.directory, "test").column("token_ids").to_pylist())
    assert (stored[:3] == Vectorizer.PADDING_ID).all()
    assert (stored[3:].max(axis=1) > 0).all()


def test_missing_raw_file_is_named(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home")
    HomeLayout(home).raw_split("test").unlink()
    with pytest.raises(DataError, match=r"test\.parquet is missing.*ingest"):
        preprocess(home, SMALL)


def test_wrong_schema_names_file_and_column(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home")
    train = pq.read_table(HomeLayout(home).raw_split("train"))
    numbers = pa.array(range(train.num_rows), pa.int64())
    write_raw(home, "train", train.set_column(1, "text", numbers))
    with pytest.raises(DataError, match=r"Column 'text' of raw file .*train\.parquet is int64"):
        preprocess(home, SMALL)
    write_raw(home, "train", train.drop_columns(["label"]))
    with pytest.raises(DataError, match=r"train\.parquet has no 'label' column"):
        preprocess(home, SMALL)


def test_null_labels_are_refused(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home")
    train = pq.read_table(HomeLayout(home).raw_split("train")).to_pydict()
    train["label"][5] = None
    write_raw(home, "train", pa.table(train, schema=RAW_SCHEMA))
    with pytest.raises(DataError, match=r"Column 'label' of raw file .*null"):
        preprocess(home, SMALL)


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"validation_fraction": 0.0}, "validation_fraction"),
        ({"validation_fraction": 0.51}, "validation_fraction"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_settings_are_refused(settings: dict, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        PreprocessConfig(**settings)


def test_a_failure_leaves_no_directory_that_looks_complete(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(self: Vectorizer, path: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(Vectorizer, "save", explode)
    with pytest.raises(OSError, match="disk full"):
        preprocess(home, SMALL)
    processed = HomeLayout(home).processed_dir
    assert not any(processed.iterdir()) if processed.exists() else True
    monkeypatch.undo()
    assert not preprocess(home, SMALL).cache_hit


def test_batching_and_prefetching_do_not_change_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = preprocess(make_home(tmp_path / "plain"), SMALL)
    # Batches of 7 rows and row groups of 5 cross every split boundary.
    monkeypatch.setattr("sentiment.data.workers.RAW_BATCH_ROWS", 7)
    monkeypatch.setattr("sentiment.data.processed.ROW_GROUP_ROWS", 5)
    threaded = preprocess(make_home(tmp_path / "threaded"), SMALL, prefetch=True)
    assert plain.key == threaded.key
    for split in PROCESSED_SPLITS:
        assert read_split(plain.directory, split).equals(read_split(threaded.directory, split))
    assert pq.ParquetFile(threaded.directory / "train.parquet").metadata.num_row_groups > 1
    assert (plain.directory / "vectorizer.json").read_bytes() == (
        threaded.directory / "vectorizer.json"
    ).read_bytes()


@pytest.mark.parametrize("start_method", ["fork", "forkserver"])
def test_worker_processes_do_not_change_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start_method: str
) -> None:
    # Batches of 7 rows: 80 train and 40 test rows give every worker several batches.
    monkeypatch.setattr("sentiment.data.workers.RAW_BATCH_ROWS", 7)
    monkeypatch.setattr("sentiment.data.workers._start_method", lambda: start_method)
    pools: list[int] = []
    original_pool = workers_module.process_pool

    def spy(workers: int) -> object:
        pools.append(workers)
        return original_pool(workers)

    monkeypatch.setattr("sentiment.data.preprocess.process_pool", spy)
    single = preprocess(make_home(tmp_path / "single", 40, 20), SMALL, workers=1)
    assert pools == []
    parallel = preprocess(make_home(tmp_path / "parallel", 40, 20), SMALL, workers=2)
    assert pools == [2]
    assert single.key == parallel.key
    for split in PROCESSED_SPLITS:
        assert read_split(single.directory, split).equals(read_split(parallel.directory, split))
    assert (single.directory / "vectorizer.json").read_bytes() == (
        parallel.directory / "vectorizer.json"
    ).read_bytes()
    for field in ("rows", "splits", "vocabulary"):
        assert single.manifest[field] == parallel.manifest[field]
    # The same settings with another worker count are a cache hit, not a new key.
    assert preprocess(tmp_path / "single", SMALL, workers=2).cache_hit


@pytest.mark.parametrize("workers", [0, -1, True, 1.5])
def test_invalid_worker_counts_are_refused(tmp_path: Path, workers: object) -> None:
    with pytest.raises(ConfigError, match="workers"):
        preprocess(make_home(tmp_path), SMALL, workers=workers)  # type: ignore[arg-type]


def test_a_pool_that_cannot_start_falls_back_to_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("sentiment.data.workers.RAW_BATCH_ROWS", 7)
    reference = preprocess(make_home(tmp_path / "reference"), SMALL, workers=1)

    class BrokenPool(ThreadPoolExecutor):
        def submit(self, *arguments: object, **keywords: object) -> Future:
            raise BrokenProcessPool("a worker died at start-up")

    monkeypatch.setattr("sentiment.data.preprocess.process_pool", lambda workers: BrokenPool(1))
    with caplog.at_level("WARNING", logger="sentiment.data.preprocess"):
        fallback = preprocess(make_home(tmp_path / "fallback"), SMALL, workers=2)
    assert "preprocessing in this process" in caplog.text
    for split in PROCESSED_SPLITS:
        assert read_split(fallback.directory, split).equals(read_split(reference.directory, split))
    assert [path.name for path in fallback.directory.parent.iterdir()] == [fallback.key]


def test_preprocess_removes_the_temporaries_a_killed_run_left(home: Path) -> None:
    from tests.support.temporaries import dead_pid, plant_orphans

    orphans = plant_orphans(HomeLayout(home).processed_dir, dead_pid())
    live = HomeLayout(home).processed_dir / f".tmp-{os.getpid()}-11ve0000-key"
    live.mkdir()
    result = preprocess(home, SMALL)
    assert not any(path.exists() for path in orphans)
    assert live.exists()
    assert preprocess(home, SMALL).cache_hit and result.directory.exists()


def test_preprocessing_says_what_it_is_doing_and_how_many_reviews_are_done(
    home: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("sentiment.data.workers.RAW_BATCH_ROWS", 16)
    with caplog.at_level("INFO", logger="sentiment.data.preprocess"):
        preprocess(home, SMALL, workers=1, progress_seconds=0)
    lines = [
        record.getMessage()
        for record in caplog.records
        if record.name == "sentiment.data.preprocess"
    ]
    assert lines[0].startswith("Preprocessing 36 train, 4 validation and 20 test reviews from ")
    assert lines[1] == "Tokenizing the training split (40 reviews): started."
    # In batches of 16 rows: train (16, 16, 8), then it is encoded and written, then test.
    assert [line.split(" (")[0] for line in lines if " of 40 reviews" in line] == [
        f"Tokenizing the training split: {done} of 40 reviews" for done in (16, 32, 40)
    ]
    assert "Tokenizing the training split: fitting the vocabulary." in lines
    assert "Encoding and writing the splits (60 reviews): started." in lines
    assert [line.split(" (")[0] for line in lines if " of 60 reviews" in line] == [
        f"Encoding and writing the splits: {done} of 60 reviews" for done in (16, 32, 40, 56, 60)
    ]

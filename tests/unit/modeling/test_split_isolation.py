"""The test split is for evaluation only: training never reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from sentiment.core.paths import HomeLayout
from sentiment.data.preprocess import preprocess
from tests.support.bundles import TrainingRun, cue_home, tiny_train_config, watched_training
from tests.support.file_opens import inotify_available

pytestmark = pytest.mark.skipif(
    not inotify_available(), reason="watching file opens needs Linux inotify"
)


def _assert_the_test_split_was_not_read(run: TrainingRun) -> None:
    assert run.opened is not None and run.opened_to_find_processed is not None
    raw_test = HomeLayout(run.home).raw_split("test")
    assert run.opened[run.processed / "test.parquet"] == 0
    # Finding the processed data checks that the raw files are those it was made from:
    # it reads the raw test file's schema and fingerprint. Training opens it no more.
    assert run.opened[raw_test] == run.opened_to_find_processed[raw_test]
    # The watch sees what training does read.
    assert run.opened[run.processed / "train.parquet"] > 0
    assert run.opened[run.processed / "validation.parquet"] > 0


def test_training_never_opens_the_test_split(trained_bundle: TrainingRun) -> None:
    _assert_the_test_split_was_not_read(trained_bundle)


@pytest.mark.slow
def test_fold_ensemble_training_never_opens_the_test_split(tmp_path: Path) -> None:
    config = tiny_train_config(folds=3)
    home = cue_home(tmp_path / "home")
    preprocess(home, config.preprocess_config)
    _assert_the_test_split_was_not_read(watched_training(home, config))

"""The dataset report on a tiny ingested archive with known duplicates and lengths."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from sentiment.core.atomic import file_sha256
from sentiment.core.errors import StageOutputMissingError
from sentiment.core.paths import HomeLayout
from sentiment.data.ingest import ingest_imdb
from sentiment.data.report import build_dataset_report
from tests.support.imdb_tarball import build_archive

LONG_REVIEW = "good " * 501
REVIEWS = {
    "aclImdb/train/pos/0_9.txt": "Great film, great cast.",
    "aclImdb/train/pos/1_8.txt": LONG_REVIEW,
    "aclImdb/train/pos/2_7.txt": "Mixed feelings.",
    "aclImdb/train/neg/0_1.txt": "Dull.",
    "aclImdb/train/neg/1_2.txt": "Dull.",
    "aclImdb/train/neg/2_3.txt": "Dull.",
    "aclImdb/test/pos/0_10.txt": "Great film, great cast.",
    "aclImdb/test/pos/1_9.txt": "Loved it!",
    "aclImdb/test/neg/0_1.txt": "Dull.",
    "aclImdb/test/neg/1_4.txt": "Mixed feelings.",
    "aclImdb/train/unsup/0_0.txt": "Loved it!",
    "aclImdb/train/unsup/1_0.txt": "Saw it<br />twice.",
}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    archive = build_archive(tmp_path / "aclImdb_v1.tar.gz", REVIEWS)
    home = tmp_path / "home"
    ingest_imdb(str(archive), home, sha256=file_sha256(archive))
    return home


def test_report_figures(home: Path) -> None:
    report = build_dataset_report(home)

    train, test, unsup = (report.split(name) for name in ("train", "test", "unsup"))
    assert (train.reviews, train.positive, train.negative) == (6, 3, 3)
    assert (test.reviews, test.positive, test.negative) == (4, 2, 2)
    assert (unsup.reviews, unsup.positive, unsup.negative) == (2, 0, 0)

    # great film cast good mixed feelings dull loved it ! saw twice
    assert report.distinct_words == 12
    assert train.distinct_words == 7
    train_lengths = [4, 501, 2, 1, 1, 1]
    assert train.mean_words == pytest.approx(np.mean(train_lengths))
    assert train.std_words == pytest.approx(np.std(train_lengths))
    assert train.max_words == 501
    assert train.share_over_500_words == pytest.approx(1 / 6)
    assert test.share_over_500_words == 0.0
    # "loved it !" and "saw it twice": "<br />" is markup, not a word.
    assert unsup.mean_words == pytest.approx(3.0)

    assert (train.duplicated_texts, train.duplicate_rows) == (1, 2)
    assert (test.duplicated_texts, test.duplicate_rows) == (0, 0)
    assert report.cross("train", "test").texts == 3
    assert report.cross("test", "train").label_conflicts == 1
    assert report.cross("train", "unsup").texts == 0
    assert report.cross("test", "unsup").texts == 1
    assert report.cross("test", "unsup").label_conflicts is None


def test_report_files_are_written(home: Path) -> None:
    report = build_dataset_report(home)
    reports_dir = HomeLayout(home).reports_dir

    assert report.markdown_path == reports_dir / "dataset.md"
    markdown = report.markdown_path.read_text(encoding="utf-8")
    assert markdown == report.markdown
    assert "| train | 6 | 3 | 3 | 50.0 % |" in markdown
    assert "| train & test | 3 | 1 |" in markdown
    assert "16.7 %" in markdown
    assert "![Review lengths by split](dataset_lengths.png)" in markdown
    assert report.figure_path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    figures = json.loads(report.figures_path.read_text(encoding="utf-8"))
    assert figures["distinct_words"] == 12
    assert sorted(path.name for path in reports_dir.iterdir()) == [
        "dataset.json",
        "dataset.md",
        "dataset_lengths.png",
    ]


def test_rerun_reuses_the_report_until_the_data_changes(home: Path, tmp_path: Path) -> None:
    first = build_dataset_report(home)
    second = build_dataset_report(home)
    assert (first.cache_hit, second.cache_hit) == (False, True)
    assert second.splits == first.splits
    assert second.cross_split == first.cross_split
    assert second.markdown == first.markdown
    assert build_dataset_report(home, force=True).cache_hit is False

    changed = {**REVIEWS, "aclImdb/test/pos/2_8.txt": "Another one."}
    archive = build_archive(tmp_path / "changed.tar.gz", changed)
    ingest_imdb(str(archive), home, sha256=file_sha256(archive))
    third = build_dataset_report(home)

    assert third.cache_hit is False
    assert third.split("test").reviews == 5


def test_report_without_raw_data_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(StageOutputMissingError, match="sentiment ingest"):
        build_dataset_report(tmp_path / "empty-home")


def test_building_the_report_says_what_it_is_doing(
    home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="sentiment.data.report"):
        build_dataset_report(home, progress_seconds=0)
    lines = [record.getMessage() for record in caplog.records]
    assert lines[0] == "Dataset report (12 reviews): started."
    assert "Dataset report: words, lengths and duplicates of the train split." in lines
    assert [line.split(" after")[0] for line in lines if " of 12 reviews" in line] == [
        "Dataset report: 6 of 12 reviews (50%)",
        "Dataset report: 10 of 12 reviews (83%)",
        "Dataset report: 12 of 12 reviews (100%)",
    ]
    assert any(line.startswith("Dataset report: done 12 reviews in ") for line in lines)

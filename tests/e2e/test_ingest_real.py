"""Ingestion and the dataset report on the real IMDB archive (skipped where it is absent)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from sentiment.core.paths import HomeLayout
from sentiment.data.imdb_members import RAW_SCHEMA
from sentiment.data.ingest import ingest_imdb
from sentiment.data.report import build_dataset_report


def test_real_archive_has_the_published_shape(imdb_home: Path) -> None:
    layout = HomeLayout(imdb_home)
    expected_rows = {"train": 25_000, "test": 25_000, "unsup": 50_000}
    for split, rows in expected_rows.items():
        table = pq.read_table(layout.raw_split(split))
        assert table.schema.equals(RAW_SCHEMA)
        assert table.num_rows == rows
        assert pc.count_distinct(table.column("review_id")).as_py() == rows
        if split == "unsup":
            assert table.column("label").null_count == rows
            assert pc.unique(table.column("rating")).to_pylist() == [0]
        else:
            counts = pc.value_counts(table.column("label")).to_pylist()
            assert sorted((item["values"], item["counts"]) for item in counts) == [
                (0, 12_500),
                (1, 12_500),
            ]
            # Ratings 1-4 are negative and 7-10 positive by the dataset's construction.
            positive = table.filter(pc.equal(table.column("label"), 1))
            assert pc.min(positive.column("rating")).as_py() >= 7
    first = pq.read_table(layout.raw_split("train")).slice(0, 1).to_pylist()[0]
    assert first["review_id"] == "train/neg/0"


def test_labelled_reviews_keep_their_html_line_breaks(imdb_home: Path) -> None:
    with_breaks = 0
    for split in ("train", "test"):
        texts = pq.read_table(HomeLayout(imdb_home).raw_split(split)).column("text")
        with_breaks += pc.sum(pc.match_substring(texts, "<br />")).as_py()
    # The shared data's README: about 29,000 labelled reviews contain <br /> tags.
    assert 28_000 <= with_breaks <= 30_000


def test_rerun_is_a_cache_hit(imdb_home: Path, imdb_source: str) -> None:
    result = ingest_imdb(imdb_source, imdb_home)
    assert result.cache_hit is True
    assert result.row_counts == {"train": 25_000, "test": 25_000, "unsup": 50_000}


def test_dataset_report_on_real_data(imdb_home: Path) -> None:
    report = build_dataset_report(imdb_home)

    assert report.split("train").reviews == 25_000
    assert report.split("test").positive == 12_500
    # The shared data's README: 123 texts appear in both train and test, same label.
    assert report.cross("train", "test").texts == 123
    assert report.cross("train", "test").label_conflicts == 0
    assert 0.0 < report.split("train").share_over_500_words < 0.2
    assert report.distinct_words > report.split("train").distinct_words > 10_000
    assert report.markdown_path.is_file()
    assert report.figure_path.stat().st_size > 0

"""The real evaluation carries the short-text development set: ingested through the
product's download step, scored at the bundle's threshold, by length."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq


def test_the_evaluation_reports_the_development_set_overall_and_by_length(
    tmp_path: Path, imdb_home: Path, trained_default: Any, short_texts_source: str
) -> None:
    from sentiment.data.short_texts import ingest_short_texts
    from sentiment.release.evaluation import EVALUATION_FILE, evaluate_version, word_counts
    from sentiment.release.metrics import LENGTH_BUCKET_BOUNDS

    # A home of its own, so the session's home and its other tests' evaluations stay as
    # they were; raw data is only read, so a link suffices.
    home = tmp_path / "home"
    (home / "raw").mkdir(parents=True)
    (home / "raw" / "imdb").symlink_to(imdb_home / "raw" / "imdb", target_is_directory=True)
    bundle = home / "models" / trained_default.version
    shutil.copytree(trained_default.directory, bundle)
    manifest = ingest_short_texts(short_texts_source, home)

    evaluation = evaluate_version(home, trained_default.version)

    entry = json.loads((bundle / EVALUATION_FILE).read_text())["short_texts"]
    assert entry == evaluation["short_texts"]
    source = pq.read_table(short_texts_source.removeprefix("file://"))
    texts = source.column("text").to_pylist()
    labels = source.column("label").to_numpy()
    assert manifest is not None and entry["name"] == manifest["name"]
    assert entry["rows"] == source.num_rows == manifest["rows"]
    # The accuracy is the bundle's own scores at its own threshold (a text it cannot
    # score counted wrong).
    scores = trained_default.predict_texts(texts)
    right = np.isfinite(scores) & ((scores >= trained_default.threshold) == (labels == 1))
    assert entry["accuracy"] == float(np.mean(right))
    assert entry["unscored"] == int(np.count_nonzero(~np.isfinite(scores)))
    # The same buckets as the test split's, holding every development text with words.
    test_buckets = [bucket["words"] for bucket in evaluation["metrics"]["lengths"]]
    assert [bucket["words"] for bucket in entry["lengths"]] == test_buckets
    assert len(test_buckets) == len(LENGTH_BUCKET_BOUNDS) + 1
    assert sum(bucket["rows"] for bucket in entry["lengths"]) == int(
        np.count_nonzero(word_counts(texts))
    )
    short = entry["lengths"][0]
    assert short["rows"] > 0 and 0.5 < short["accuracy"] <= 1.0

"""Sentences of the validation reviews, for the calibration."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sentiment.modeling.sentences import validation_sentences


def _write(path: Path, columns: dict[str, list[object]]) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


def test_every_sentence_of_a_validation_review_comes_with_its_label(tmp_path: Path) -> None:
    raw = _write(
        tmp_path / "train.parquet",
        {
            "review_id": ["v1", "t1", "v2"],
            "text": ["Great film. Loved it!", "Terrible. Poor script.", "Awful.<br />Dull end."],
        },
    )
    batch = _write(tmp_path / "batch.parquet", {"review_id": ["b1"], "text": ["Moving. Superb"]})
    validation = _write(
        tmp_path / "validation.parquet",
        {"review_id": ["v2", "b1", "v1"], "label": pa.array([0, 1, 1], pa.int8())},
    )
    texts, labels = validation_sentences(validation, [raw, batch])
    # t1 is a training review: none of its sentences.
    assert texts == ["Great film.", "Loved it!", "Awful.", "Dull end.", "Moving.", "Superb"]
    assert labels.tolist() == [1, 1, 0, 0, 1, 1]

"""Short texts for calibration: sentences of the validation reviews.

A model trained on whole reviews sums few n-grams over a sentence, so its logit there is
small and its side of the threshold is set by the calibration's intercept. Platt scaling
fitted on validation reviews alone sets that intercept for long texts only; fitted on the
validation reviews and their sentences (each with its review's label, together weighing
as much as the reviews), it is set for both lengths: +0.9 points on short movie
sentences (SST-2 dev), the IMDB test accuracy unchanged (research/short_texts/README.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sentiment.encoding.text import split_sentences


def validation_sentences(
    validation_path: Path, raw_paths: Sequence[Path]
) -> tuple[list[str], np.ndarray]:
    """Every sentence of the validation reviews, with its review's label.

    Args:
        validation_path: The processed validation split (its ``review_id`` and ``label``).
        raw_paths: The raw files its reviews come from (``review_id``, ``text``).

    Returns:
        The sentences (raw text) and their 0/1 labels, review by review in file order.
    """
    validation = pq.read_table(validation_path, columns=["review_id", "label"])
    review_ids = validation.column("review_id")
    labels_by_id = dict(
        zip(review_ids.to_pylist(), validation.column("label").to_pylist(), strict=True)
    )
    texts: list[str] = []
    labels: list[int] = []
    for path in raw_paths:
        raw = pq.read_table(path, columns=["review_id", "text"])
        raw = raw.filter(pc.is_in(raw.column("review_id"), value_set=review_ids.combine_chunks()))
        for review_id, text in zip(
            raw.column("review_id").to_pylist(), raw.column("text").to_pylist(), strict=True
        ):
            sentences = split_sentences(text)
            texts.extend(sentences)
            labels.extend([labels_by_id[review_id]] * len(sentences))
    return texts, np.asarray(labels, np.int64)

"""Synthetic labelled reviews whose sentiment a tiny model can learn from a few cue words."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa

POSITIVE_CUES = ["great", "wonderful", "superb", "moving", "loved"]
NEGATIVE_CUES = ["awful", "boring", "dull", "terrible", "hated"]
FILLER = ["the", "film", "plot", "actor", "scene", "and", "a", "was", "it", "story"]

# The archive reviews' own words (their flows' expectations were set with these).
ARCHIVE_POSITIVE = ["great", "wonderful", "loved", "superb", "moving", "brilliant"]
ARCHIVE_NEGATIVE = ["awful", "boring", "terrible", "dull", "waste", "worst"]
ARCHIVE_FILLER = ["the", "film", "plot", "actors", "scene", "story", "was", "a"]


def cue_reviews(count: int, seed: int, prefix: str) -> pa.Table:
    """Raw-split rows (``review_id``, ``text``, ``label``, ``rating``), labels alternating,
    each text ten filler words and three cues of its label, shuffled."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 2
    texts = []
    for label in labels:
        cues = POSITIVE_CUES if label else NEGATIVE_CUES
        words = list(rng.choice(FILLER, 10)) + list(rng.choice(cues, 3))
        rng.shuffle(words)
        texts.append(" ".join(words))
    return pa.table(
        {
            "review_id": [f"{prefix}_{index}" for index in range(count)],
            "text": texts,
            "label": pa.array(labels, pa.int8()),
            "rating": pa.array(np.where(labels == 1, 9, 2), pa.int8()),
        }
    )


def archive_reviews(per_class: int, unlabeled: int) -> dict[str, str]:
    """aclImdb member names to texts (for :func:`tests.support.imdb_tarball.build_archive`):
    ``per_class`` positive and negative reviews in each of train and test, and
    ``unlabeled`` unsup reviews, 40 words each."""
    generator = random.Random(7)

    def review(words: list[str]) -> str:
        return " ".join(generator.choice(words + ARCHIVE_FILLER) for _ in range(40))

    reviews: dict[str, str] = {}
    for split in ("train", "test"):
        for label, words, rating in (
            ("pos", ARCHIVE_POSITIVE, 9),
            ("neg", ARCHIVE_NEGATIVE, 2),
        ):
            for index in range(per_class):
                reviews[f"aclImdb/{split}/{label}/{index}_{rating}.txt"] = review(words)
    for index in range(unlabeled):
        reviews[f"aclImdb/train/unsup/{index}_0.txt"] = review(ARCHIVE_POSITIVE + ARCHIVE_NEGATIVE)
    return reviews

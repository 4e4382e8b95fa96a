"""Homes holding tiny raw splits, as ingestion leaves them."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sentiment.core.paths import HomeLayout

POSITIVE = ["a great film", "wonderful acting and a great plot", "loved it !"]
NEGATIVE = ["a bad film", "awful acting and a boring plot", "hated it ?"]

# Nullable everywhere, so tests can plant nulls; ingestion's own schema is stricter.
RAW_SCHEMA = pa.schema(
    [("review_id", pa.string()), ("text", pa.string()), ("label", pa.int8()), ("rating", pa.int8())]
)


def raw_table(split: str, texts: list[str | None], labels: list[int | None]) -> pa.Table:
    """Rows of a raw split with ids ``<split>/<index>`` and ratings from the labels."""
    return pa.table(
        {
            "review_id": [f"{split}/{index}" for index in range(len(texts))],
            "text": texts,
            "label": labels,
            "rating": [8 if label else 2 for label in labels],
        },
        schema=RAW_SCHEMA,
    )


def write_raw(home: Path, split: str, table: pa.Table) -> Path:
    """Write ``table`` as the home's raw ``split`` and return its path."""
    path = HomeLayout(home).raw_split(split)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def make_home(home: Path, train_per_label: int = 20, test_per_label: int = 10) -> Path:
    """Train: 20 positive and 20 negative reviews; test: 10 and 10."""
    for split, count in (("train", train_per_label), ("test", test_per_label)):
        texts: list[str | None] = []
        labels: list[int | None] = []
        for index in range(count):
            texts += [POSITIVE[index % 3], NEGATIVE[index % 3]]
            labels += [1, 0]
        write_raw(home, split, raw_table(split, texts, labels))
    return home

"""The output of preprocessing: its result, schema, split writer and manifest check."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sentiment.core.arrays import arrow_array, numpy_values
from sentiment.encoding.encoded import EncodingStats
from sentiment.encoding.vectorizer_file import VECTORIZER_FILE

logger = logging.getLogger(__name__)

PROCESSED_SPLITS = ("train", "validation", "test")
MANIFEST_FILE = "manifest.json"
# Rows per Parquet row group: what tf.data streams at a time.
ROW_GROUP_ROWS = 4096


@dataclass(frozen=True)
class PreprocessResult:
    """A complete preprocessing output.

    Attributes:
        key: The output's key (settings + inputs).
        directory: ``processed/<key>``.
        manifest: The parsed ``manifest.json``.
        cache_hit: True when the output already existed and nothing was computed.
        seconds: Time this call took.
        data_snapshot: The data snapshot it was built from.
    """

    key: str
    directory: Path
    manifest: dict[str, Any]
    cache_hit: bool
    seconds: float
    data_snapshot: str = ""

    def split_path(self, split: str) -> Path:
        """The Parquet file of ``train``, ``validation`` or ``test``."""
        return self.directory / f"{split}.parquet"

    @property
    def vectorizer_path(self) -> Path:
        return self.directory / VECTORIZER_FILE

    def to_markdown(self) -> str:
        """The run summary: settings, rows, coverage, OOV rates, cache hit or not."""
        manifest = self.manifest
        settings = manifest["settings"]
        vectorizer = settings["vectorizer"]
        vocabulary = manifest["vocabulary"]
        lines = [
            f"# Preprocessing `{self.key}`" + (" (cache hit)" if self.cache_hit else ""),
            "",
            f"Output: `{self.directory}`",
            "",
            "| setting | value |",
            "|---|---|",
            *(f"| {name} | {value} |" for name, value in vectorizer.items()),
            f"| validation_fraction | {settings['validation_fraction']} |",
            f"| seed | {settings['seed']} |",
            "",
            "| split | rows | negative | positive | empty | truncated | OOV rate |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for split in PROCESSED_SPLITS:
            summary = manifest["splits"][split]
            lines.append(
                f"| {split} | {summary['rows']:,} | {summary['negative']:,} | "
                f"{summary['positive']:,} | {summary['empty_documents']:,} | "
                f"{summary['truncated_documents']:,} | {summary['oov_rate']:.2%} |"
            )
        lines += [
            "",
            f"Vocabulary: {vocabulary['entries']:,} tokens (+ padding and OOV ids) out of "
            f"{vocabulary['distinct_training_words']:,} distinct training words; they cover "
            f"{vocabulary['training_token_coverage']:.2%} of the training tokens.",
            "",
            f"Cache hit: {'yes' if self.cache_hit else 'no'}; this run took "
            f"{self.seconds:.2f} s (building the output took {manifest['seconds']:.2f} s).",
        ]
        return "\n".join(lines)

    def summary(self) -> str:
        """One line: reused or written, and each split's rows and OOV rate."""
        splits = self.manifest["splits"]
        return f"{'Reused' if self.cache_hit else 'Wrote'} {self.directory}: " + ", ".join(
            f"{split} {splits[split]['rows']:,} rows (OOV {splits[split]['oov_rate']:.2%})"
            for split in PROCESSED_SPLITS
        )

    def to_manifest(self) -> dict[str, Any]:
        """A small JSON-serializable manifest: key, directory, cache hit, seconds, rows
        and OOV rate per split, vocabulary size and coverage, the vectorizer's path."""
        manifest = self.manifest
        return {
            "key": self.key,
            "directory": str(self.directory),
            "cache_hit": self.cache_hit,
            "seconds": round(self.seconds, 3),
            "rows": {split: manifest["rows"][split] for split in PROCESSED_SPLITS},
            "oov_rate": {
                split: manifest["splits"][split]["oov_rate"] for split in PROCESSED_SPLITS
            },
            "vocabulary_size": manifest["vocabulary"]["size"],
            "training_token_coverage": manifest["vocabulary"]["training_token_coverage"],
            "vectorizer": str(self.vectorizer_path),
        }


def output_schema(max_length: int) -> pa.Schema:
    """The schema of every processed split."""
    return pa.schema(
        [
            pa.field("review_id", pa.string()),
            pa.field("label", pa.int8()),
            pa.field("token_ids", pa.list_(pa.int32(), max_length)),
        ]
    )


class SplitWriter:
    """Writes one processed split in row groups of ``ROW_GROUP_ROWS`` and counts it."""

    def __init__(self, path: Path, max_length: int) -> None:
        self.path = path
        self._max_length = max_length
        self._schema = output_schema(max_length)
        self._writer = pq.ParquetWriter(
            path,
            self._schema,
            # LZ4: the fastest codec to write here, and training reads it back each
            # epoch about twice as fast as zstd, for files ~35% larger (12 vs 9 MB).
            compression="lz4",
            # Ids are mostly padding and a few thousand distinct values; dictionary
            # pages would cost more time than they save space.
            use_dictionary=["review_id", "label"],
        )
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        # Read once, so the manifest records what this writer used.
        self.row_group_rows = ROW_GROUP_ROWS
        self.rows = 0
        self.labels = np.zeros(2, dtype=np.int64)
        self.stats = EncodingStats()

    def add(
        self, review_ids: pa.Array, labels: np.ndarray, ids: np.ndarray, stats: EncodingStats
    ) -> None:
        if len(labels) == 0:
            return
        token_ids = pa.FixedSizeListArray.from_arrays(arrow_array(ids.ravel()), self._max_length)
        table = pa.Table.from_arrays(
            [review_ids.cast(pa.string()), arrow_array(labels.astype(np.int8)), token_ids],
            schema=self._schema,
        )
        self._pending.append(table)
        self._pending_rows += len(labels)
        self.rows += len(labels)
        self.labels += np.bincount(labels, minlength=2)[:2]
        self.stats += stats
        while self._pending_rows >= self.row_group_rows:
            self._flush(self.row_group_rows)

    def _flush(self, rows: int) -> None:
        table = pa.concat_tables(self._pending)
        self._writer.write_table(table.slice(0, rows), row_group_size=rows)
        rest = table.slice(rows)
        self._pending = [rest] if len(rest) else []
        self._pending_rows = len(rest)

    def close(self) -> dict[str, Any]:
        if self._pending_rows:
            self._flush(self._pending_rows)
        self._writer.close()
        return {
            "rows": self.rows,
            "negative": int(self.labels[0]),
            "positive": int(self.labels[1]),
            **self.stats.to_dict(),
        }


def take_rows(batch: pa.RecordBatch, rows: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    selection = arrow_array(rows)
    review_ids = batch.column("review_id").take(selection)
    labels = numpy_values(batch.column("label").take(selection)).astype(np.int8)
    return review_ids, labels


def complete_manifest(directory: Path) -> dict[str, Any] | None:
    """The manifest of a complete output directory, else None."""
    manifest_path = directory / MANIFEST_FILE
    if not manifest_path.is_file():
        return None
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        logger.warning("Ignoring unreadable manifest %s; preprocessing again.", manifest_path)
        return None
    expected = [f"{split}.parquet" for split in PROCESSED_SPLITS] + [VECTORIZER_FILE]
    if not all((directory / name).is_file() for name in expected):
        logger.warning("Output %s is incomplete; preprocessing again.", directory)
        return None
    return manifest

"""The test split: the raw IMDB test reviews plus every accepted labelled batch's test
portion, with a fingerprint that identifies exactly these rows.

The test set is the current data snapshot's (``sentiment.data.snapshot``); no batch row
is in any train portion, so a model trained on an older snapshot is tested on unseen
rows too. The test split is for evaluation only: nothing here feeds back into training
or model choice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sentiment.core.atomic import file_sha256
from sentiment.core.errors import DataError, StageOutputMissingError
from sentiment.core.paths import HomeLayout
from sentiment.data.config import IMDB_SOURCE
from sentiment.data.snapshot import current_snapshot


@dataclass(frozen=True)
class TestSplit:
    """The raw test reviews with a fingerprint identifying exactly these rows."""

    review_ids: list[str]
    texts: list[str | None]
    labels: np.ndarray
    fingerprint: dict[str, Any]
    sources: list[str] | None = None

    @property
    def row_sources(self) -> list[str]:
        """Each row's source (``imdb`` where none was given)."""
        return self.sources or [IMDB_SOURCE] * len(self.review_ids)


def rows_fingerprint(review_ids: Sequence[str], labels: np.ndarray, texts: Sequence[Any]) -> str:
    """Hash the rows' ids, labels and texts in order.

    Two evaluations are comparable review by review exactly when this hash matches,
    whatever the Parquet encoding of the file they came from.

    Args:
        review_ids: Review ids in file order.
        labels: Labels in the same order.
        texts: Texts in the same order (None allowed).

    Returns:
        ``sha256:`` plus the hex digest.
    """
    digest = hashlib.sha256()
    for column in (review_ids, texts):
        encoded = [value.encode("utf-8") if isinstance(value, str) else b"" for value in column]
        # Each value's byte length (-1 for a missing one) precedes the concatenated bytes,
        # so no two different columns hash alike.
        lengths = [
            len(value) if isinstance(original, str) else -1
            for value, original in zip(encoded, column, strict=True)
        ]
        digest.update(np.asarray(lengths, dtype="<i8").tobytes())
        digest.update(b"".join(encoded))
    digest.update(np.asarray(labels, dtype=np.int8).tobytes())
    return "sha256:" + digest.hexdigest()


def load_test_split(home: Path) -> TestSplit:
    """Read ``raw/imdb/test.parquet`` and fingerprint it.

    Args:
        home: The pipeline home.

    Returns:
        The test reviews, labels and fingerprint.

    Raises:
        StageOutputMissingError: If the split has not been ingested.
        DataError: If the file cannot be read or lacks ``review_id``, ``text`` or
            ``label``, or a label is not 0/1.
    """
    layout = HomeLayout(Path(home))
    path = layout.raw_split("test")
    if not path.exists():
        raise StageOutputMissingError(
            f"The raw test split {path} does not exist; run `sentiment ingest` first."
        )
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as error:
        raise DataError(
            f"The raw test split {path} cannot be read ({error}); rerun `sentiment ingest`."
        ) from error
    missing = [name for name in ("review_id", "text", "label") if name not in table.column_names]
    if missing:
        raise DataError(
            f"The raw test split {path} lacks the column(s) {', '.join(missing)}; "
            "rerun `sentiment ingest`."
        )
    review_ids = table.column("review_id").to_pylist()
    texts = table.column("text").to_pylist()
    label_column = table.column("label")
    if label_column.null_count:
        raise DataError(
            f"The raw test split {path} has {label_column.null_count} rows without a label "
            "in field 'label'; rerun `sentiment ingest`."
        )
    labels = label_column.to_numpy().astype(np.int8)
    if not np.isin(labels, (0, 1)).all():
        raise DataError(
            f"The raw test split {path} has labels other than 0 and 1 in field 'label'; "
            "rerun `sentiment ingest`."
        )
    if len(set(review_ids)) != len(review_ids):
        raise DataError(
            f"The raw test split {path} repeats review ids in field 'review_id'; "
            "rerun `sentiment ingest`."
        )
    fingerprint: dict[str, Any] = {
        "path": str(path.relative_to(layout.home))
        if path.is_relative_to(layout.home)
        else str(path),
        "file_sha256": file_sha256(path),
        "rows": len(review_ids),
        "rows_sha256": rows_fingerprint(review_ids, labels, texts),
    }
    manifest = layout.raw_dir / "manifest.json"
    try:
        archive = json.loads(manifest.read_text(encoding="utf-8")).get("archive_sha256")
    except (OSError, ValueError, AttributeError):
        archive = None
    if archive:
        fingerprint["archive_sha256"] = archive
    sources = [IMDB_SOURCE] * len(review_ids)
    try:
        snapshot = current_snapshot(home)
    except StageOutputMissingError:
        snapshot = None  # a home holding only the test split: nothing but IMDB to test
    fingerprint["data_snapshot"] = snapshot.id if snapshot else None
    if snapshot is not None and snapshot.batches:
        # The batches' rows follow IMDB's, so an IMDB-only snapshot keeps the very
        # rows_sha256 it had before batches existed.
        for path in snapshot.portion_paths(home, "test"):
            try:
                batch = pq.read_table(path, columns=["review_id", "text", "label", "source"])
            except (OSError, pa.ArrowException) as error:
                raise DataError(
                    f"Labelled batch file {path} cannot be read ({error}); restore the batch "
                    "directory from a backup."
                ) from error
            review_ids += batch.column("review_id").to_pylist()
            texts += batch.column("text").to_pylist()
            sources += batch.column("source").to_pylist()
            labels = np.concatenate([labels, batch.column("label").to_numpy().astype(np.int8)])
        fingerprint["rows"] = len(review_ids)
        fingerprint["rows_sha256"] = rows_fingerprint(review_ids, labels, texts)
        fingerprint["batches"] = list(snapshot.batches)
    return TestSplit(
        review_ids=review_ids,
        texts=texts,
        labels=labels,
        fingerprint=fingerprint,
        sources=sources,
    )


def same_test_data(first: dict[str, Any], second: dict[str, Any]) -> bool:
    """Whether two evaluation fingerprints describe the very same test rows."""
    keys = ("rows", "rows_sha256")
    return all(first.get(key) is not None and first.get(key) == second.get(key) for key in keys)

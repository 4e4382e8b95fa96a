"""Data snapshots: the IMDB reviews plus an ordered list of accepted labelled batches.

A snapshot is what a model is trained and tested on. Its id hashes the raw IMDB train
and test files' content fingerprints and the batch ids in order, so the same data always
has the same id and any new batch (or re-ingested IMDB) gives a new one. Each intake
that accepts a batch records the new snapshot as ``labelled/snapshots/<n>-<id>.json``
(written atomically, after the batch itself is complete), so a killed intake leaves
either the old snapshot or the new one, never half of one. The IMDB-only snapshot is
never written: it is what a home without accepted batches holds.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sentiment.core.atomic import file_fingerprint, settings_fingerprint, write_json
from sentiment.core.errors import DataError, StageOutputMissingError
from sentiment.core.paths import HomeLayout

logger = logging.getLogger(__name__)

PORTIONS = ("train", "test")
BATCH_MANIFEST = "manifest.json"
SNAPSHOT_PREFIX = "snap-"


@dataclass(frozen=True)
class Snapshot:
    """One data snapshot.

    Attributes:
        id: ``snap-`` plus 12 hex digits of the content hash.
        sequence: 0 for IMDB alone, then 1, 2... in the order intakes recorded them.
        imdb: The raw IMDB files' fingerprints (``train``, ``test``).
        batches: Accepted batch ids, oldest first.
        created_at: When it was recorded (None for the IMDB-only snapshot).
        sources: The source of each batch, by batch id.
    """

    id: str
    sequence: int
    imdb: dict[str, str]
    batches: tuple[str, ...] = ()
    created_at: str | None = None
    sources: dict[str, str] = field(default_factory=dict)

    def portion_paths(self, home: Path, portion: str) -> list[Path]:
        """The batches' Parquet files of ``train`` or ``test``, in snapshot order."""
        layout = HomeLayout(Path(home))
        return [layout.labelled_batch(batch) / f"{portion}.parquet" for batch in self.batches]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable view."""
        return {
            "id": self.id,
            "sequence": self.sequence,
            "imdb": dict(self.imdb),
            "batches": list(self.batches),
            "sources": dict(self.sources),
            "created_at": self.created_at,
        }


def snapshot_id(imdb: dict[str, str], batches: tuple[str, ...] | list[str]) -> str:
    """The id of the snapshot holding IMDB with these fingerprints and these batches."""
    return SNAPSHOT_PREFIX + settings_fingerprint(
        {"imdb": {split: imdb[split] for split in PORTIONS}, "batches": list(batches)}
    )


def imdb_fingerprints(home: Path) -> dict[str, str]:
    """Content fingerprints of the raw IMDB train and test files.

    Raises:
        StageOutputMissingError: If IMDB has not been ingested.
    """
    layout = HomeLayout(Path(home))
    fingerprints = {}
    for split in PORTIONS:
        path = layout.raw_split(split)
        if not path.is_file():
            raise StageOutputMissingError(
                f"Raw file {path} is missing; run 'sentiment --home {layout.home} ingest' first."
            )
        fingerprints[split] = file_fingerprint(path)
    return fingerprints


def _snapshot_files(home: Path) -> list[Path]:
    directory = HomeLayout(Path(home)).snapshots_dir
    if not directory.is_dir():
        return []
    files = [
        path
        for path in directory.glob("*.json")
        if not path.name.startswith(".") and path.name.split("-", 1)[0].isdigit()
    ]
    return sorted(files, key=lambda path: int(path.name.split("-", 1)[0]))


def _read_snapshot_file(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise DataError(
            f"Snapshot record {path} is unreadable ({error}); restore it from a backup, or "
            "remove it and every later record to return to the snapshot before it."
        ) from error
    if not isinstance(record, dict) or not isinstance(record.get("batches"), list):
        raise DataError(
            f"Snapshot record {path} has no 'batches' list; restore it from a backup, or "
            "remove it and every later record to return to the snapshot before it."
        )
    return record


def recorded_snapshots(home: Path) -> list[dict[str, Any]]:
    """Every recorded snapshot, oldest first, as stored."""
    return [_read_snapshot_file(path) for path in _snapshot_files(home)]


def current_snapshot(home: Path, fingerprints: dict[str, str] | None = None) -> Snapshot:
    """The snapshot a retrain would train on now: current IMDB + the latest batch list.

    Args:
        home: The pipeline home.
        fingerprints: The raw IMDB fingerprints when the caller has them already.

    Raises:
        StageOutputMissingError: If IMDB has not been ingested.
        DataError: If the latest snapshot record is unreadable.
    """
    fingerprints = fingerprints or imdb_fingerprints(home)
    files = _snapshot_files(home)
    if not files:
        return Snapshot(snapshot_id(fingerprints, ()), 0, dict(fingerprints))
    record = _read_snapshot_file(files[-1])
    batches = tuple(record["batches"])
    return Snapshot(
        snapshot_id(fingerprints, batches),
        int(record.get("sequence", len(files))),
        dict(fingerprints),
        batches,
        record.get("created_at"),
        dict(record.get("sources") or {}),
    )


def record_snapshot(
    home: Path, previous: Snapshot, batch: str, source: str, rows: dict[str, int]
) -> Snapshot:
    """Record the snapshot ``previous`` plus ``batch`` (complete on disk already).

    Called with the intake lock held, so sequences never collide.

    Returns:
        The new current snapshot.
    """
    batches = (*previous.batches, batch)
    sequence = previous.sequence + 1
    snapshot = Snapshot(
        snapshot_id(previous.imdb, batches),
        sequence,
        dict(previous.imdb),
        batches,
        datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        {**previous.sources, batch: source},
    )
    record = {**snapshot.to_dict(), "added": {"batch": batch, "source": source, "rows": rows}}
    path = HomeLayout(Path(home)).snapshots_dir / f"{sequence:06d}-{snapshot.id}.json"
    write_json(path, record)
    logger.info("Recorded data snapshot %s (%d batch(es)).", snapshot.id, len(batches))
    return snapshot


def read_batch_manifest(home: Path, batch: str) -> dict[str, Any]:
    """An accepted batch's manifest.

    Raises:
        DataError: If the batch or its manifest is missing or unreadable.
    """
    path = HomeLayout(Path(home)).labelled_batch(batch) / BATCH_MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise DataError(
            f"Labelled batch manifest {path} is unreadable ({error}); restore the batch "
            "directory from a backup (batches are immutable and never rewritten)."
        ) from error


def describe_snapshots(home: Path) -> list[dict[str, Any]]:
    """What each snapshot holds: IMDB alone, then one entry per recorded snapshot.

    Each entry: ``id``, ``sequence``, ``created_at``, ``current`` (bool), ``batches``
    (id, source, train and test rows each) and ``rows`` (train and test in all, IMDB
    included).

    Raises:
        StageOutputMissingError: If IMDB has not been ingested.
    """
    import pyarrow.parquet as pq

    layout = HomeLayout(Path(home))
    fingerprints = imdb_fingerprints(home)
    imdb_rows = {split: pq.read_metadata(layout.raw_split(split)).num_rows for split in PORTIONS}
    current = current_snapshot(home, fingerprints).id
    entries = [
        {
            "id": snapshot_id(fingerprints, ()),
            "sequence": 0,
            "created_at": None,
            "batches": [],
            "rows": dict(imdb_rows),
        }
    ]
    batch_rows: dict[str, dict[str, Any]] = {}
    for record in recorded_snapshots(home):
        batches = []
        for batch in record["batches"]:
            if batch not in batch_rows:
                manifest = read_batch_manifest(home, batch)
                batch_rows[batch] = {
                    "batch": batch,
                    "source": manifest.get("source"),
                    "train": manifest["rows"]["train"],
                    "test": manifest["rows"]["test"],
                }
            batches.append(batch_rows[batch])
        entries.append(
            {
                "id": snapshot_id(fingerprints, record["batches"]),
                "sequence": record.get("sequence"),
                "created_at": record.get("created_at"),
                "batches": batches,
                "rows": {
                    split: imdb_rows[split] + sum(entry[split] for entry in batches)
                    for split in PORTIONS
                },
            }
        )
    for entry in entries:
        entry["current"] = entry["id"] == current
    return entries

"""Fetch the IMDB archive, verify it and ingest it into three typed Parquet files.

The stage is split so an orchestrator can retry only the network part:

* :func:`cached_ingest` — the raw Parquet files are already there for an accepted archive;
* :func:`obtain_archive` — reuse the cached archive or fetch, verify and cache a new one
  (:func:`fetch_archive`, :func:`verify_archive`, :func:`store_archive`);
* :func:`write_raw_splits` — stream the tar members and write ``raw/imdb/*.parquet``.

:func:`ingest_imdb` chains them for callers without an orchestrator.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from sentiment.core.atomic import atomic_directory, remove_stale_temporaries, write_json
from sentiment.core.paths import HomeLayout
from sentiment.data.archive import (
    KNOWN_SHA256,
    ArchiveFile,
    ProgressCallback,
    accepted_hashes,
    obtain_archive,
    read_json_or_none,
    stat_signature,
)
from sentiment.data.imdb_members import (
    ARCHIVE_SPLITS,
    IMDB_EXPECTED_COUNTS,
    RAW_SCHEMA,
    check_counts,
    class_counts,
    read_members,
    split_table,
)

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class IngestResult:
    """What the ingestion stage wrote."""

    train_path: Path
    test_path: Path
    unsup_path: Path
    row_counts: Mapping[str, int]
    archive_sha256: str
    cache_hit: bool
    seconds: float
    class_counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def paths(self) -> dict[str, Path]:
        """Parquet path of each split."""
        return {"train": self.train_path, "test": self.test_path, "unsup": self.unsup_path}

    def to_manifest(self) -> dict[str, Any]:
        """Return a small JSON-serializable summary (paths as strings)."""
        return {
            "paths": {split: str(path) for split, path in self.paths.items()},
            "row_counts": dict(self.row_counts),
            "class_counts": dict(self.class_counts),
            "archive_sha256": self.archive_sha256,
            "cache_hit": self.cache_hit,
            "seconds": round(self.seconds, 3),
        }

    def summary(self) -> str:
        """One line: the rows of each split and the time it took."""
        counts = ", ".join(f"{split} {count:,}" for split, count in self.row_counts.items())
        return f"Ingested {counts} in {self.seconds:.1f} s"

    def split_rows(self) -> list[dict[str, Any]]:
        """One table row per split: its name, rows and Parquet path."""
        return [
            {"split": split, "rows": count, "path": str(self.paths[split])}
            for split, count in self.row_counts.items()
        ]


def _manifest_path(home: Path) -> Path:
    return HomeLayout(home).raw_dir / MANIFEST_NAME


def _result_from_manifest(home: Path, manifest: Mapping[str, Any], seconds: float) -> IngestResult:
    layout = HomeLayout(home)
    return IngestResult(
        train_path=layout.raw_split("train"),
        test_path=layout.raw_split("test"),
        unsup_path=layout.raw_split("unsup"),
        row_counts={split: int(manifest["row_counts"][split]) for split in ARCHIVE_SPLITS},
        archive_sha256=manifest["archive_sha256"],
        cache_hit=True,
        seconds=seconds,
        class_counts={
            key: int(manifest["class_counts"][key])
            for key in IMDB_EXPECTED_COUNTS
            if key in manifest.get("class_counts", {})
        },
    )


def cached_ingest(home: Path, sha256: str | None = None) -> IngestResult | None:
    """Return the earlier ingestion if its files are intact and its archive is accepted.

    Intact means each Parquet file has the size and modification time the manifest
    recorded, so the check is a few stat calls. Every ingest starts here, so it first
    removes the temporaries a killed ingest left under ``cache/`` and ``raw/``.

    Args:
        home: The pipeline home.
        sha256: The demanded hash, or ``None`` for any known IMDB archive.

    Returns:
        The earlier result with ``cache_hit=True``, or ``None``.
    """
    started = time.perf_counter()
    accepted = accepted_hashes(sha256)
    layout = HomeLayout(home)
    remove_stale_temporaries(layout.cache_dir, layout.raw_dir.parent)
    manifest = read_json_or_none(_manifest_path(home))
    if manifest is None or manifest.get("archive_sha256") not in accepted:
        return None
    files = manifest.get("files", {})
    for split in ARCHIVE_SPLITS:
        path = layout.raw_split(split)
        if not path.is_file() or files.get(split) != stat_signature(path):
            return None
    return _result_from_manifest(home, manifest, time.perf_counter() - started)


def write_raw_splits(
    archive: ArchiveFile,
    home: Path,
    source: str | None = None,
    expected_counts: Mapping[str, int] | None = None,
) -> IngestResult:
    """Stream a verified archive's reviews into ``raw/imdb/{train,test,unsup}.parquet``.

    The three files and the manifest are built in a temporary directory that replaces
    ``raw/imdb`` only when complete, so a failure leaves the earlier files as they were.

    Args:
        archive: A verified archive (see :func:`obtain_archive`).
        home: The pipeline home.
        source: Where the archive came from, for error messages (default: its path).
        expected_counts: Reviews expected per ``split/class`` (keys as in
            :data:`IMDB_EXPECTED_COUNTS`). ``None`` demands the official counts for a
            known IMDB archive and only non-empty splits for any other.

    Returns:
        The paths, row counts and timing.

    Raises:
        DataError: The archive is corrupt, holds unsafe members or has missing splits or
            unexpected counts.
    """
    started = time.perf_counter()
    source = source or str(archive.path)
    if expected_counts is None and archive.sha256 in KNOWN_SHA256:
        expected_counts = IMDB_EXPECTED_COUNTS
    rows = read_members(archive.path, source)
    counts = class_counts(rows)
    check_counts(counts, expected_counts, source)
    layout = HomeLayout(home)
    row_counts = {split: len(rows[split].review_ids) for split in ARCHIVE_SPLITS}
    with atomic_directory(layout.raw_dir) as staging:
        files: dict[str, dict[str, int]] = {}
        for split in ARCHIVE_SPLITS:
            target = staging / layout.raw_split(split).name
            pq.write_table(split_table(rows[split]), target, compression="zstd")
            files[split] = stat_signature(target)
        # Renaming the directory keeps each file's mtime, so the recorded stats stay valid.
        write_json(
            staging / MANIFEST_NAME,
            {
                "archive_sha256": archive.sha256,
                "archive_size_bytes": archive.size_bytes,
                "class_counts": counts,
                "files": files,
                "row_counts": row_counts,
                "schema": RAW_SCHEMA.to_string(show_schema_metadata=False),
            },
        )
    seconds = time.perf_counter() - started
    logger.info(
        "Wrote %s in %.1f s.",
        ", ".join(f"{split} {count:,} rows" for split, count in row_counts.items()),
        seconds,
    )
    return IngestResult(
        train_path=layout.raw_split("train"),
        test_path=layout.raw_split("test"),
        unsup_path=layout.raw_split("unsup"),
        row_counts=row_counts,
        archive_sha256=archive.sha256,
        cache_hit=False,
        seconds=seconds,
        class_counts=counts,
    )


def ingest_imdb(
    source: str,
    home: Path,
    sha256: str | None = None,
    expected_counts: Mapping[str, int] | None = None,
    progress: ProgressCallback | None = None,
) -> IngestResult:
    """Fetch (or reuse), verify and ingest the IMDB archive into raw Parquet.

    A rerun with an accepted archive already ingested does no network, hashing or
    extraction work.

    Args:
        source: An http(s) URL, a ``file://`` URL or a local path of aclImdb_v1.tar.gz.
        home: The pipeline home.
        sha256: The demanded archive hash, or ``None`` to accept any known IMDB archive.
        expected_counts: See :func:`write_raw_splits`.
        progress: Called with (bytes so far, total or ``None``) during a fetch.

    Returns:
        The paths, row counts, archive hash, whether the cache served it, and seconds.
    """
    started = time.perf_counter()
    home = Path(home)
    cached = cached_ingest(home, sha256)
    if cached is not None:
        logger.info("Raw Parquet for archive %s is up to date.", cached.archive_sha256[:12])
        return cached
    archive = obtain_archive(source, home, sha256, progress)
    result = write_raw_splits(archive, home, source, expected_counts)
    return dataclasses.replace(result, cache_hit=False, seconds=time.perf_counter() - started)

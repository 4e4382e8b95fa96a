"""The short-text development set: copied into the home from its source, checked, read.

A Parquet file of short labelled texts (``text`` string, ``label`` 0/1; ``review_id``
kept where present), such as the SST-2 dev sentences. Ingest copies it byte for byte
into ``raw/short-texts/`` with the archive's download code (a local path, ``file://``
or http(s) URL), beside a manifest of its source, name, hash and rows; evaluation scores
every bundle on it and reports its accuracy by length. It is reported only: it never
gates a promotion, trains or chooses anything.
"""

from __future__ import annotations

import logging
import os
import shutil
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sentiment.core.atomic import atomic_directory, remove_stale_temporaries, write_json
from sentiment.core.errors import DataError
from sentiment.core.paths import HomeLayout
from sentiment.data.archive import (
    Download,
    fetch_archive,
    local_path,
    read_json_or_none,
    stat_signature,
)

logger = logging.getLogger(__name__)

SOURCE_ENVIRONMENT_VARIABLE = "SENTIMENT_SHORT_TEXTS_SOURCE"
MANIFEST_NAME = "manifest.json"
_OPTION = "--short-texts-source or SENTIMENT_SHORT_TEXTS_SOURCE"
SHORT_TEXTS_DOWNLOAD = Download("short-text development set", "sst2_dev.parquet", _OPTION)


@dataclass(frozen=True)
class ShortTexts:
    """The development set's rows as the home holds them, with where they came from."""

    name: str
    review_ids: list[str]
    texts: list[str]
    labels: np.ndarray
    file_sha256: str


def resolve_short_texts_source(source: str | None = None) -> str | None:
    """Return ``source``, else ``$SENTIMENT_SHORT_TEXTS_SOURCE``, else None (no set)."""
    return source or os.environ.get(SOURCE_ENVIRONMENT_VARIABLE) or None


def set_name(source: str) -> str:
    """The set's name: its source's file name without the suffix (``sst2_dev``)."""
    path = urllib.parse.urlparse(source).path if "://" in source else source
    return Path(path).stem or "short-texts"


def _source_signature(source: str) -> dict[str, int] | None:
    """A local source's size and time, so a rerun sees it unchanged without reading it;
    None for a URL (its copy is reused while the source is the same address)."""
    local = local_path(source)
    return stat_signature(local) if local is not None and local.is_file() else None


def _intact_manifest(layout: HomeLayout) -> dict[str, Any] | None:
    """The manifest of the home's copy, where that copy is as the manifest recorded it."""
    manifest = read_json_or_none(layout.short_texts_dir / MANIFEST_NAME)
    path = layout.short_texts
    if manifest is None or not path.is_file() or manifest.get("file") != stat_signature(path):
        return None
    return manifest


def _check(path: Path, source: str) -> int:
    """The rows of a fetched file, after checking its columns and labels.

    Raises:
        DataError: In one sentence naming the source, the field and the fix.
    """
    fix = f"fix the file or pass another with {_OPTION}"
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as error:
        raise DataError(
            f"The short-text development set {source} is not a readable Parquet file "
            f"({error}); {fix}."
        ) from error
    schema = table.schema
    for name, wanted, accepts in (
        (
            "text",
            "strings",
            lambda kind: pa.types.is_string(kind) or pa.types.is_large_string(kind),
        ),
        ("label", "integers 0 and 1", pa.types.is_integer),
    ):
        if name not in schema.names:
            raise DataError(
                f"The short-text development set {source} has no field '{name}' (it has "
                f"{', '.join(schema.names) or 'none'}); {fix}."
            )
        if not accepts(schema.field(name).type):
            raise DataError(
                f"The short-text development set {source} has field '{name}' of type "
                f"{schema.field(name).type}, but it must hold {wanted}; {fix}."
            )
    for name in ("text", "label"):
        if table.column(name).null_count:
            raise DataError(
                f"The short-text development set {source} has {table.column(name).null_count} "
                f"empty values in field '{name}'; {fix}."
            )
    labels = table.column("label").to_numpy()
    if not np.isin(labels, (0, 1)).all():
        raise DataError(
            f"The short-text development set {source} has values other than 0 and 1 in "
            f"field 'label'; {fix}."
        )
    if table.num_rows == 0:
        raise DataError(f"The short-text development set {source} has no rows; {fix}.")
    return table.num_rows


def ingest_short_texts(source: str | None, home: Path) -> dict[str, Any] | None:
    """Copy the development set from ``source`` into the home, checked, or find it there.

    A rerun with the same source (and, for a local file, its size and time unchanged)
    reads nothing and writes nothing. A new copy replaces the earlier one only once it is
    checked, together with its manifest.

    Args:
        source: An http(s) URL, ``file://`` URL or local path of the Parquet file; None
            reads ``$SENTIMENT_SHORT_TEXTS_SOURCE``, else there is nothing to do.
        home: The pipeline home.

    Returns:
        The manifest (``name``, ``source``, ``sha256``, ``rows``, ``path``,
        ``cache_hit``), or None when no source is configured.

    Raises:
        DataError: The source is missing or unreadable, or its columns or labels are
            wrong (one sentence naming the file, the field and the fix).
        SourceUnreachableError: A URL could not be reached (worth retrying).
    """
    source = resolve_short_texts_source(source)
    if source is None:
        return None
    layout = HomeLayout(Path(home))
    remove_stale_temporaries(layout.cache_dir, layout.short_texts_dir.parent)
    manifest = _intact_manifest(layout)
    if (
        manifest is not None
        and manifest.get("source") == source
        and manifest.get("source_file") == _source_signature(source)
    ):
        logger.info("The short-text development set %s is up to date.", manifest["name"])
        return {**manifest, "path": str(layout.short_texts), "cache_hit": True}
    fetched = fetch_archive(source, layout.cache_dir, download=SHORT_TEXTS_DOWNLOAD)
    try:
        rows = _check(fetched.path, source)
        manifest = {
            "name": set_name(source),
            "source": source,
            "source_file": _source_signature(source),
            "sha256": fetched.sha256,
            "rows": rows,
        }
        with atomic_directory(layout.short_texts_dir) as staging:
            target = staging / layout.short_texts.name
            shutil.move(fetched.path, target)
            manifest["file"] = stat_signature(target)
            write_json(staging / MANIFEST_NAME, manifest)
    finally:
        fetched.path.unlink(missing_ok=True)
    logger.info(
        "Copied the short-text development set %s (%s rows) from %s.",
        manifest["name"],
        f"{rows:,}",
        source,
    )
    return {**manifest, "path": str(layout.short_texts), "cache_hit": False}


def read_short_texts(home: Path) -> ShortTexts | None:
    """The development set the home holds, or None when it holds none (or a damaged
    copy, which the next ingest replaces: the set is reported only, so its absence never
    stops an evaluation)."""
    layout = HomeLayout(Path(home))
    manifest = _intact_manifest(layout)
    if manifest is None:
        return None
    try:
        table = pq.read_table(layout.short_texts)
    except (OSError, pa.ArrowException) as error:
        logger.warning("The short-text development set cannot be read (%s).", error)
        return None
    texts = table.column("text").to_pylist()
    review_ids = (
        [str(value) for value in table.column("review_id").to_pylist()]
        if "review_id" in table.column_names
        else [str(index) for index in range(table.num_rows)]
    )
    return ShortTexts(
        name=str(manifest.get("name")),
        review_ids=review_ids,
        texts=texts,
        labels=table.column("label").to_numpy().astype(np.int8),
        file_sha256=str(manifest.get("sha256")),
    )

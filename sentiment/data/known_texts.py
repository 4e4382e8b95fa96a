"""The texts labelled intake already knows, by normalized-text hash: IMDB train and test
(an index cached under ``labelled/index/``) and the snapshot's batches; the duplicate
and leak guard looks every new row up here."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sentiment.core.atomic import atomic_path, settings_fingerprint
from sentiment.core.paths import HomeLayout
from sentiment.data.config import IMDB_SOURCE
from sentiment.data.labelled_rows import text_hash
from sentiment.data.snapshot import PORTIONS, Snapshot

# Bump when the normalization or hash (sentiment.data.labelled_rows) changes: the IMDB
# index is rebuilt.
INDEX_VERSION = 2


def imdb_index(home: Path, snapshot: Snapshot) -> dict[str, tuple[int, str]]:
    """Normalized-text hash -> (label, ``imdb/train`` or ``imdb/test``), cached on disk."""
    layout = HomeLayout(Path(home))
    key = settings_fingerprint({"version": INDEX_VERSION, "imdb": snapshot.imdb})
    path = layout.labelled_index_dir / f"imdb-{key}.parquet"
    if not path.is_file():
        tables = []
        for split in PORTIONS:
            raw = pq.read_table(layout.raw_split(split), columns=["text", "label"])
            hashes = [text_hash(text or "") for text in raw.column("text").to_pylist()]
            tables.append(
                pa.table(
                    {
                        "text_hash": pa.array(hashes, pa.string()),
                        "label": raw.column("label").cast(pa.int8()),
                        "where": pa.array([f"{IMDB_SOURCE}/{split}"] * raw.num_rows),
                    }
                )
            )
        with atomic_path(path) as temporary:
            pq.write_table(pa.concat_tables(tables), temporary)
    table = pq.read_table(path)
    index: dict[str, tuple[int, str]] = {}
    for hash_hex, label, where in zip(
        table.column("text_hash").to_pylist(),
        table.column("label").to_pylist(),
        table.column("where").to_pylist(),
        strict=True,
    ):
        # IMDB holds a few duplicate texts itself; the first occurrence is the reference.
        index.setdefault(hash_hex, (label, where))
    return index


def batch_index(home: Path, snapshot: Snapshot) -> dict[str, tuple[int, str]]:
    """Normalized-text hash -> (label, ``<source>/<batch>``) over the snapshot's batches."""
    index: dict[str, tuple[int, str]] = {}
    for batch in snapshot.batches:
        source = snapshot.sources.get(batch, "?")
        for portion_path in snapshot.portion_paths(home, "train") + snapshot.portion_paths(
            home, "test"
        ):
            if portion_path.parent.name != batch:
                continue
            table = pq.read_table(portion_path, columns=["text_hash", "label"])
            for hash_hex, label in zip(
                table.column("text_hash").to_pylist(),
                table.column("label").to_pylist(),
                strict=True,
            ):
                index.setdefault(hash_hex, (label, f"{source}/{batch}"))
    return index

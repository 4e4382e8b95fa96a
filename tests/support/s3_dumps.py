"""A dump of every input format, large files included, scored locally and on object storage."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from tests.support.bundles import SCORING_TEXTS as TEXTS
from tests.support.s3_server import BUCKET

BIG_ROWS = 30_000


def write_dump(directory: Path) -> None:
    """Parquet, CSV and JSON-lines files, and large ones of each (split on Dask)."""
    directory.mkdir(parents=True, exist_ok=True)
    for index in range(3):
        texts = [TEXTS[(index + i) % len(TEXTS)] for i in range(10 + index)]
        pq.write_table(
            pa.table({"id": list(range(len(texts))), "text": texts}),
            directory / f"small-{index}.parquet",
        )
    (directory / "notes.csv").write_text(
        'id,review,stars\n1,"a great film, great acting",9\n2,"boring\nand long",2\n3,,5\n'
    )
    (directory / "lines.jsonl").write_text(
        "".join(json.dumps({"text": text, "n": index}) + "\n" for index, text in enumerate(TEXTS))
    )
    texts = [f"{TEXTS[i % len(TEXTS)]} {i}" for i in range(BIG_ROWS)]
    pq.write_table(
        pa.table({"review_id": list(range(BIG_ROWS)), "text": texts}),
        directory / "big.parquet",
        row_group_size=5_000,
    )
    with (directory / "big.jsonl").open("w") as handle:
        for index in range(BIG_ROWS // 3):
            handle.write(json.dumps({"text": TEXTS[index % len(TEXTS)], "n": index}) + "\n")
    with (directory / "big.csv").open("w") as handle:
        handle.write("n,review\n")
        for index in range(BIG_ROWS // 3):
            # Quoted line breaks: most line ends are not record ends.
            handle.write(f'{index},"{TEXTS[index % len(TEXTS)]}\nsecond line, {index}"\n')


def upload(filesystem: pafs.S3FileSystem, directory: Path, prefix: str) -> None:
    """Copy every file of ``directory`` to ``<bucket>/<prefix>/``."""
    for path in sorted(directory.iterdir()):
        with filesystem.open_output_stream(f"{BUCKET}/{prefix}/{path.name}") as stream:
            stream.write(path.read_bytes())


def object_keys(filesystem: pafs.S3FileSystem, prefix: str) -> list[str]:
    """The keys of every object under ``<bucket>/<prefix>/``, relative to it, sorted."""
    selector = pafs.FileSelector(f"{BUCKET}/{prefix}", recursive=True, allow_not_found=True)
    return sorted(
        info.path[len(f"{BUCKET}/{prefix}/") :]
        for info in filesystem.get_file_info(selector)
        if info.type == pafs.FileType.File
    )


def remote_outputs(filesystem: pafs.S3FileSystem, prefix: str) -> dict[str, pa.Table]:
    """Each Parquet object under ``<bucket>/<prefix>/``, read, by relative key."""
    return {
        key: pq.read_table(f"{BUCKET}/{prefix}/{key}", filesystem=filesystem)
        for key in object_keys(filesystem, prefix)
        if key.endswith(".parquet")
    }


def local_outputs(directory: Path) -> dict[str, pa.Table]:
    """Each Parquet file in ``directory``, read, by name."""
    return {path.name: pq.read_table(path) for path in sorted(directory.glob("*.parquet"))}


# What scoring the dump writes.
EXPECTED = [
    "big.csv.parquet",
    "big.jsonl.parquet",
    "big.parquet",
    "lines.jsonl.parquet",
    "notes.csv.parquet",
    "small-0.parquet",
    "small-1.parquet",
    "small-2.parquet",
]

"""Reading the IMDB archive's review members into the rows of the raw splits,
refusing unsafe members and checking the counts per split and class."""

from __future__ import annotations

import gzip
import logging
import re
import tarfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from sentiment.core.errors import DataError
from sentiment.core.progress import PROGRESS_SECONDS, Progress
from sentiment.data.archive import CHUNK_SIZE

logger = logging.getLogger(__name__)

ARCHIVE_SPLITS = ("train", "test", "unsup")
# Files per (split, class folder) in every known IMDB archive.
IMDB_EXPECTED_COUNTS: Mapping[str, int] = {
    "train/neg": 12_500,
    "train/pos": 12_500,
    "test/neg": 12_500,
    "test/pos": 12_500,
    "unsup": 50_000,
}

RAW_SCHEMA = pa.schema(
    [
        pa.field("review_id", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("label", pa.int8(), nullable=True),
        pa.field("rating", pa.int8(), nullable=False),
    ]
)

# The largest review member accepted. IMDB's longest review is 14 KB; a member declaring
# more is refused from its tar header, before a byte of it is read, so a small archive
# cannot expand into gigabytes of memory (a 1.17 MB archive can hold a 1.2 GB review).
MAX_REVIEW_BYTES = 1 << 20
_REVIEW_MEMBER = re.compile(r"aclImdb/(train|test)/(pos|neg|unsup)/(\d+)_(\d+)\.txt")
_LABELS = {"neg": 0, "pos": 1, "unsup": None}
_CLASS_ORDER = {"neg": 0, "pos": 1, "unsup": 2}


@dataclass
class ArchiveRows:
    review_ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    labels: list[int | None] = field(default_factory=list)
    ratings: list[int] = field(default_factory=list)
    sort_keys: list[tuple[int, int]] = field(default_factory=list)


def _check_member(member: tarfile.TarInfo, source: str) -> None:
    """Refuse members that could escape or alias a directory if ever extracted."""
    name = member.name
    parts = Path(name).parts
    if name.startswith(("/", "\\")) or (parts and ":" in parts[0]):
        problem = "has an absolute path"
    elif ".." in parts:
        problem = "has a '..' path component"
    elif member.issym() or member.islnk():
        problem = f"is a link to {member.linkname!r}"
    elif member.isdev():
        problem = "is a device or FIFO"
    elif not (member.isfile() or member.isdir()):
        problem = "is not a regular file or directory"
    else:
        return
    raise DataError(
        f"The archive {source} has a member {name!r} that {problem}; refusing it, so use "
        "an unmodified aclImdb_v1.tar.gz."
    )


def read_members(
    archive: Path, source: str, progress_seconds: float = PROGRESS_SECONDS
) -> dict[str, ArchiveRows]:
    """Stream the archive once and collect every review, per split, saying how far it
    got every ``progress_seconds`` (it takes half a minute)."""
    rows = {split: ArchiveRows() for split in ARCHIVE_SPLITS}
    seen: set[str] = set()
    progress = Progress(
        logger,
        "Reading the archive",
        sum(IMDB_EXPECTED_COUNTS.values()),
        "reviews",
        progress_seconds,
    )
    try:
        # GzipFile checks the trailer's CRC and length; tarfile's own "r|gz" stream does
        # not, and a tar cut at a block boundary would otherwise read as a short archive.
        with (
            gzip.open(archive, "rb") as decompressed,
            tarfile.open(fileobj=decompressed, mode="r|") as stream,
        ):
            for member in stream:
                _check_member(member, source)
                match = _REVIEW_MEMBER.fullmatch(member.name)
                if match is None or not member.isfile():
                    continue
                folder_split, folder, file_id, rating_text = match.groups()
                split = "unsup" if folder == "unsup" else folder_split
                if folder == "unsup" and folder_split != "train":
                    continue
                review_id = f"{folder_split}/{folder}/{file_id}"
                if review_id in seen:
                    raise DataError(
                        f"The archive {source} holds review {review_id} twice "
                        f"(member {member.name!r}); use an unmodified aclImdb_v1.tar.gz."
                    )
                seen.add(review_id)
                progress.update(len(seen))
                if member.size > MAX_REVIEW_BYTES:
                    raise DataError(
                        f"The archive {source} member {member.name!r} holds {member.size:,} "
                        f"bytes, larger than the {MAX_REVIEW_BYTES:,}-byte limit for one review; "
                        "use an unmodified aclImdb_v1.tar.gz."
                    )
                rating = int(rating_text)
                if not 0 <= rating <= 10:
                    raise DataError(
                        f"The archive {source} member {member.name!r} has rating {rating} in "
                        "its name, outside 0-10; use an unmodified aclImdb_v1.tar.gz."
                    )
                handle = stream.extractfile(member)
                payload = handle.read() if handle is not None else b""
                try:
                    text = payload.decode("utf-8")
                except UnicodeDecodeError as error:
                    raise DataError(
                        f"The archive {source} member {member.name!r} is not valid UTF-8 "
                        f"({error.reason} at byte {error.start}); use an unmodified "
                        "aclImdb_v1.tar.gz."
                    ) from error
                bucket = rows[split]
                bucket.review_ids.append(review_id)
                bucket.texts.append(text)
                bucket.labels.append(_LABELS[folder])
                bucket.ratings.append(rating)
                bucket.sort_keys.append((_CLASS_ORDER[folder], int(file_id)))
            while decompressed.read(CHUNK_SIZE):
                pass  # reach the gzip trailer so truncation after the last member shows
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise DataError(
            f"The archive {source} is truncated or not a gzip-compressed tar ({error}); "
            "delete it and fetch aclImdb_v1.tar.gz again."
        ) from error
    progress.finish()
    return rows


def class_counts(rows: Mapping[str, ArchiveRows]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for split in ("train", "test"):
        labels = rows[split].labels
        counts[f"{split}/neg"] = sum(1 for label in labels if label == 0)
        counts[f"{split}/pos"] = sum(1 for label in labels if label == 1)
    counts["unsup"] = len(rows["unsup"].review_ids)
    return counts


def check_counts(found: Mapping[str, int], expected: Mapping[str, int] | None, source: str) -> None:
    summary = ", ".join(f"{key} {value:,}" for key, value in found.items())
    missing = [key for key, value in found.items() if value == 0]
    if missing:
        raise DataError(
            f"The archive {source} lacks reviews in {', '.join(missing)} (found {summary}); "
            "use a complete aclImdb_v1.tar.gz."
        )
    if expected is not None and dict(found) != dict(expected):
        wanted = ", ".join(f"{key} {value:,}" for key, value in expected.items())
        raise DataError(
            f"The archive {source} has unexpected review counts: found {summary}, expected "
            f"{wanted}; use an unmodified aclImdb_v1.tar.gz."
        )


def split_table(rows: ArchiveRows) -> pa.Table:
    order = sorted(range(len(rows.review_ids)), key=rows.sort_keys.__getitem__)
    return pa.table(
        {
            "review_id": [rows.review_ids[index] for index in order],
            "text": [rows.texts[index] for index in order],
            "label": [rows.labels[index] for index in order],
            "rating": [rows.ratings[index] for index in order],
        },
        schema=RAW_SCHEMA,
    )

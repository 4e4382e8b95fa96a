"""Fetch the IMDB archive, verify it and ingest it into three typed Parquet files.

The stage is split so an orchestrator can retry only the network part:

* :func:`cached_ingest` — the raw Parquet files are already there for an accepted archive;
* :func:`obtain_archive` — reuse the cached archive or fetch, verify and cache a new one
  (:func:`fetch_archive`, :func:`verify_archive`, :func:`store_archive`);
* :func:`write_raw_splits` — stream the tar members and write ``raw/imdb/*.parquet``.

:func:`ingest_imdb` chains them for callers without an orchestrator.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import json
import logging
import os
import re
import tarfile
import time
import urllib.error
import urllib.request
import uuid
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sentiment.core.atomic import TEMPORARY_PREFIX, atomic_directory, write_json
from sentiment.core.errors import ConfigError, DataError
from sentiment.core.paths import HomeLayout

logger = logging.getLogger(__name__)

OFFICIAL_SOURCE = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
SOURCE_ENVIRONMENT_VARIABLE = "SENTIMENT_IMDB_SOURCE"
SHA256_ENVIRONMENT_VARIABLE = "SENTIMENT_IMDB_SHA256"

OFFICIAL_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
# The documented re-packed mirror (../shared/data/README.md): the same review texts
# without the bag-of-words files, so its bytes and hash differ from the official one.
REPACKED_MIRROR_SHA256 = "5d678f0ee83f6c9f55cc7713dee92fece81f7510793555c1864cd21ca671073f"
KNOWN_SHA256 = frozenset({OFFICIAL_SHA256, REPACKED_MIRROR_SHA256})

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

MANIFEST_NAME = "manifest.json"
_SIDECAR_SUFFIX = ".json"
_CHUNK_SIZE = 1 << 20
# The largest review member accepted. IMDB's longest review is 14 KB; a member declaring
# more is refused from its tar header, before a byte of it is read, so a small archive
# cannot expand into gigabytes of memory (a 1.17 MB archive can hold a 1.2 GB review).
MAX_REVIEW_BYTES = 1 << 20
_NETWORK_TIMEOUT_SECONDS = 60
_REVIEW_MEMBER = re.compile(r"aclImdb/(train|test)/(pos|neg|unsup)/(\d+)_(\d+)\.txt")
_SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")
_LABELS = {"neg": 0, "pos": 1, "unsup": None}
_CLASS_ORDER = {"neg": 0, "pos": 1, "unsup": 2}

ProgressCallback = Callable[[int, int | None], None]


class SourceUnreachableError(DataError):
    """The archive's address could not be reached; the only failure worth retrying."""


@dataclass(frozen=True)
class ArchiveFile:
    """An archive on disk with its verified content hash."""

    path: Path
    sha256: str
    size_bytes: int
    cache_hit: bool = False


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


# --- sources and hashes -------------------------------------------------------------


def resolve_source(source: str | None = None) -> str:
    """Return ``source``, else ``$SENTIMENT_IMDB_SOURCE``, else the official address."""
    return source or os.environ.get(SOURCE_ENVIRONMENT_VARIABLE) or OFFICIAL_SOURCE


def resolve_sha256(sha256: str | None = None) -> str | None:
    """Return ``sha256``, else ``$SENTIMENT_IMDB_SHA256``, else ``None`` (any known hash)."""
    return sha256 or os.environ.get(SHA256_ENVIRONMENT_VARIABLE) or None


def accepted_hashes(sha256: str | None = None) -> frozenset[str]:
    """Return the archive hashes to accept.

    Args:
        sha256: A hash the user demands, or ``None`` to accept any known IMDB archive.

    Returns:
        Lowercase hex digests.

    Raises:
        ConfigError: ``sha256`` is not 64 hexadecimal digits.
    """
    if sha256 is None:
        return KNOWN_SHA256
    normalized = sha256.strip().lower()
    if not _SHA256_PATTERN.fullmatch(normalized):
        raise ConfigError(
            f"The sha256 {sha256!r} is not 64 hexadecimal digits; pass the archive's full "
            "hex digest with --sha256 or SENTIMENT_IMDB_SHA256."
        )
    return frozenset({normalized})


def _describe_expected(accepted: frozenset[str]) -> str:
    if accepted == KNOWN_SHA256:
        return f"one of the known IMDB archive hashes ({', '.join(sorted(accepted))})"
    return next(iter(accepted))


def _local_path(source: str) -> Path | None:
    """Return the file a local source names, or ``None`` for an http(s) URL."""
    if source.startswith(("http://", "https://")):
        return None
    if source.startswith("file://"):
        return Path(urllib.request.url2pathname(source.removeprefix("file://")))
    return Path(source).expanduser()


# --- the archive cache --------------------------------------------------------------


def _archive_path(home: Path) -> Path:
    return HomeLayout(home).cache_dir / "aclImdb_v1.tar.gz"


def _sidecar_path(archive: Path) -> Path:
    return archive.with_name(archive.name + _SIDECAR_SUFFIX)


def _stat_signature(path: Path) -> dict[str, int]:
    status = path.stat()
    return {"size_bytes": status.st_size, "mtime_ns": status.st_mtime_ns}


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return payload if isinstance(payload, dict) else None


def cached_archive(home: Path, sha256: str | None = None) -> ArchiveFile | None:
    """Return the cached archive if it is unchanged and has an accepted hash.

    A sidecar written with the archive records its hash, size and modification time, so
    an unchanged archive is recognized by a stat call instead of re-hashing 80 MB.

    Args:
        home: The pipeline home.
        sha256: The demanded hash, or ``None`` for any known IMDB archive.

    Returns:
        The cached archive, or ``None`` when there is none or it does not qualify.
    """
    accepted = accepted_hashes(sha256)
    archive = _archive_path(home)
    sidecar = _read_json(_sidecar_path(archive))
    if sidecar is None or not archive.is_file():
        return None
    signature = _stat_signature(archive)
    if any(sidecar.get(key) != value for key, value in signature.items()):
        return None
    if sidecar.get("sha256") not in accepted:
        return None
    return ArchiveFile(archive, sidecar["sha256"], signature["size_bytes"], cache_hit=True)


def fetch_archive(
    source: str, directory: Path, progress: ProgressCallback | None = None
) -> ArchiveFile:
    """Copy or download ``source`` to a new temporary file in ``directory``, hashing it.

    The caller verifies the result and stores it (or deletes it); the cached archive is
    never touched here.

    Args:
        source: An http(s) URL, a ``file://`` URL or a local path.
        directory: Where the temporary file goes (the cache directory, so the final
            rename is atomic).
        progress: Called with (bytes so far, total bytes or ``None``) after each chunk.

    Returns:
        The temporary file with its sha256 and size.

    Raises:
        SourceUnreachableError: The URL could not be reached or the transfer broke off.
        DataError: A local source does not exist or cannot be read.
    """
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f"{TEMPORARY_PREFIX}{uuid.uuid4().hex[:8]}-aclImdb_v1.tar.gz"
    digest = hashlib.sha256()
    done = 0
    try:
        with _open_source(source) as (stream, total), open(temporary, "wb") as output:
            while True:
                try:
                    chunk = stream.read(_CHUNK_SIZE)
                except OSError as error:
                    raise SourceUnreachableError(
                        f"The download of {source} broke off after {done:,} bytes ({error}); "
                        "check the network and run again."
                    ) from error
                if not chunk:
                    break
                output.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    logger.info("Fetched %s (%s bytes).", source, f"{done:,}")
    return ArchiveFile(temporary, digest.hexdigest(), done)


@contextlib.contextmanager
def _open_source(source: str) -> Iterator[tuple[Any, int | None]]:
    local = _local_path(source)
    if local is not None:
        if not local.is_file():
            raise DataError(
                f"The archive source {source} does not exist or is not a file; pass the path "
                "or URL of aclImdb_v1.tar.gz with --source or SENTIMENT_IMDB_SOURCE."
            )
        try:
            # Opened apart from the ``with`` so only the open's own error is reworded.
            handle = open(local, "rb")  # noqa: SIM115
        except OSError as error:
            raise DataError(
                f"The archive source {source} cannot be read ({error.strerror}); "
                "fix its permissions or pass another --source."
            ) from error
        with handle:
            yield handle, local.stat().st_size
        return
    request = urllib.request.Request(source, headers={"User-Agent": "sentiment-pipeline"})
    try:
        response = urllib.request.urlopen(request, timeout=_NETWORK_TIMEOUT_SECONDS)
    except urllib.error.HTTPError as error:
        # A missing or forbidden file stays so on a retry; a busy server may recover.
        if 400 <= error.code < 500 and error.code not in (408, 429):
            raise DataError(
                f"The archive source {source} answered HTTP {error.code} ({error.reason}); "
                "check the URL or pass a local copy with --source or SENTIMENT_IMDB_SOURCE."
            ) from error
        raise SourceUnreachableError(
            f"The archive source {source} answered HTTP {error.code} ({error.reason}); "
            "try again later or pass a local copy with --source or SENTIMENT_IMDB_SOURCE."
        ) from error
    except (urllib.error.URLError, OSError) as error:
        cause = getattr(error, "reason", None) or error
        raise SourceUnreachableError(
            f"The archive source {source} is unreachable ({cause}); check the network or "
            "pass a local copy with --source or SENTIMENT_IMDB_SOURCE."
        ) from error
    with response:
        length = response.headers.get("Content-Length")
        yield response, int(length) if length and length.isdigit() else None


def verify_archive(archive: ArchiveFile, source: str, sha256: str | None = None) -> None:
    """Check a fetched archive's hash; delete it and raise when it does not match.

    Raises:
        DataError: The hash is not the demanded one (or not a known IMDB hash).
    """
    accepted = accepted_hashes(sha256)
    if archive.sha256 in accepted:
        return
    archive.path.unlink(missing_ok=True)
    raise DataError(
        f"The archive from {source} has sha256 {archive.sha256} but "
        f"{_describe_expected(accepted)} was expected; check the source, or pass the "
        "right hash with --sha256 or SENTIMENT_IMDB_SHA256."
    )


def store_archive(archive: ArchiveFile, home: Path) -> ArchiveFile:
    """Rename a verified temporary archive into the cache, with its hash sidecar."""
    destination = _archive_path(home)
    os.replace(archive.path, destination)
    write_json(
        _sidecar_path(destination), {"sha256": archive.sha256, **_stat_signature(destination)}
    )
    return ArchiveFile(destination, archive.sha256, archive.size_bytes, cache_hit=False)


def obtain_archive(
    source: str,
    home: Path,
    sha256: str | None = None,
    progress: ProgressCallback | None = None,
) -> ArchiveFile:
    """Return a verified archive in the cache, fetching it only when needed.

    An earlier good cache is replaced only after a new archive has been verified.

    Args:
        source: An http(s) URL, a ``file://`` URL or a local path.
        home: The pipeline home.
        sha256: The demanded hash, or ``None`` for any known IMDB archive.
        progress: Forwarded to :func:`fetch_archive`.

    Returns:
        The cached archive; ``cache_hit`` says whether it was reused.
    """
    accepted_hashes(sha256)  # a malformed hash fails before any network work
    cached = cached_archive(home, sha256)
    if cached is not None:
        logger.info("Reusing the cached archive %s.", cached.path)
        return cached
    fetched = fetch_archive(source, HomeLayout(home).cache_dir, progress)
    try:
        verify_archive(fetched, source, sha256)
        return store_archive(fetched, home)
    finally:
        fetched.path.unlink(missing_ok=True)


# --- reading the archive ------------------------------------------------------------


@dataclass
class _Rows:
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


def _read_members(archive: Path, source: str) -> dict[str, _Rows]:
    """Stream the archive once and collect every review, per split."""
    rows = {split: _Rows() for split in ARCHIVE_SPLITS}
    seen: set[str] = set()
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
            while decompressed.read(_CHUNK_SIZE):
                pass  # reach the gzip trailer so truncation after the last member shows
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise DataError(
            f"The archive {source} is truncated or not a gzip-compressed tar ({error}); "
            "delete it and fetch aclImdb_v1.tar.gz again."
        ) from error
    return rows


def _class_counts(rows: Mapping[str, _Rows]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for split in ("train", "test"):
        labels = rows[split].labels
        counts[f"{split}/neg"] = sum(1 for label in labels if label == 0)
        counts[f"{split}/pos"] = sum(1 for label in labels if label == 1)
    counts["unsup"] = len(rows["unsup"].review_ids)
    return counts


def _check_counts(
    found: Mapping[str, int], expected: Mapping[str, int] | None, source: str
) -> None:
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


def _table(rows: _Rows) -> pa.Table:
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


# --- the raw Parquet files ----------------------------------------------------------


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
    recorded, so the check is a few stat calls.

    Args:
        home: The pipeline home.
        sha256: The demanded hash, or ``None`` for any known IMDB archive.

    Returns:
        The earlier result with ``cache_hit=True``, or ``None``.
    """
    started = time.perf_counter()
    accepted = accepted_hashes(sha256)
    layout = HomeLayout(home)
    manifest = _read_json(_manifest_path(home))
    if manifest is None or manifest.get("archive_sha256") not in accepted:
        return None
    files = manifest.get("files", {})
    for split in ARCHIVE_SPLITS:
        path = layout.raw_split(split)
        if not path.is_file() or files.get(split) != _stat_signature(path):
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
    rows = _read_members(archive.path, source)
    class_counts = _class_counts(rows)
    _check_counts(class_counts, expected_counts, source)
    layout = HomeLayout(home)
    row_counts = {split: len(rows[split].review_ids) for split in ARCHIVE_SPLITS}
    with atomic_directory(layout.raw_dir) as staging:
        files: dict[str, dict[str, int]] = {}
        for split in ARCHIVE_SPLITS:
            target = staging / layout.raw_split(split).name
            pq.write_table(_table(rows[split]), target, compression="zstd")
            files[split] = _stat_signature(target)
        # Renaming the directory keeps each file's mtime, so the recorded stats stay valid.
        write_json(
            staging / MANIFEST_NAME,
            {
                "archive_sha256": archive.sha256,
                "archive_size_bytes": archive.size_bytes,
                "class_counts": class_counts,
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
        class_counts=class_counts,
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

"""The IMDB archive: where it comes from, which hashes are accepted, fetching it,
verifying it and keeping a verified copy in the home's archive cache. The same fetching
copies the short-text development set (``sentiment.data.short_texts``)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sentiment.core.atomic import temporary_name, write_json
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

_SIDECAR_SUFFIX = ".json"
CHUNK_SIZE = 1 << 20
_NETWORK_TIMEOUT_SECONDS = 60
_SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")

ProgressCallback = Callable[[int, int | None], None]


class SourceUnreachableError(DataError):
    """A source's address could not be reached; the only failure worth retrying."""


@dataclass(frozen=True)
class Download:
    """What a fetched file is: its temporary name and how its error sentences name it.

    Attributes:
        what: What the file is, as a sentence names its source (``"archive"``).
        file_name: The file's usual name, for its temporary name and the fix.
        option: Where the user passes another source.
    """

    what: str
    file_name: str
    option: str


IMDB_ARCHIVE = Download("archive", "aclImdb_v1.tar.gz", "--source or SENTIMENT_IMDB_SOURCE")


@dataclass(frozen=True)
class ArchiveFile:
    """An archive on disk with its verified content hash."""

    path: Path
    sha256: str
    size_bytes: int
    cache_hit: bool = False


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


def local_path(source: str) -> Path | None:
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


def stat_signature(path: Path) -> dict[str, int]:
    status = path.stat()
    return {"size_bytes": status.st_size, "mtime_ns": status.st_mtime_ns}


def read_json_or_none(path: Path) -> dict[str, Any] | None:
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
    sidecar = read_json_or_none(_sidecar_path(archive))
    if sidecar is None or not archive.is_file():
        return None
    signature = stat_signature(archive)
    if any(sidecar.get(key) != value for key, value in signature.items()):
        return None
    if sidecar.get("sha256") not in accepted:
        return None
    return ArchiveFile(archive, sidecar["sha256"], signature["size_bytes"], cache_hit=True)


def fetch_archive(
    source: str,
    directory: Path,
    progress: ProgressCallback | None = None,
    download: Download = IMDB_ARCHIVE,
) -> ArchiveFile:
    """Copy or download ``source`` to a new temporary file in ``directory``, hashing it.

    The caller verifies the result and stores it (or deletes it); the cached archive is
    never touched here.

    Args:
        source: An http(s) URL, a ``file://`` URL or a local path.
        directory: Where the temporary file goes (the cache directory, so the final
            rename is atomic).
        progress: Called with (bytes so far, total bytes or ``None``) after each chunk.
        download: What the file is (default: the IMDB archive), for its temporary name
            and error sentences.

    Returns:
        The temporary file with its sha256 and size.

    Raises:
        SourceUnreachableError: The URL could not be reached or the transfer broke off.
        DataError: A local source does not exist or cannot be read.
    """
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / temporary_name(download.file_name)
    digest = hashlib.sha256()
    done = 0
    try:
        with _open_source(source, download) as (stream, total), open(temporary, "wb") as output:
            while True:
                try:
                    chunk = stream.read(CHUNK_SIZE)
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
def _open_source(source: str, download: Download) -> Iterator[tuple[Any, int | None]]:
    local = local_path(source)
    if local is not None:
        if not local.is_file():
            raise DataError(
                f"The {download.what} source {source} does not exist or is not a file; pass "
                f"the path or URL of {download.file_name} with {download.option}."
            )
        try:
            # Opened apart from the ``with`` so only the open's own error is reworded.
            handle = open(local, "rb")  # noqa: SIM115
        except OSError as error:
            raise DataError(
                f"The {download.what} source {source} cannot be read ({error.strerror}); "
                f"fix its permissions or pass another source with {download.option}."
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
                f"The {download.what} source {source} answered HTTP {error.code} ({error.reason}); "
                f"check the URL or pass a local copy with {download.option}."
            ) from error
        raise SourceUnreachableError(
            f"The {download.what} source {source} answered HTTP {error.code} ({error.reason}); "
            f"try again later or pass a local copy with {download.option}."
        ) from error
    except (urllib.error.URLError, OSError) as error:
        cause = getattr(error, "reason", None) or error
        raise SourceUnreachableError(
            f"The {download.what} source {source} is unreachable ({cause}); check the network or "
            f"pass a local copy with {download.option}."
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
        _sidecar_path(destination), {"sha256": archive.sha256, **stat_signature(destination)}
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

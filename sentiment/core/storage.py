"""Files by path or by URL: local paths, ``file://`` and anything ``pyarrow.fs`` opens.

A *location* is either a :class:`~pathlib.Path` (a local file, as everywhere else in the
pipeline) or a URL string such as ``s3://bucket/dump/reviews.parquet``. Local locations
keep every behaviour they always had (rename into place, locked temporaries); a URL is
opened through :func:`pyarrow.fs.FileSystem.from_uri`, so S3, GCS, HDFS and whatever
else pyarrow supports work the same way. Only this module tells the two apart.

Credentials and the endpoint come from the standard environment, as the AWS tools
read it: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` (and ``AWS_SESSION_TOKEN``),
``AWS_DEFAULT_REGION`` and ``AWS_ENDPOINT_URL`` for an S3-compatible server. pyarrow 26
reads ``AWS_ENDPOINT_URL`` itself; older versions do not, so it is passed on here.

Writing is atomic on both. A local file is written under a temporary name and renamed.
An object store has no rename, but an object appears only once its upload is complete:
an output is written to a temporary key beside its final one (``.tmp-<hex>-<name>``)
and then moved there with a server-side copy, so its final key never shows part of a
file; a killed run leaves at most a temporary key, which the next run removes.
"""

from __future__ import annotations

import contextlib
import fnmatch
import glob as local_glob
import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlparse

import pyarrow.fs as pafs

from sentiment.core.atomic import TEMPORARY_PREFIX, atomic_path

Location = Path | str
"""A local :class:`Path`, or the URL (``s3://...``) of a remote file or directory."""

_SCHEME_SEPARATOR = "://"


def location(value: str | os.PathLike[str]) -> Location:
    """The location a user wrote: a URL stays a URL, a path or ``file://`` URL is a Path."""
    if isinstance(value, Path):
        return value
    text = os.fspath(value)
    if _SCHEME_SEPARATOR not in text:
        return Path(text)
    parsed = urlparse(text)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    return text.rstrip("/") or text


def is_remote(where: Location) -> bool:
    """Whether ``where`` is a URL (not a local path)."""
    return isinstance(where, str) and _SCHEME_SEPARATOR in where


def _scheme(where: str) -> str:
    return where.split(_SCHEME_SEPARATOR, 1)[0]


def _prefix(where: str) -> str:
    """``s3://``: the part of a URL that the file system's own paths leave out."""
    return _scheme(where) + _SCHEME_SEPARATOR


def filesystem(where: Location) -> tuple[pafs.FileSystem, str]:
    """The pyarrow file system that holds ``where``, and its path there.

    Raises:
        OSError: If the URL's scheme is not supported or its file system cannot be set up.
    """
    if not is_remote(where):
        return pafs.LocalFileSystem(), str(where)
    assert isinstance(where, str)
    if _scheme(where) == "s3":
        path = where[len("s3://") :]
        return _s3(path.split("/", 1)[0]), path
    try:
        return pafs.FileSystem.from_uri(where)
    except ValueError as error:  # pyarrow's ArrowInvalid: an unknown scheme
        raise OSError(f"unsupported location {where} ({error})") from error


_S3_CACHE: dict[tuple[str | None, ...], pafs.S3FileSystem] = {}


def _s3(bucket: str) -> pafs.S3FileSystem:
    """An S3 file system configured from the environment (one per distinct setting).

    Credentials come from the AWS SDK's own chain (``AWS_ACCESS_KEY_ID`` and friends,
    profiles, instance roles). Without ``AWS_ENDPOINT_URL`` or a region, the bucket's
    region is looked up once, as ``FileSystem.from_uri`` would.
    """
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")
    settings = (endpoint, region, os.environ.get("AWS_ACCESS_KEY_ID"))
    if not endpoint and not region:
        settings = (*settings, bucket)
    cached = _S3_CACHE.get(settings)
    if cached is None:
        options: dict[str, Any] = {}
        if endpoint:
            parsed = urlparse(endpoint)
            options["endpoint_override"] = parsed.netloc or endpoint
            options["scheme"] = parsed.scheme or "https"
        if region:
            options["region"] = region
        elif not endpoint and bucket:
            options["region"] = pafs.resolve_s3_region(bucket)
        cached = _S3_CACHE[settings] = pafs.S3FileSystem(**options)
    return cached


def _url(where: str, path: str) -> str:
    """A file system path back as a URL of the same scheme as ``where``."""
    return _prefix(where) + path


def join(where: Location, *names: str) -> Location:
    """``where / name / ...``, for a path or a URL."""
    if not is_remote(where):
        return Path(where).joinpath(*names)
    assert isinstance(where, str)
    return "/".join([where.rstrip("/"), *names])


def name(where: Location) -> str:
    """The last component of a location (a file's name)."""
    if not is_remote(where):
        return Path(where).name
    return str(where).rstrip("/").rsplit("/", 1)[-1]


def parent(where: Location) -> Location:
    """The directory holding ``where``."""
    if not is_remote(where):
        return Path(where).parent
    return str(where).rstrip("/").rsplit("/", 1)[0]


def same(first: Location, second: Location) -> bool:
    """Whether two locations name the same file or directory."""
    if is_remote(first) or is_remote(second):
        return str(first).rstrip("/") == str(second).rstrip("/")
    return Path(first).resolve() == Path(second).resolve()


def resolve(where: Location) -> Location:
    """A local path made absolute with its links resolved; a URL as it is."""
    return where if is_remote(where) else Path(where).resolve()


def identity(where: Location) -> str:
    """A key that is equal for two spellings of the same location."""
    return str(resolve(where)).rstrip("/") or "/"


def _info(where: Location) -> pafs.FileInfo:
    fs, path = filesystem(where)
    return fs.get_file_info(path)


def exists(where: Location) -> bool:
    """Whether a file or directory is at ``where``."""
    if not is_remote(where):
        return Path(where).exists()
    return _info(where).type != pafs.FileType.NotFound


def is_file(where: Location) -> bool:
    """Whether ``where`` is a file."""
    if not is_remote(where):
        return Path(where).is_file()
    return _info(where).type == pafs.FileType.File


def is_dir(where: Location) -> bool:
    """Whether ``where`` is a directory (on an object store: a prefix holding objects)."""
    if not is_remote(where):
        return Path(where).is_dir()
    return _info(where).type == pafs.FileType.Directory


def size(where: Location) -> int:
    """The size of a file in bytes."""
    if not is_remote(where):
        return Path(where).stat().st_size
    info = _info(where)
    if info.type != pafs.FileType.File:
        raise FileNotFoundError(f"{where} is not a file")
    return int(info.size or 0)


@dataclass(frozen=True)
class Entry:
    """One file of a listing, with what the listing said of it (an object store lists
    sizes and times, so callers need no request per file)."""

    location: Location
    name: str
    mtime: float | None
    size: int


def list_files(directory: Location) -> list[Entry]:
    """The files directly inside ``directory`` (not recursive), sorted by name."""
    if not is_remote(directory):
        entries = []
        for child in Path(directory).iterdir():
            entry = _local_entry(child)
            if entry is not None:
                entries.append(entry)
        return sorted(entries, key=lambda entry: entry.name)
    assert isinstance(directory, str)
    fs, path = filesystem(directory)
    infos = fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
    return sorted(
        (_remote_entry(directory, info) for info in infos if info.type == pafs.FileType.File),
        key=lambda entry: entry.name,
    )


def _local_entry(path: Path) -> Entry | None:
    """A local file's entry, or None if it is not a file (or is gone since the listing)."""
    with contextlib.suppress(FileNotFoundError):
        if path.is_file():
            status = path.stat()
            return Entry(path, path.name, status.st_mtime, status.st_size)
    return None


def _remote_entry(like: str, info: pafs.FileInfo) -> Entry:
    return Entry(
        _url(like, info.path),
        info.base_name,
        info.mtime.timestamp() if info.mtime is not None else None,
        int(info.size or 0),
    )


def is_pattern(text: str) -> bool:
    """Whether ``text`` holds glob characters."""
    return any(character in text for character in "*?[")


def glob_entries(pattern: str) -> list[Entry]:
    """The files matching a glob pattern, sorted by location.

    A URL's pattern matches as :func:`glob.glob` matches a local one with
    ``recursive=True``: ``*``, ``?`` and ``[...]`` stay within one path component, ``**``
    as a whole component spans zero or more directories, and a wildcard matches no name
    that starts with ``.`` unless its component does too.
    """
    if not is_remote(pattern):
        matches = (_local_entry(Path(match)) for match in local_glob.glob(pattern, recursive=True))
        return sorted((entry for entry in matches if entry is not None), key=_by_location)
    fs, path = filesystem(pattern)
    parts = path.split("/")
    static = []
    for part in parts:
        if is_pattern(part):
            break
        static.append(part)
    base = "/".join(static)
    # Only a pattern in the last component can be answered by one directory's listing.
    recursive = len(parts) - len(static) > 1 or "**" in parts
    infos = fs.get_file_info(pafs.FileSelector(base, recursive=recursive, allow_not_found=True))
    return sorted(
        (
            _remote_entry(pattern, info)
            for info in infos
            if info.type == pafs.FileType.File and _matches(info.path.split("/"), parts)
        ),
        key=_by_location,
    )


def _by_location(entry: Entry) -> Any:
    """The sort key of one listing's entries: all paths (sorted as paths, as the local
    glob always sorted) or all URLs."""
    return entry.location


def _matches(names: list[str], parts: list[str]) -> bool:
    """Whether a path's components match a pattern's, as :func:`glob.glob` would."""
    if not parts:
        return not names
    part, rest = parts[0], parts[1:]
    if part == "**":
        for consumed in range(len(names) + 1):
            if _matches(names[consumed:], rest):
                return True
            # The local glob does not descend into hidden directories either.
            if consumed < len(names) and names[consumed].startswith("."):
                return False
        return False
    return bool(names) and _matches_name(names[0], part) and _matches(names[1:], rest)


def _matches_name(name: str, part: str) -> bool:
    if not is_pattern(part):
        return name == part
    # As glob.glob: hidden names (our own ".tmp-" keys among them) need a leading "." too.
    if name.startswith(".") and not part.startswith("."):
        return False
    return fnmatch.fnmatchcase(name, part)


def open_input(where: Location) -> BinaryIO:
    """Open a file for reading (seekable; ``readinto`` works)."""
    if not is_remote(where):
        return open(where, "rb")
    fs, path = filesystem(where)
    return fs.open_input_file(path)  # type: ignore[return-value]


def make_directory(where: Location) -> None:
    """Create a directory and its parents (an object store needs none: a no-op there)."""
    if not is_remote(where):
        Path(where).mkdir(parents=True, exist_ok=True)


def check_writable(directory: Location) -> None:
    """Write and remove a probe file in ``directory``.

    Raises:
        OSError: If nothing can be written there.
    """
    if not is_remote(directory):
        with tempfile.NamedTemporaryFile(dir=directory, prefix=TEMPORARY_PREFIX + "probe-"):
            return
    probe = join(directory, f"{TEMPORARY_PREFIX}{uuid.uuid4().hex[:8]}-probe")
    fs, path = filesystem(probe)
    with fs.open_output_stream(path) as stream:
        stream.write(b"")
    fs.delete_file(path)


def remove(where: Location) -> None:
    """Delete a file; nothing happens if it is absent."""
    if not is_remote(where):
        Path(where).unlink(missing_ok=True)
        return
    fs, path = filesystem(where)
    with contextlib.suppress(FileNotFoundError):
        fs.delete_file(path)


def remove_tree(where: Location) -> None:
    """Delete a directory and everything in it; errors are ignored (it is clean-up)."""
    if not is_remote(where):
        shutil.rmtree(where, ignore_errors=True)
        return
    fs, path = filesystem(where)
    with contextlib.suppress(OSError):
        fs.delete_dir(path)


def remove_if_empty(directory: Location) -> None:
    """Delete a directory only if it holds nothing (clean-up; errors are ignored)."""
    if not is_remote(directory):
        with contextlib.suppress(OSError):
            Path(directory).rmdir()
        return
    fs, path = filesystem(directory)
    with contextlib.suppress(OSError):
        if not fs.get_file_info(pafs.FileSelector(path, recursive=True, allow_not_found=True)):
            fs.delete_dir(path)


def write_bytes(destination: Location, data: bytes) -> None:
    """Write a whole file atomically (see the module's note on atomic writes)."""
    with atomic_output(destination) as temporary:
        fs, path = filesystem(temporary)
        with fs.open_output_stream(path) as stream:
            stream.write(data)


def read_bytes(where: Location) -> bytes:
    """A whole file's bytes."""
    with open_input(where) as handle:
        return handle.read()


@contextlib.contextmanager
def atomic_output(destination: Location, locked: bool = False) -> Iterator[Location]:
    """Yield a temporary location beside ``destination``; move it there on success.

    Write the temporary however you like (pass :func:`filesystem` of it to pyarrow).
    On an exception the temporary is removed and ``destination`` is untouched.

    Args:
        destination: The final file.
        locked: Hold an exclusive ``flock`` on a local temporary while it is written, so
            a later run can tell a live run's temporary from a killed one's
            (:mod:`sentiment.scoring.outputs`). An object store's temporary key becomes
            visible only once its upload is complete, so it needs no lock.

    Yields:
        The temporary's location.
    """
    if not is_remote(destination):
        with atomic_path(Path(destination)) as temporary:
            if not locked:
                yield temporary
                return
            import fcntl

            with open(temporary, "ab") as handle:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                yield temporary
        return
    fs, path = filesystem(destination)
    directory, _, base = path.rpartition("/")
    temporary_path = f"{directory}/{TEMPORARY_PREFIX}{uuid.uuid4().hex[:8]}-{base}"
    try:
        yield _url(str(destination), temporary_path)
        # A server-side copy, then the temporary's deletion: the final key appears whole.
        fs.move(temporary_path, path)
    finally:
        with contextlib.suppress(OSError):
            if fs.get_file_info(temporary_path).type != pafs.FileType.NotFound:
                fs.delete_file(temporary_path)


def local_copy(directory: Location, cache: Path) -> Path:
    """A local copy of a directory (a bundle at a URL), made once per URL under ``cache``.

    A local directory is returned as it is. A remote one is copied whole to a temporary
    directory and renamed into ``cache/<hash of the URL>/<name>`` unless a copy is there
    already; a bundle version never changes once written, so its copy stays valid, and
    processes copying the same URL at once all end up reading one complete copy.
    """
    if not is_remote(directory):
        return Path(directory)
    key = hashlib.sha256(identity(directory).encode()).hexdigest()[:12]
    target = Path(cache) / key / name(directory)
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fs, path = filesystem(directory)
    temporary = Path(tempfile.mkdtemp(prefix=TEMPORARY_PREFIX, dir=target.parent))
    try:
        pafs.copy_files(path, str(temporary), source_filesystem=fs)
        if not any(temporary.iterdir()):
            raise FileNotFoundError(f"{directory} holds no files")
        with contextlib.suppress(OSError):  # another process renamed its copy first
            os.rename(temporary, target)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return target

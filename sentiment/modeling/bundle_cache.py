"""Bundles named by URL (``s3://.../models/VERSION``): copied once per host into a cache
only this user can write, the copy's ``checksums.json`` equal to the object store's, so
a stale or planted copy is copied again (:func:`local_bundle`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from sentiment.core import storage
from sentiment.core.errors import DataError
from sentiment.modeling.bundle_files import CHECKSUMS_FILE

# Where bundles named by URL are copied to on each host (a worker copies it once); by
# default a directory only this user can write (see _bundle_cache).
BUNDLE_CACHE_VARIABLE = "SENTIMENT_BUNDLE_CACHE"


def _private_directory(directory: Path) -> Path:
    """``directory``, created only-this-user (0700) if absent.

    Raises:
        OSError: If it cannot be created.
        PermissionError: If it exists but another user owns it or may write to it.
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    status = directory.stat()
    if status.st_uid != os.getuid() or status.st_mode & 0o022:
        raise PermissionError(f"owned by uid {status.st_uid} with mode {status.st_mode & 0o777:o}")
    return directory


def _bundle_cache() -> Path:
    """The directory bundles named by URL are copied into: ``$SENTIMENT_BUNDLE_CACHE``,
    else ``$XDG_CACHE_HOME/sentiment/bundles`` (``~/.cache`` by default), else, with no
    writable home, a 0700 directory of this user's own under the temporary directory.
    Never a directory another user can write, where a planted copy would decide scores.

    Raises:
        DataError: If the directory named by the variable, or every default, is not this
            user's alone.
    """
    configured = os.environ.get(BUNDLE_CACHE_VARIABLE)
    if configured:
        try:
            return _private_directory(Path(configured).expanduser())
        except OSError as error:
            raise DataError(
                f"Bundle cache {configured} (${BUNDLE_CACHE_VARIABLE}) is not a directory only "
                f"you can write ({error}), so a copy there could be planted; point "
                f"{BUNDLE_CACHE_VARIABLE} at a directory of yours with mode 700."
            ) from error
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    candidates = [
        Path(cache_home) / "sentiment" / "bundles",
        Path(tempfile.gettempdir()) / f"sentiment-bundles-{os.getuid()}",
    ]
    problems = []
    for candidate in candidates:
        try:
            return _private_directory(candidate)
        except OSError as error:
            problems.append(f"{candidate}: {error}")
    raise DataError(
        f"No bundle cache only you can write could be made ({'; '.join(problems)}); set "
        f"{BUNDLE_CACHE_VARIABLE} to a directory of yours with mode 700."
    )


def local_bundle(directory: storage.Location | str) -> Path:
    """A bundle's local directory: itself, or for a URL (``s3://.../models/VERSION``) a
    copy made once per host in a cache only this user can write (:func:`_bundle_cache`),
    whose ``checksums.json`` equals the object store's: a stale or altered copy is copied
    again, so the files are verified (when read or loaded) against the source's checksums.

    Raises:
        DataError: If the URL cannot be copied (missing, or no access), has no
            checksums, or changes while it is copied.
    """
    where = storage.location(directory)
    if not storage.is_remote(where):
        return Path(where)
    cache = _bundle_cache()
    checksums = storage.join(where, CHECKSUMS_FILE)
    try:
        try:
            source = storage.read_bytes(checksums)
        except FileNotFoundError:
            raise DataError(
                f"Model bundle {where} has no checksums.json, so its files cannot be verified "
                "and it is refused; copy the bundle there whole, as 'sentiment train' saved it."
            ) from None
        copy = storage.local_copy(where, cache)
        if _read_if_present(copy / CHECKSUMS_FILE) != source:
            # A copy from before the source changed, or one altered here: copy it again.
            shutil.rmtree(copy, ignore_errors=True)
            copy = storage.local_copy(where, cache)
    except OSError as error:
        raise DataError(
            f"Model bundle {where} could not be copied ({error}); check the URL and the "
            "storage credentials (AWS_* variables)."
        ) from error
    if _read_if_present(copy / CHECKSUMS_FILE) != source:
        raise DataError(
            f"Model bundle {where} changed while it was being copied (its checksums.json "
            "differs from the copy's), so it is refused; score again once it is written whole."
        )
    return copy


def _read_if_present(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None

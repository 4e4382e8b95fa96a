"""Crash-safe file writing and content fingerprints.

Every file the pipeline writes goes to a temporary name in the same directory and is
renamed into place only when complete, so a crash never leaves a file that looks done.
Small records (:func:`write_text`, :func:`write_json`: snapshots, manifests) and whole
directories (:func:`atomic_directory`: bundles, batches) are also fsynced before the
rename and their directory after it, so a power cut cannot leave an empty file under the
final name.

A temporary's name carries the id of the process writing it (:func:`temporary_name`), so
one a killed process left behind is told from one still being written: each stage calls
:func:`remove_stale_temporaries` on its own directories when it starts.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

TEMPORARY_PREFIX = ".tmp-"
# ".tmp-<pid>-": the writer's process id, then anything.
_WRITER = re.compile(rf"^{re.escape(TEMPORARY_PREFIX)}(?P<pid>[0-9]+)-")
# Temporaries named before names carried the writer (".tmp-<hex>-name"): removed once
# this old, as no run takes a day to write one.
_UNNAMED_WRITER_SECONDS = 24 * 3600


def temporary_name(name: str) -> str:
    """A temporary name for ``name``: ``.tmp-<pid>-<8 hex digits>-<name>``, naming the
    process that writes it (see :func:`remove_stale_temporaries`)."""
    return f"{TEMPORARY_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}-{name}"


def _is_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def remove_stale_temporaries(*directories: Path) -> int:
    """Remove the temporaries a killed process left in ``directories`` (not below them).

    A temporary is stale when the process its name carries no longer runs; one whose
    name carries no process (written before names did) when it is a day old. A live
    run's temporaries are kept, so a stage may call this while another run writes.

    Returns:
        How many files and directories were removed.
    """
    removed = 0
    now = time.time()
    for directory in directories:
        try:
            entries = list(Path(directory).iterdir())
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if not entry.name.startswith(TEMPORARY_PREFIX):
                continue
            writer = _WRITER.match(entry.name)
            try:
                if writer is not None:
                    if _is_alive(int(writer.group("pid"))):
                        continue
                elif now - entry.lstat().st_mtime < _UNNAMED_WRITER_SECONDS:
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
            except FileNotFoundError:  # removed by another run meanwhile
                continue
            removed += 1
    if removed:
        logger.info(
            "Removed %d temporary file(s) left by a killed run in %s.",
            removed,
            ", ".join(str(directory) for directory in directories),
        )
    return removed


@contextlib.contextmanager
def atomic_path(destination: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``destination``; rename it into place on success.

    The caller writes the temporary path however it likes (pyarrow, Keras, open()).
    On an exception the temporary file is removed and ``destination`` is untouched.

    Args:
        destination: The final path.

    Yields:
        A path in the same directory, so the rename is atomic on POSIX.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = destination.with_name(temporary_name(destination.name))
    try:
        yield temporary
        os.replace(temporary, destination)
    finally:
        if temporary.exists():
            temporary.unlink()


def fsync_path(path: Path) -> None:
    """Flush a file's or a directory's contents (a directory: its entries) to disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_text(destination: Path, text: str) -> None:
    """Write ``text`` as UTF-8 to ``destination`` atomically and durably."""
    with atomic_path(destination) as temporary, open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    fsync_path(Path(destination).parent)


def write_json(destination: Path, payload: Any) -> None:
    """Write ``payload`` as indented, key-sorted JSON to ``destination`` atomically."""
    write_text(destination, json.dumps(payload, indent=2, sort_keys=True) + "\n")


@contextlib.contextmanager
def atomic_directory(destination: Path) -> Iterator[Path]:
    """Yield a temporary directory beside ``destination``; rename it into place on success.

    A directory that exists under its final name is therefore always complete. If
    ``destination`` already exists it is replaced only after the new one is complete.

    Args:
        destination: The final directory path.

    Yields:
        An empty temporary directory on the same file system.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(
        tempfile.mkdtemp(
            prefix=f"{TEMPORARY_PREFIX}{os.getpid()}-",
            suffix=f"-{destination.name}",
            dir=destination.parent,
        )
    )
    # mkdtemp makes an owner-only directory; the final one should follow the umask
    # like any directory the pipeline creates.
    temporary.chmod(0o777 & ~_current_umask())
    try:
        yield temporary
        for directory, _, files in os.walk(temporary, topdown=False):
            for name in files:
                fsync_path(Path(directory, name))
            fsync_path(Path(directory))
        if destination.exists():
            retired = destination.with_name(temporary_name(f"old-{destination.name}"))
            os.replace(destination, retired)
            os.replace(temporary, destination)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(temporary, destination)
        fsync_path(destination.parent)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def file_sha256(path: Path, chunk_size: int = 1 << 20) -> str:
    """Return the hex sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def content_fingerprint(content: bytes) -> str:
    """The fingerprint :func:`file_fingerprint` gives a file holding ``content``."""
    return "sha256:" + hashlib.sha256(content).hexdigest()[:16]


def file_fingerprint(path: Path) -> str:
    """Return a short content fingerprint (``sha256:`` plus 16 hex digits) of a file."""
    return "sha256:" + file_sha256(path)[:16]


def settings_fingerprint(payload: Any) -> str:
    """Return a short, stable hash of JSON-serializable settings."""
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()[:12]

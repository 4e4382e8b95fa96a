"""The output directory of a scoring run: checked up front, cleaned of dead temporaries.

A problem with the output (a file where the directory should be, no permission, a full
disk) is reported as one sentence naming the output, never as a fault of the inputs.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import re
import time
from collections.abc import Iterator

from sentiment.core import storage
from sentiment.core.atomic import TEMPORARY_PREFIX
from sentiment.core.errors import ConfigError
from sentiment.core.storage import Location

logger = logging.getLogger(__name__)

STALE_TEMPORARY = re.compile(rf"^{re.escape(TEMPORARY_PREFIX)}[0-9a-f]{{8}}-(?P<name>.+)$")
# Temporaries of small files (failed.jsonl) are not locked while written; one this old
# belongs to no live run.
_UNLOCKED_TEMPORARY_SECONDS = 600


class OutputError(ConfigError):
    """The output directory cannot be written (not a fault of any input)."""


def output_error(path: Location, error: OSError) -> OutputError:
    """One sentence naming the output that could not be written, and why."""
    reason = error.strerror or type(error).__name__
    return OutputError(
        f"Output {path} could not be written ({reason}); choose a writable --output directory "
        "with free space."
    )


@contextlib.contextmanager
def output_errors(path: Location) -> Iterator[None]:
    """Turn an OS error raised while writing ``path`` into an :class:`OutputError`."""
    try:
        yield
    except OutputError:
        raise
    except OSError as error:
        raise output_error(path, error) from error


def prepare_output_directory(output_dir: Location) -> int:
    """Create the output directory, check it is writable, and remove dead temporaries.

    Call once per run, before any input is scored: a temporary left by a killed run
    (whatever input it was for) does not outlive the next run into the directory.

    Returns:
        How many dead temporaries were removed.

    Raises:
        OutputError: If the directory cannot be created or written, naming it.
    """
    output_dir = storage.location(output_dir)
    try:
        is_file = storage.is_file(output_dir)
    except OSError as error:
        raise OutputError(
            f"Output directory {output_dir} cannot be reached ({error}); check the URL and "
            "the storage credentials (AWS_* variables) and try again."
        ) from error
    if is_file:
        raise OutputError(
            f"Output directory {output_dir} is a file, not a directory; choose another --output."
        )
    try:
        storage.make_directory(output_dir)
        storage.check_writable(output_dir)
    except OSError as error:
        raise OutputError(
            f"Output directory {output_dir} cannot be written ({error.strerror or error}); "
            "choose a writable --output directory."
        ) from error
    return remove_dead_temporaries(output_dir)


def remove_dead_temporaries(output_dir: Location, output_name: str | None = None) -> int:
    """Delete temporaries of killed runs in ``output_dir`` (of ``output_name`` only, if given).

    A local scored file's temporary is locked while its run lives, so an unlocked one is
    dead; other temporaries are taken as dead once they are ten minutes old. On an object
    store a temporary key appears only once its upload is complete and is moved to its
    final key at once, so one that old is dead too.
    """
    removed = 0
    if not storage.is_dir(output_dir):
        return 0
    now = time.time()
    for entry in storage.list_files(output_dir):
        match = STALE_TEMPORARY.match(entry.name)
        if match is None or (output_name is not None and match.group("name") != output_name):
            continue
        candidate = entry.location
        try:
            if storage.is_remote(candidate) or not match.group("name").endswith(".parquet"):
                if now - (entry.mtime or now) < _UNLOCKED_TEMPORARY_SECONDS:
                    continue
                storage.remove(candidate)
                removed += 1
                continue
            with open(candidate, "ab") as handle:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                candidate.unlink()
                removed += 1
        except (BlockingIOError, FileNotFoundError, IsADirectoryError):
            continue
    if removed:
        logger.info(
            "Removed %d unfinished output(s) left by a killed run in %s", removed, output_dir
        )
    return removed

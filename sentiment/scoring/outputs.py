"""The output directory of a scoring run: checked up front, cleaned of dead temporaries.

A problem with the output (a file where the directory should be, no permission, a full
disk) is reported as one sentence naming the output, never as a fault of the inputs.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from sentiment.core.atomic import TEMPORARY_PREFIX
from sentiment.core.errors import ConfigError

logger = logging.getLogger(__name__)

STALE_TEMPORARY = re.compile(rf"^{re.escape(TEMPORARY_PREFIX)}[0-9a-f]{{8}}-(?P<name>.+)$")
# Temporaries of small files (failed.jsonl) are not locked while written; one this old
# belongs to no live run.
_UNLOCKED_TEMPORARY_SECONDS = 600


class OutputError(ConfigError):
    """The output directory cannot be written (not a fault of any input)."""


def output_error(path: Path, error: OSError) -> OutputError:
    """One sentence naming the output that could not be written, and why."""
    reason = error.strerror or type(error).__name__
    return OutputError(
        f"Output {path} could not be written ({reason}); choose a writable --output directory "
        "with free space."
    )


@contextlib.contextmanager
def output_errors(path: Path) -> Iterator[None]:
    """Turn an OS error raised while writing ``path`` into an :class:`OutputError`."""
    try:
        yield
    except OutputError:
        raise
    except OSError as error:
        raise output_error(path, error) from error


def prepare_output_directory(output_dir: Path) -> int:
    """Create the output directory, check it is writable, and remove dead temporaries.

    Call once per run, before any input is scored: a temporary left by a killed run
    (whatever input it was for) does not outlive the next run into the directory.

    Returns:
        How many dead temporaries were removed.

    Raises:
        OutputError: If the directory cannot be created or written, naming it.
    """
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise OutputError(
            f"Output directory {output_dir} is a file, not a directory; choose another --output."
        )
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=output_dir, prefix=TEMPORARY_PREFIX + "probe-"):
            pass
    except OSError as error:
        raise OutputError(
            f"Output directory {output_dir} cannot be written ({error.strerror or error}); "
            "choose a writable --output directory."
        ) from error
    return remove_dead_temporaries(output_dir)


def remove_dead_temporaries(output_dir: Path, output_name: str | None = None) -> int:
    """Delete temporaries of killed runs in ``output_dir`` (of ``output_name`` only, if given).

    A scored file's temporary is locked while its run lives, so an unlocked one is dead;
    other temporaries are taken as dead once they are ten minutes old.
    """
    removed = 0
    if not output_dir.is_dir():
        return 0
    now = time.time()
    for candidate in output_dir.iterdir():
        match = STALE_TEMPORARY.match(candidate.name)
        if match is None or (output_name is not None and match.group("name") != output_name):
            continue
        try:
            if not match.group("name").endswith(".parquet"):
                if now - candidate.stat().st_mtime < _UNLOCKED_TEMPORARY_SECONDS:
                    continue
                candidate.unlink()
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

"""Exclusive advisory locks on files under the home (``fcntl.flock``).

A lock is held on an open file description, so two threads of one process and two
processes exclude each other alike; the kernel drops it when its holder dies, so a
killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def exclusive_lock(path: Path, purpose: str = "") -> Iterator[float]:
    """Hold an exclusive lock on ``path`` (created if missing) for the block.

    Waits while another holder has it.

    Args:
        path: The lock file; its content is never read.
        purpose: Words for the log line written while waiting.

    Yields:
        The seconds spent waiting for the lock.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    started = time.perf_counter()
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("Waiting for %s to be released%s.", path, f" ({purpose})" * bool(purpose))
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield time.perf_counter() - started
    finally:
        os.close(descriptor)  # closing releases the lock

"""Which files a block of code opens, seen by the kernel (Linux inotify).

Python's audit hooks see only opens made through Python; pyarrow opens Parquet files in
C++, and TensorFlow reads in its own threads. inotify reports every open of a file in a
watched directory, whoever makes it.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import select
import struct
import sys
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

_IN_OPEN = 0x00000020
_IN_CLOSE_NOWRITE = 0x00000010
_IN_CLOSE_WRITE = 0x00000008
_EVENT_HEADER = struct.Struct("iIII")  # wd, mask, cookie, length of the name


def inotify_available() -> bool:
    """Whether :func:`watch_opens` can work here (Linux with inotify in its C library)."""
    if not sys.platform.startswith("linux"):
        return False
    library = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    return hasattr(library, "inotify_init1")


@contextlib.contextmanager
def watch_opens(directories: Iterable[Path]) -> Iterator[Counter[Path]]:
    """Count the opens of each file directly inside ``directories`` while the block runs.

    Yields:
        A counter from file path to the number of times it was opened, filled when the
        block ends.
    """
    library = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    descriptor = library.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    if descriptor < 0:
        raise OSError(ctypes.get_errno(), "inotify_init1 failed")
    opened: Counter[Path] = Counter()
    watched: dict[int, Path] = {}
    stop = threading.Event()
    try:
        for directory in directories:
            # Watching closes too keeps the events alternating: the kernel merges an
            # event into an identical unread one before it, which would hide repeated opens.
            mask = _IN_OPEN | _IN_CLOSE_NOWRITE | _IN_CLOSE_WRITE
            watch = library.inotify_add_watch(descriptor, os.fsencode(directory), mask)
            if watch < 0:
                raise OSError(ctypes.get_errno(), f"cannot watch {directory}")
            watched[watch] = Path(directory)

        def read_events() -> None:
            data = b""
            while True:
                with contextlib.suppress(BlockingIOError):
                    data = os.read(descriptor, 1 << 16)
                if not data:
                    if stop.is_set():
                        return
                    select.select([descriptor], [], [], 0.05)
                    continue
                offset = 0
                while offset < len(data):
                    watch, mask, _, length = _EVENT_HEADER.unpack_from(data, offset)
                    start = offset + _EVENT_HEADER.size
                    name = data[start : start + length].rstrip(b"\0")
                    if mask & _IN_OPEN and name and watch in watched:
                        opened[watched[watch] / os.fsdecode(name)] += 1
                    offset = start + length
                data = b""

        reader = threading.Thread(target=read_events, name="watch-opens", daemon=True)
        reader.start()
        try:
            yield opened
        finally:
            stop.set()
            reader.join(timeout=10)
    finally:
        os.close(descriptor)

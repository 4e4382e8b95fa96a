"""Content fingerprints of review files: the reader hashes the bytes it consumes
(:class:`HashingFile`), so what was read is known exactly."""

from __future__ import annotations

import hashlib
import io
from typing import BinaryIO

from sentiment.core import storage
from sentiment.core.errors import DataError
from sentiment.core.storage import Location

FINGERPRINT_PREFIX = "sha256:"
_CHUNK_BYTES = 1 << 20


class HashingFile(io.RawIOBase):
    """A read-only binary file that hashes and counts every byte read through it."""

    def __init__(self, path: Location) -> None:
        super().__init__()
        self._handle: BinaryIO = storage.open_input(path)
        self._digest = hashlib.sha256()
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = self._handle.readinto(buffer)
        if count:
            self._digest.update(memoryview(buffer)[:count])
            self.bytes_read += count
        return count or 0

    def drain(self) -> None:
        """Read (and hash) whatever is left, so the hash covers the whole file."""
        while self.read(_CHUNK_BYTES):
            pass

    def fingerprint(self) -> str:
        """The fingerprint of the bytes read so far (the whole file once drained)."""
        return FINGERPRINT_PREFIX + self._digest.hexdigest()

    def close(self) -> None:
        if not self.closed:
            self._handle.close()
        super().close()


def content_fingerprint(path: Location) -> str:
    """The sha256 fingerprint of a file's current bytes (``sha256:`` plus 64 hex digits)."""
    with HashingFile(path) as handle:
        handle.drain()
        return handle.fingerprint()


class InputChangedError(DataError):
    """An input's bytes changed between the start and the end of scoring it."""

"""Tiny aclImdb-shaped tarballs for the ingestion and report tests."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterable, Mapping
from pathlib import Path

# Ids 2 and 10 check that rows sort by numeric id, not as strings.
SMALL_REVIEWS: dict[str, str] = {
    "aclImdb/train/pos/10_9.txt": "A wonderful film.<br /><br />Loved it!",
    "aclImdb/train/pos/2_8.txt": "Great acting, great story.",
    "aclImdb/train/neg/0_1.txt": "Dreadful.\r\nNot worth a penny?",
    "aclImdb/train/neg/1_3.txt": "Boring and far too long — café scenes drag.",
    "aclImdb/test/pos/0_10.txt": "Best movie of the year!",
    "aclImdb/test/pos/1_7.txt": "Quite good, I'd watch it again.",
    "aclImdb/test/neg/0_2.txt": "Awful script.",
    "aclImdb/test/neg/5_4.txt": "Not my cup of tea.",
    "aclImdb/train/unsup/0_0.txt": "Saw it on a plane.",
    "aclImdb/train/unsup/1_0.txt": "Some scenes were long, some short.",
    "aclImdb/train/unsup/2_0.txt": "日本語のレビュー and English words.",
}
# Files every real archive has besides the reviews; ingestion skips them.
EXTRA_FILES: dict[str, str] = {
    "aclImdb/README": "Large Movie Review Dataset v1.0",
    "aclImdb/imdb.vocab": "the\nand\n",
    "aclImdb/train/urls_pos.txt": "http://www.imdb.com/title/tt0000000/usercomments\n",
}


def build_archive(
    path: Path,
    reviews: Mapping[str, str | bytes] | None = None,
    extra_members: Iterable[tarfile.TarInfo] = (),
    compression: str = "gz",
) -> Path:
    """Write an aclImdb-shaped tarball with ``reviews`` (default :data:`SMALL_REVIEWS`).

    Args:
        path: Where the archive goes.
        reviews: Member name to text (or raw bytes).
        extra_members: Further members (links, devices) appended as given.
        compression: ``"gz"`` or ``""`` for an uncompressed tar.

    Returns:
        ``path``.
    """
    members = {**EXTRA_FILES, **(SMALL_REVIEWS if reviews is None else reviews)}
    mode = f"w:{compression}" if compression else "w"
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, mode) as archive:
        for name, content in members.items():
            payload = content if isinstance(content, bytes) else content.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            info.mtime = 1_300_000_000
            archive.addfile(info, io.BytesIO(payload))
        for info in extra_members:
            archive.addfile(info, io.BytesIO(b"x" * info.size) if info.size else None)
    return path


def member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    """Return a tar header of the given type (regular file members hold one byte)."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.size = 1 if kind == tarfile.REGTYPE else 0
    return info

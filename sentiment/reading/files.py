"""Review files: the formats read (by suffix) and the file to read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sentiment.core import storage
from sentiment.core.storage import Location

FileFormat = Literal["parquet", "csv", "jsonl"]

# Longest suffixes first, so "reviews.csv.gz" is gzip CSV, not an unknown ".gz".
SUFFIX_FORMATS: tuple[tuple[str, FileFormat, bool], ...] = (
    (".jsonl.gz", "jsonl", True),
    (".json.gz", "jsonl", True),
    (".csv.gz", "csv", True),
    (".parquet", "parquet", False),
    (".jsonl", "jsonl", False),
    (".json", "jsonl", False),
    (".csv", "csv", False),
)
SUPPORTED_SUFFIXES = tuple(suffix for suffix, _, _ in SUFFIX_FORMATS)


@dataclass(frozen=True)
class InputFile:
    """One review file to read (to score, or to take in as labelled data).

    Attributes:
        path: The file: a local path, or a URL (:mod:`sentiment.core.storage`).
        format: ``parquet``, ``csv`` or ``jsonl``.
        compressed: Whether the file is gzip-compressed.
        output_name: The scored Parquet file's name: the input's whole name, plus
            ``.parquet`` unless it already ends so (``reviews.csv.gz`` ->
            ``reviews.csv.gz.parquet``), so ``reviews.csv`` and ``reviews.csv.gz`` never
            collide.
    """

    path: Location
    format: FileFormat
    compressed: bool
    output_name: str

    def to_manifest(self) -> dict[str, Any]:
        """The file as a small JSON-serializable dict (what tasks pass each other)."""
        return {
            "path": str(self.path),
            "format": self.format,
            "compressed": self.compressed,
            "output_name": self.output_name,
        }

    @classmethod
    def from_manifest(cls, payload: dict[str, Any]) -> InputFile:
        """Rebuild a file from :meth:`to_manifest` (extra keys are ignored)."""
        return cls(
            path=storage.location(payload["path"]),
            format=payload["format"],
            compressed=bool(payload["compressed"]),
            output_name=payload["output_name"],
        )


def detect_format(path: Location) -> tuple[FileFormat, bool, str] | None:
    """Return ``(format, compressed, stem)`` from a file's name, or None if unsupported."""
    name = storage.name(path)
    lowered = name.lower()
    for suffix, file_format, compressed in SUFFIX_FORMATS:
        if lowered.endswith(suffix) and len(name) > len(suffix):
            return file_format, compressed, name[: -len(suffix)]
    return None

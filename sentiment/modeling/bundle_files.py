"""A bundle's files and their checksums: the names every bundle holds, checking them
against the ``checksums.json`` recorded when the bundle was saved, and reading its
metadata (threshold, calibration).

A bundle whose ``checksums.json`` is missing, or does not record each of the model,
vectorizer and metadata, is refused wherever it comes from (registry, ``--bundle``
directory or URL): deleting the checksums must not turn verification off.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sentiment.core.atomic import file_sha256
from sentiment.core.errors import DataError
from sentiment.encoding.vectorizer_file import VECTORIZER_FILE
from sentiment.modeling.calibration import DEFAULT_THRESHOLD, Calibration

MODEL_FILE = "model.keras"
METADATA_FILE = "metadata.json"
CHECKSUMS_FILE = "checksums.json"
BUNDLE_FILES = (MODEL_FILE, VECTORIZER_FILE, METADATA_FILE)


def require_bundle_files(
    directory: Path,
    *,
    fix: str = "train one with 'sentiment train' or pick a version listed by 'sentiment models'",
    incomplete_fix: str = "retrain it with 'sentiment train'",
) -> None:
    """Raise unless ``directory`` is a bundle holding every file a bundle must hold.

    Args:
        directory: The bundle's directory.
        fix: What to do when the directory does not exist (the sentence's end).
        incomplete_fix: What to do when a file is missing.

    Raises:
        DataError: One sentence naming the directory or the missing file, and the fix.
    """
    if not directory.is_dir():
        raise DataError(f"Model bundle {directory} does not exist; {fix}.")
    for name in BUNDLE_FILES:
        if not (directory / name).is_file():
            raise DataError(
                f"Model bundle file {directory / name} is missing, so {directory} is not a "
                f"complete bundle; {incomplete_fix}."
            )


def recorded_checksums(directory: Path) -> dict[str, str]:
    """The file checksums ``checksums.json`` records, which must cover every file a
    bundle must hold.

    Raises:
        DataError: If the checksums are missing, unreadable or incomplete.
    """
    checksums_path = directory / CHECKSUMS_FILE
    if not checksums_path.is_file():
        raise DataError(
            f"Model bundle {directory} has no checksums.json, so its files cannot be verified "
            "and it is refused; restore the bundle whole or retrain it with 'sentiment train'."
        )
    try:
        recorded = json.loads(checksums_path.read_text(encoding="utf-8"))["files"]
        if not isinstance(recorded, dict):
            raise TypeError("files is not an object")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        raise DataError(
            f"Model bundle file {checksums_path} is unreadable ({error}); the bundle cannot "
            "be verified, so retrain it with 'sentiment train'."
        ) from error
    for name in BUNDLE_FILES:
        if not isinstance(recorded.get(name), str):
            raise DataError(
                f"Model bundle file {checksums_path} records no checksum for {name}, so that "
                "file cannot be verified and the bundle is refused; restore the bundle whole "
                "or retrain it with 'sentiment train'."
            )
    return recorded


def check_files(directory: Path, recorded: dict[str, str], names: Sequence[str]) -> None:
    """Raise unless each of ``names`` matches its recorded checksum."""
    for name in names:
        path = directory / name
        if not path.is_file():
            raise DataError(
                f"Model bundle file {path} is missing although the bundle's checksums "
                "record it; restore the bundle or retrain it with 'sentiment train'."
            )
        if recorded.get(name) != file_sha256(path):
            raise DataError(
                f"Model bundle file {path} does not match the checksum recorded "
                "when the bundle was saved, so it was changed since and is refused; restore "
                "the bundle or retrain it with 'sentiment train'."
            )


def verify_bundle(directory: Path) -> bool:
    """Check the bundle's files against the checksums recorded when it was saved: the
    model, vectorizer and metadata, and every other file the checksums record.

    Files added after training (an evaluation's results) are not the bundle's and are
    not checked.

    Returns:
        True: every file matches (anything else raises).

    Raises:
        DataError: If a file differs from its checksum or is missing, or the checksums
            are missing, unreadable or incomplete.
    """
    directory = Path(directory)
    recorded = recorded_checksums(directory)
    check_files(directory, recorded, [*BUNDLE_FILES, *sorted(set(recorded) - set(BUNDLE_FILES))])
    return True


def read_metadata(directory: Path) -> dict[str, Any]:
    """A bundle's ``metadata.json`` as a dict, its decision threshold checked.

    Raises:
        DataError: If it is unreadable, not JSON or not a JSON object, or records a
            decision threshold that is not a number from 0 to 1.
    """
    path = directory / METADATA_FILE
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(
            f"Model bundle file {path} is not valid JSON ({error}); retrain the bundle with "
            "'sentiment train'."
        ) from error
    if not isinstance(metadata, dict):
        raise DataError(
            f"Model bundle file {path} must hold a JSON object; retrain the bundle with "
            "'sentiment train'."
        )
    entry = metadata.get("decision_threshold")
    value = entry.get("value") if isinstance(entry, dict) else None
    if entry is not None and not (
        isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1
    ):
        raise DataError(
            f"Model bundle file {path} field decision_threshold.value is {value!r}, not a "
            "number from 0 to 1, so the bundle is refused; retrain it with 'sentiment train'."
        )
    return metadata


def metadata_if_readable(directory: Path) -> dict[str, Any] | None:
    """A bundle's ``metadata.json`` as a dict, or None where it is missing, unreadable
    or not a JSON object: for listings and checks that judge no bundle by it."""
    try:
        metadata = json.loads((directory / METADATA_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return metadata if isinstance(metadata, dict) else None


def metadata_threshold(metadata: dict[str, Any]) -> float:
    """The decision threshold a bundle's metadata records (0.5 where it records none)."""
    entry = metadata.get("decision_threshold")
    if isinstance(entry, dict) and isinstance(entry.get("value"), int | float):
        return float(entry["value"])
    return DEFAULT_THRESHOLD


def read_calibration(directory: Path, metadata: dict[str, Any]) -> Calibration:
    try:
        return Calibration.from_metadata(metadata)
    except (ValueError, TypeError, KeyError) as error:
        raise DataError(
            f"Model bundle file {directory / METADATA_FILE} has an invalid 'calibration' "
            f"({error}); retrain the bundle with 'sentiment train'."
        ) from error


@dataclass(frozen=True)
class BundleIdentity:
    """A bundle's version and threshold, read without loading its model."""

    version: str
    threshold: float


def bundle_identity(directory: Path) -> BundleIdentity:
    """Read a bundle's version and decision threshold from its metadata alone (cheap:
    no model, no vectorizer), e.g. to tell whether an output is up to date.

    Raises:
        DataError: If the metadata is missing or not a JSON object.
    """
    metadata = read_metadata(Path(directory))
    version = str(metadata.get("version") or Path(directory).name)
    return BundleIdentity(version=version, threshold=metadata_threshold(metadata))

"""A bundle as a scoring run sees it, read once (:func:`read_bundle`) into a
:class:`ResolvedBundle`: its identity, threshold, calibration and training profile, the
files they come from checked against the checksums, without loading the model.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sentiment.core import storage
from sentiment.core.errors import DataError
from sentiment.modeling.bundle_cache import local_bundle
from sentiment.modeling.bundle_files import (
    METADATA_FILE,
    BundleIdentity,
    check_files,
    metadata_threshold,
    read_calibration,
    read_metadata,
    recorded_checksums,
    require_bundle_files,
)
from sentiment.modeling.calibration import Calibration
from sentiment.modeling.profile import PROFILE_FILE, PROFILE_FORMAT, TextProfile

logger = logging.getLogger(__name__)


BundleSource = Literal["registry", "path"]


@dataclass(frozen=True)
class ResolvedBundle:
    """Everything a scoring run needs to know about its bundle, read once per run.

    Attributes:
        version: The bundle's version.
        location: The bundle as named: its directory, or its URL
            (``s3://bucket/models/VERSION``), which every host copies once
            (:func:`local_bundle`); what tasks pass to load the model.
        directory: This host's local directory of the bundle.
        source: ``registry`` (the champion or ``--model``) or ``path`` (``--bundle``).
        metadata: The parsed ``metadata.json`` (not to be changed).
        threshold: The decision threshold chosen on validation (0.5 for bundles
            without one).
        calibration: Maps the model's scores to calibrated probabilities.
        profile: The profile of the reviews the model was trained on, the drift
            reference; None for a bundle saved before bundles carried one.
    """

    version: str
    location: str
    directory: Path
    source: BundleSource
    metadata: dict[str, Any]
    threshold: float
    calibration: Calibration
    profile: TextProfile | None

    @property
    def identity(self) -> BundleIdentity:
        """The version and threshold, which key whether an output is up to date."""
        return BundleIdentity(version=self.version, threshold=self.threshold)


def _read_profile(directory: Path, recorded: dict[str, str]) -> TextProfile | None:
    """The training profile a bundle's checksums vouch for (checked by the caller), or
    None for a bundle saved without one."""
    if PROFILE_FILE not in recorded:
        if (directory / PROFILE_FILE).is_file():
            # Not saved with the bundle (an older release cached one there): no reference.
            logger.warning(
                "Ignoring %s: the bundle's checksums do not record it", directory / PROFILE_FILE
            )
        return None
    path = directory / PROFILE_FILE
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        if payload.get("format") != PROFILE_FORMAT:
            raise ValueError(f"format {payload.get('format')!r}, not {PROFILE_FORMAT}")
        return TextProfile.from_dict(payload["profile"])
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise DataError(
            f"Model bundle file {path} is not a training profile this release reads "
            f"({error}); retrain the bundle with 'sentiment train'."
        ) from error


def read_bundle(
    location: storage.Location | str, source: BundleSource = "registry"
) -> ResolvedBundle:
    """Read what scoring needs from a bundle, once, without loading its model.

    The files read (metadata and training profile) are checked against the bundle's
    checksums first; the model and vectorizer are checked when a process loads them
    (:func:`load_bundle`).

    Args:
        location: The bundle's directory or URL (copied to this host once).
        source: Where it was found: ``registry`` or ``path`` (``--bundle``).

    Returns:
        The bundle's version, directories, metadata, threshold, calibration and profile.

    Raises:
        DataError: If the bundle is missing or incomplete, a file it reads is changed
            since training or unreadable.
    """
    directory = local_bundle(location)
    require_bundle_files(directory)
    recorded = recorded_checksums(directory)
    # The metadata is always recorded; the profile is when it was saved.
    profile = [PROFILE_FILE] if PROFILE_FILE in recorded else []
    check_files(directory, recorded, [METADATA_FILE, *profile])
    metadata = read_metadata(directory)
    return ResolvedBundle(
        version=str(metadata.get("version") or directory.name),
        location=str(storage.location(location)),
        directory=directory,
        source=source,
        metadata=metadata,
        threshold=metadata_threshold(metadata),
        calibration=read_calibration(directory, metadata),
        profile=_read_profile(directory, recorded),
    )

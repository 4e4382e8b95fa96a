"""Which code produced an output: a fingerprint of the library's training-side sources.

A retrain compares it with the champion's, so a change to the code that builds the data
or the model is a reason to train again, and nothing else in the checkout is.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

# The stage packages whose code decides what a trained model is; release and scoring
# only judge or use it.
TRAINING_PACKAGES = ("core", "encoding", "data", "modeling")


@cache
def code_fingerprint(packages: tuple[str, ...] = TRAINING_PACKAGES) -> str:
    """``sha256:`` plus 16 hex digits over the packages' ``.py`` files, names and bytes."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return "sha256:" + digest.hexdigest()[:16]

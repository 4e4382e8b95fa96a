"""Content fingerprints of scoring inputs and the key that says an output is up to date.

Scoring records exactly what it read: the reader hashes the bytes it consumes
(:mod:`sentiment.reading.fingerprint`), and the output keeps that hash together with every
setting that changes the output's values (:func:`scoring_key`). A rerun skips an input only when its
current content hashes the same and the key matches; size and modification time are
never trusted, since ``cp -p`` or a same-size edit keeps them.
"""

from __future__ import annotations

import json

from sentiment.core.storage import Location
from sentiment.reading.fingerprint import InputChangedError, content_fingerprint

# Bumped whenever the scored files' columns or values change meaning, so outputs of an
# older layout are rescored rather than kept (2: the sentiment_note column).
OUTPUT_FORMAT_VERSION = 2


def scoring_key(
    model_version: str,
    threshold: float,
    text_column_setting: str | None,
    text_column: str,
    explain: int = 0,
    uncertain: tuple[float, float] | None = None,
    bundle_path: str | None = None,
) -> str:
    """Everything besides the input's content that decides a scored file's values.

    Batch sizes and thread counts change neither rows nor values, so they are not
    part of it; the model and where it came from (the registry, or an explicit bundle
    directory, which the output records), the threshold, the text column (as asked for
    and as found), the reasons and abstain band asked for, and the output layout are.
    """
    return json.dumps(
        {
            "format": OUTPUT_FORMAT_VERSION,
            "model_version": model_version,
            "threshold": repr(float(threshold)),
            "text_column_setting": text_column_setting,
            "text_column": text_column,
            "explain": explain,
            "uncertain": list(uncertain) if uncertain is not None else None,
            "bundle_path": bundle_path,
        },
        sort_keys=True,
    )


def require_unchanged(path: Location, read_fingerprint: str) -> str:
    """Check that ``path`` still holds the bytes that were scored; return their fingerprint.

    Raises:
        InputChangedError: If the file's content now differs from what was read.
    """
    try:
        current = content_fingerprint(path)
    except OSError as error:
        raise InputChangedError(
            f"Input {path} changed while it was being scored (it can no longer be read: "
            f"{error}); no output was kept, so score it again once it is complete."
        ) from error
    if current != read_fingerprint:
        raise InputChangedError(
            f"Input {path} changed while it was being scored; no output was kept, so score "
            "it again once whatever writes it has finished."
        )
    return current

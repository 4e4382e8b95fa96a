"""What the labelling queue's labels did in a retrain: how many came in, and the accuracy
on their evaluation slice before (the champion) and after (the challenger).

The new labels are those of the batches in the challenger's data snapshot that the
champion's lacks, whether a retrain took them from the labelled inbox or
``sentiment add-labels`` took them before; a batch's manifest counts the rows that came
from a queue (``counts.queued``). Labels are taken in under a source name
(``--source NAME``, or the labelled inbox's sub-folder), and evaluation reports one slice
per source (``metrics.slices.<source>`` of a bundle's ``evaluation.json``): naming the
queue's source (``--source queue``) keeps its slice apart from other labels.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sentiment.core.errors import SentimentError
from sentiment.core.paths import HomeLayout
from sentiment.data.snapshot import read_batch_manifest, recorded_snapshots
from sentiment.modeling.bundle_files import read_metadata
from sentiment.release.evaluation import read_evaluation

logger = logging.getLogger(__name__)


def _batches(home: Path, version: str | None) -> set[str]:
    """The labelled batches of the snapshot ``version`` was trained on."""
    if not version:
        return set()
    snapshot = read_metadata(HomeLayout(home).bundle(version)).get("data_snapshot")
    for record in recorded_snapshots(home):
        if record.get("id") == snapshot:
            return set(record["batches"])
    return set()  # IMDB only: no record


def _slice(home: Path, version: str | None, source: str) -> dict[str, Any]:
    if not version:
        return {}
    try:
        evaluation = read_evaluation(HomeLayout(home).bundle(version))
    except (SentimentError, OSError):
        return {}
    return (evaluation.get("metrics", {}).get("slices") or {}).get(source) or {}


def queue_label_outcome(home: Path, challenger: str | None, champion: str | None) -> dict[str, Any]:
    """The queue's new labels in one retrain and their slices' accuracy.

    Args:
        home: The pipeline home.
        challenger: The version trained on them (None when nothing was trained).
        champion: The champion it was gated against (None before any).

    Returns:
        ``labels`` (accepted rows from labelling queues in the batches the challenger
        trained on and the champion did not) and ``slices``: per source of those batches,
        ``rows`` (its test rows), ``before`` and ``after`` (accuracy, or None where that
        bundle has no evaluation of the slice), ``champion`` and ``challenger``.
    """
    home = Path(home)
    try:
        new = _batches(home, challenger) - _batches(home, champion)
        manifests = [read_batch_manifest(home, batch) for batch in sorted(new)]
    except SentimentError as error:
        logger.warning("The queue's labels could not be counted: %s", error)
        return {"labels": 0, "slices": {}}
    queued = [manifest for manifest in manifests if manifest["counts"].get("queued")]
    slices: dict[str, dict[str, Any]] = {}
    for source in sorted({manifest["source"] for manifest in queued}):
        after = _slice(home, challenger, source)
        slices[source] = {
            "rows": after.get("rows"),
            "before": _slice(home, champion, source).get("accuracy"),
            "after": after.get("accuracy"),
            "champion": champion,
            "challenger": challenger,
        }
    labels = sum(int(manifest["counts"]["queued"]) for manifest in queued)
    return {"labels": labels, "slices": slices}

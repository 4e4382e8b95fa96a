"""What the labelling queue's labels did in a retrain: how many came in, and the accuracy
on their evaluation slice before (the champion) and after (the challenger).

Labels are taken in under a source name (``sentiment add-labels --source NAME``, or the
labelled inbox's sub-folder), and evaluation reports one slice per source
(``metrics.slices.<source>`` of a bundle's ``evaluation.json``): naming the queue's
source (``--source queue``) keeps its slice apart from other labels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sentiment.core.paths import HomeLayout
from sentiment.release.errors import EvaluationError
from sentiment.release.evaluation import read_evaluation


def _slice(home: Path, version: str | None, source: str) -> dict[str, Any] | None:
    if not version:
        return None
    try:
        evaluation = read_evaluation(HomeLayout(home).bundle(version))
    except (EvaluationError, OSError):
        return None
    return (evaluation.get("metrics", {}).get("slices") or {}).get(source)


def queue_label_outcome(
    home: Path, intake: dict[str, Any], challenger: str | None, champion: str | None
) -> dict[str, Any]:
    """The queue's new labels in one retrain and their slices' accuracy.

    Args:
        home: The pipeline home.
        intake: The labelled inbox's intake (``files``: each file's counts).
        challenger: The version trained on them (None when nothing was trained).
        champion: The champion it was gated against (None before any).

    Returns:
        ``labels`` (accepted rows of queue files taken in now) and ``slices``: per source
        of those files, ``rows`` (its test rows), ``before`` and ``after`` (accuracy, or
        None where that bundle has no evaluation of the slice).
    """
    files = [
        entry
        for entry in intake.get("files") or []
        if entry.get("queued") and not entry.get("already_taken_in")
    ]
    slices: dict[str, dict[str, Any]] = {}
    for source in sorted({entry["source"] for entry in files}):
        after = _slice(home, challenger, source) or {}
        before = _slice(home, champion, source) or {}
        slices[source] = {
            "rows": after.get("rows"),
            "before": before.get("accuracy"),
            "after": after.get("accuracy"),
            "champion": champion,
            "challenger": challenger,
        }
    return {"labels": sum(int(entry["queued"]) for entry in files), "slices": slices}

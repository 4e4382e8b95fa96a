"""The inbox: review files dropped into ``<home>/inbox`` and scored into ``<home>/scored``.

Each run scores only what is new or changed. A file that failed is remembered by its
size and modification time in a small record beside the outputs, so it is reported
once and skipped until it changes.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sentiment.core.atomic import write_json
from sentiment.scoring.discovery import output_name
from sentiment.scoring.fingerprint import content_fingerprint
from sentiment.scoring.outputs import read_scoring_metadata
from sentiment.scoring.results import FileResult

# Hidden, so a directory scan of the outputs never takes it for a result.
FAILURES_RECORD = ".inbox-failures.json"


@dataclass(frozen=True)
class InboxPlan:
    """What a run of the inbox has to do.

    Attributes:
        pending: Files new or changed since they were last scored (or failed).
        up_to_date: Files whose output is current for this model and threshold.
        known_bad: Files that failed before and have not changed since.
    """

    pending: tuple[Path, ...]
    up_to_date: tuple[Path, ...]
    known_bad: tuple[Path, ...]

    def to_dict(self) -> dict[str, list[str]]:
        return {
            "pending": [str(path) for path in self.pending],
            "up_to_date": [str(path) for path in self.up_to_date],
            "known_bad": [str(path) for path in self.known_bad],
        }


def _stamp(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def read_failures(scored_dir: Path) -> dict[str, dict[str, Any]]:
    """The failure record: input path -> ``{size, mtime_ns, reason}`` (empty if none)."""
    with contextlib.suppress(OSError, ValueError):
        payload = json.loads((scored_dir / FAILURES_RECORD).read_text(encoding="utf-8"))
        if isinstance(payload, dict):
            return payload
    return {}


def _current(output: Path, path: Path, model_version: str, threshold: float | None) -> bool:
    """Whether ``output`` holds ``path``'s current content scored by this model.

    The content is hashed, as the scorer's own up-to-date check does: size and time
    alone miss a same-size edit with its time restored. ``threshold`` None means the
    bundle's own, which a model version fixes.
    """
    metadata = read_scoring_metadata(output) if output.is_file() else None
    if not metadata or metadata.get("model_version") != model_version:
        return False
    if threshold is not None:
        try:
            if float(metadata.get("threshold", "nan")) != threshold:
                return False
        except ValueError:
            return False
    return metadata.get("input_fingerprint") == content_fingerprint(path)


def plan_inbox(
    inbox_dir: Path, scored_dir: Path, model_version: str, threshold: float | None
) -> InboxPlan:
    """Sort the inbox's files into pending, up to date and known bad.

    Every visible file counts, whatever its suffix, so an unsupported one is reported
    (once) rather than ignored. Hidden files (half-copied temporaries) are left alone.

    Args:
        inbox_dir: The inbox (missing: nothing to do).
        scored_dir: Where the inbox's files are scored.
        model_version: The champion that would score them.
        threshold: The labelling threshold that would be used.
    """
    if not inbox_dir.is_dir():
        return InboxPlan((), (), ())
    failures = read_failures(scored_dir)
    pending: list[Path] = []
    up_to_date: list[Path] = []
    known_bad: list[Path] = []
    for path in sorted(inbox_dir.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        failure = failures.get(str(path))
        stamp = _stamp(path)
        if (
            failure
            and failure.get("size") == stamp["size"]
            and failure.get("mtime_ns") == stamp["mtime_ns"]
        ):
            known_bad.append(path)
        elif _current(scored_dir / output_name(path), path, model_version, threshold):
            up_to_date.append(path)
        else:
            pending.append(path)
    return InboxPlan(tuple(pending), tuple(up_to_date), tuple(known_bad))


def record_failures(scored_dir: Path, results: Iterable[FileResult]) -> dict[str, dict[str, Any]]:
    """Update the failure record with a run's outcomes and return it.

    A failed input is recorded with its size and modification time; one that scored
    (or was up to date) is forgotten, as is any input no longer in the inbox.
    """
    record = {
        path: entry for path, entry in read_failures(scored_dir).items() if Path(path).exists()
    }
    for result in results:
        if result.status == "failed":
            path = Path(result.input_path)
            with contextlib.suppress(OSError):
                record[result.input_path] = {**_stamp(path), "reason": result.reason}
        else:
            record.pop(result.input_path, None)
    if record or (scored_dir / FAILURES_RECORD).exists():
        scored_dir.mkdir(parents=True, exist_ok=True)
        write_json(scored_dir / FAILURES_RECORD, record)
    return record

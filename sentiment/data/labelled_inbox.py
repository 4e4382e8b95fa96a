"""The labelled inbox: every labelled file dropped in is taken in once, and the result
described for a run's log and artifacts."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sentiment.core.errors import SentimentError
from sentiment.data.config import LabelsConfig
from sentiment.data.labels import add_labels, labelled_format
from sentiment.data.snapshot import current_snapshot

logger = logging.getLogger(__name__)


def inbox_files(inbox: Path) -> list[tuple[Path, str | None]]:
    """The labelled files in ``inbox`` (files of a sub-folder take its name as source)."""
    inbox = Path(inbox)
    if not inbox.is_dir():
        return []
    found = []
    for path in sorted(inbox.rglob("*")):
        relative = path.relative_to(inbox)
        if (
            not path.is_file()
            or any(part.startswith(".") for part in relative.parts)
            or labelled_format(path) is None
        ):
            continue
        found.append((path, relative.parts[0] if len(relative.parts) > 1 else None))
    return found


def take_in_inbox(home: Path, inbox: Path, test_share: float | None = None) -> dict[str, Any]:
    """Take in every labelled file of ``inbox`` not taken in yet; a bad file is skipped.

    Files are never moved or changed: one already taken in is found by its batch id.

    Returns:
        ``files`` (each file's counts), ``skipped`` (file and reason), ``snapshot``.
    """
    results: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    for path, folder in inbox_files(inbox):
        settings: dict[str, Any] = {}
        if folder is not None:
            settings["source"] = folder
        if test_share is not None:
            settings["test_share"] = test_share
        try:
            config = LabelsConfig(**settings)
            results.append(add_labels(home, path, config).to_dict())
        except SentimentError as error:
            logger.warning("Skipped labelled file %s: %s", path, error)
            skipped.append({"file": str(path), "reason": str(error)})
    return {
        "files": results,
        "skipped": skipped,
        "snapshot": current_snapshot(home).id,
        "new_rows": sum(entry["accepted"] for entry in results if not entry["already_taken_in"]),
    }


def describe_intake_file(entry: dict[str, Any]) -> str:
    """One line on one file of :func:`take_in_inbox`'s result."""
    return (
        f"{entry['file']}: batch {entry['batch']}, {entry['accepted']} accepted "
        f"({entry['train']} train, {entry['test']} test), {entry['refused']} refused, "
        f"{entry['duplicates']} duplicates, {entry['conflicts']} conflicts"
        + (f", {entry['unlabelled']} not yet labelled" if entry.get("unlabelled") else "")
        + (" (taken in before)" if entry["already_taken_in"] else "")
    )


def intake_markdown(intake: dict[str, Any]) -> str | None:
    """The Markdown table of :func:`take_in_inbox`'s result, or None when the inbox held
    no file."""
    if not intake["files"] and not intake["skipped"]:
        return None
    lines = [
        f"# Labelled intake: snapshot `{intake['snapshot']}`",
        "",
        "| file | batch | accepted | train | test | refused | duplicates | conflicts |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
        *(
            f"| `{entry['file']}` | `{entry['batch']}` | {entry['accepted']} | "
            f"{entry['train']} | {entry['test']} | {entry['refused']} | "
            f"{entry['duplicates']} | {entry['conflicts']} |"
            for entry in intake["files"]
        ),
        *(f"\nSkipped `{entry['file']}`: {entry['reason']}" for entry in intake["skipped"]),
    ]
    return "\n".join(lines)

"""The inbox: review files dropped into ``<home>/inbox`` and scored into ``<home>/scored``.

Each run scores only what is new or changed. A file that failed is remembered by its
size and modification time in a small record beside the outputs, so it is reported
once and skipped until it changes. The inbox never follows a link out of itself, and
every entry it does not score is reported with the reason (a link out, a second name
for a file already taken, a directory or other non-file, a hidden file).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
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
        skipped: One sentence per entry left alone, naming it and saying why.
    """

    pending: tuple[Path, ...]
    up_to_date: tuple[Path, ...]
    known_bad: tuple[Path, ...]
    skipped: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, list[str]]:
        return {
            "pending": [str(path) for path in self.pending],
            "up_to_date": [str(path) for path in self.up_to_date],
            "known_bad": [str(path) for path in self.known_bad],
            "skipped": list(self.skipped),
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
    """Sort the inbox's files into pending, up to date and known bad, and report the
    entries left alone.

    Every visible file counts, whatever its suffix, so an unsupported one is reported
    (once) rather than ignored. Hidden files (half-copied temporaries), links that lead
    out of the inbox, second names of a file already taken (a link or hard link to
    it), and entries that are not regular files are left alone, each with its reason.

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
    skipped: list[str] = []
    taken: dict[tuple[int, int], Path] = {}
    # Real files first, so a link in the inbox is the name reported as the second one.
    for path in sorted(inbox_dir.iterdir(), key=lambda entry: (entry.is_symlink(), entry.name)):
        reason = _skip_reason(path, inbox_dir.resolve(), taken)
        if reason is not None:
            skipped.append(reason)
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
    return InboxPlan(
        tuple(sorted(pending)), tuple(sorted(up_to_date)), tuple(sorted(known_bad)), tuple(skipped)
    )


def _skip_reason(path: Path, inbox: Path, taken: dict[tuple[int, int], Path]) -> str | None:
    """Why the inbox leaves ``path`` alone, in one sentence, or None to take it (and
    remember its file in ``taken``)."""
    if path.name.startswith("."):
        return (
            f"Inbox entry {path} is hidden, so it is taken for a file still being copied in "
            "and left alone; give it a visible name once it is complete."
        )
    if path.is_symlink():
        target = path.resolve()
        if not target.is_relative_to(inbox):
            return (
                f"Inbox entry {path} is a link to {target}, outside the inbox, and is not "
                "followed; copy the file into the inbox to score it."
            )
    try:
        status = path.stat()
    except OSError as error:
        return f"Inbox entry {path} cannot be read ({error.strerror or error}); fix or remove it."
    if not stat.S_ISREG(status.st_mode):
        kind = "a directory" if stat.S_ISDIR(status.st_mode) else "not a regular file"
        return (
            f"Inbox entry {path} is {kind}, so it is not scored; the inbox scores files, so "
            "move it out or put its files in the inbox itself."
        )
    key = (status.st_dev, status.st_ino)
    if key in taken:
        return (
            f"Inbox entry {path} is another name for {taken[key]}, which is scored once under "
            "that name; remove one of the two names."
        )
    taken[key] = path
    return None


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


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def inbox_markdown(
    plan: dict[str, list[str]], results: list[dict[str, Any]], summary: dict[str, Any]
) -> str:
    """The ``inbox-scoring`` artifact: every file an inbox run handled, and how.

    Args:
        plan: The run's inbox plan (``pending``, ``up_to_date``, ``known_bad``, ``skipped``).
        results: Each handled file's result, as a dict.
        summary: The run summary (model version, output directory, counts, drift).

    Returns:
        The Markdown.
    """
    lines = [
        f"# Inbox scoring — model `{summary['model_version']}`",
        "",
        f"Scored into `{summary['output_dir']}`: {summary['files_scored']} scored, "
        f"{summary['files_skipped']} up to date, {summary['files_failed']} failed; "
        f"{len(plan['up_to_date'])} file(s) were already current and "
        f"{len(plan['known_bad'])} known bad file(s) unchanged were skipped.",
        "",
        "| input | status | rows | output |",
        "|---|---|---:|---|",
    ]
    failures = []
    for result in map(FileResult.from_dict, results):
        name = Path(result.input_path).name
        output = Path(result.output_path).name if result.output_path else "—"
        rows = f"{result.rows:,}" if result.profile is not None else "—"
        lines.append(f"| `{_cell(name)}` | {result.status} | {rows} | `{_cell(output)}` |")
        if result.status == "failed":
            failures.append(f"- `{_cell(name)}`: {_cell(result.reason)}")
    # Reasons are sentences: below the table, which they would widen past the pane.
    if results:
        folder = os.path.commonpath([str(Path(result["input_path"]).parent) for result in results])
        lines += ["", f"Inputs in `{folder}`, outputs in `{summary['output_dir']}`."]
    if failures:
        lines += ["", "Failed files (skipped until they change):", "", *failures]
    if plan.get("skipped"):
        lines += ["", "Left alone:", "", *(f"- {_cell(reason)}" for reason in plan["skipped"])]
    drift = summary.get("drift")
    if drift:
        lines += ["", f"Drift: **{drift['status']}** — {drift['reason']}"]
    return "\n".join(lines) + "\n"

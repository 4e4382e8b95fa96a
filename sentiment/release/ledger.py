"""The append-only ledger of what happened to every model version.

``models/ledger.jsonl`` holds one JSON event per line, in the order they happened:

    registered   a bundle entered the registry (first evaluation)
    evaluated    test metrics were computed (summary; the full file is in the bundle)
    promoted     the gate let it replace the champion (every rule's verdict)
    rejected     the gate refused it (the failing rules, metric by metric)
    forced       a person promoted it past the gate (with their reason)
    rolled_back  the champion was returned to the previous one (with who and why)

The champion is never stored: it is derived by replaying the ledger, so the history
cannot disagree with the current state. Writers hold an exclusive ``flock`` on the ledger
while they read, decide and append; each event is appended on an ``O_APPEND`` descriptor
and fsynced, so concurrent writers never interleave or lose a line.

An append lands whole or not at all: if the disk fills part-way, the ledger is cut back
to its previous length before the error is reported. A torn last line (a crash in the
middle of an append) is not history: readers skip it with a warning, and the next writer
moves it aside to ``ledger.jsonl.torn-<time>``. Any other corrupt line stops every
command with its line number; history is never rewritten.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sentiment.core.atomic import fsync_path
from sentiment.core.paths import HomeLayout
from sentiment.release.errors import LedgerCorruptError, RegistryError

logger = logging.getLogger(__name__)

REGISTERED = "registered"
EVALUATED = "evaluated"
PROMOTED = "promoted"
REJECTED = "rejected"
FORCED = "forced"
ROLLED_BACK = "rolled_back"
EVENT_TYPES = (REGISTERED, EVALUATED, PROMOTED, REJECTED, FORCED, ROLLED_BACK)

_STATUS_BY_EVENT = {
    REGISTERED: "registered",
    EVALUATED: "evaluated",
    PROMOTED: "promoted",
    REJECTED: "rejected",
    FORCED: "forced",
    ROLLED_BACK: "rolled back",
}

TORN_SUFFIX = ".torn-"


def utc_timestamp(now: datetime | None = None) -> str:
    """Return an ISO-8601 UTC timestamp with a ``Z`` suffix, to the microsecond."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- reading -------------------------------------------------------------------------


def _event_problem(event: Any) -> str | None:
    if not isinstance(event, dict):
        return "not a JSON object"
    if event.get("event") not in EVENT_TYPES:
        return f"field 'event' must be one of {', '.join(EVENT_TYPES)}"
    if not isinstance(event.get("version"), str) or not event["version"]:
        return "field 'version' is missing"
    if not isinstance(event.get("timestamp"), str):
        return "field 'timestamp' is missing"
    if event["event"] == ROLLED_BACK and not isinstance(event.get("to_version"), str):
        return "field 'to_version' is missing"
    return None


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _parse_events(path: Path, content: bytes) -> tuple[list[dict[str, Any]], bytes]:
    """The ledger's events and its torn tail (empty when the last append landed whole)."""
    lines = content.split(b"\n")
    complete, torn = lines[:-1], lines[-1]
    # A last line with a line end but no JSON is torn too (a crash can leave
    # zero-filled blocks); only a JSON object that is not a valid event is corrupt.
    if not torn and complete and _loads(complete[-1]) is None:
        torn = complete.pop() + b"\n"
    events: list[dict[str, Any]] = []
    for number, raw in enumerate(complete, start=1):
        try:
            event = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            raise LedgerCorruptError(
                f"Line {number} of the ledger {path} is not valid JSON ({error}); repair it "
                "by hand, the pipeline never rewrites history."
            ) from error
        problem = _event_problem(event)
        if problem:
            raise LedgerCorruptError(
                f"Line {number} of the ledger {path} is not a valid event ({problem}); repair "
                "it by hand, the pipeline never rewrites history."
            )
        events.append(event)
    return events, torn


def _warn_torn(path: Path, events: list[dict[str, Any]]) -> None:
    logger.warning(
        "The last line of the ledger %s is an incomplete event (line %d, an interrupted "
        "write) and is ignored; the next 'sentiment evaluate', 'promote' or 'rollback' "
        "moves it aside to %s%s<time>.",
        path,
        len(events) + 1,
        path.name,
        TORN_SUFFIX,
    )


def read_ledger(home: Path) -> list[dict[str, Any]]:
    """Read every ledger event, in order.

    A torn last line (an append interrupted by a crash or a full disk) is skipped with
    a warning; it never landed, so it is not part of the history.

    Args:
        home: The pipeline home.

    Returns:
        The events (empty when the ledger does not exist yet).

    Raises:
        LedgerCorruptError: If a line is not a valid event (its number is named).
    """
    path = HomeLayout(Path(home)).ledger
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return []
    with os.fdopen(descriptor, "rb") as handle:
        # A shared lock waits for a writer's append to finish, so no half line is read.
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
        content = handle.read()
    events, torn = _parse_events(path, content)
    if torn:
        _warn_torn(path, events)
    return events


# --- replaying -----------------------------------------------------------------------


@dataclass
class RegistryState:
    """The registry as replayed from the ledger.

    Attributes:
        champion_history: Champions in promotion order, minus those rolled back; the
            last one is the current champion.
        events_by_version: Every event of each version, in ledger order.
    """

    champion_history: list[str] = field(default_factory=list)
    events_by_version: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def champion(self) -> str | None:
        """The current champion's version, or None before the first promotion."""
        return self.champion_history[-1] if self.champion_history else None

    @property
    def previous_champion(self) -> str | None:
        """The champion a rollback would return to, or None."""
        return self.champion_history[-2] if len(self.champion_history) > 1 else None

    def status(self, version: str) -> str:
        """The version's latest recorded state (``registered`` ... ``rolled back``); the
        champion's is the promotion in force, whatever came after it (a version promoted
        twice and rolled back once is champion again, not "rolled back")."""
        events = self.events_by_version.get(version)
        if not events:
            return "unregistered"
        if version == self.champion:
            promotions = [event for event in events if event["event"] in (PROMOTED, FORCED)]
            return _STATUS_BY_EVENT[promotions[-1]["event"]]
        return _STATUS_BY_EVENT[events[-1]["event"]]


def replay(events: list[dict[str, Any]]) -> RegistryState:
    """Derive the registry's state from ledger events.

    Args:
        events: Ledger events in order.

    Returns:
        The champion history and per-version events.

    Raises:
        LedgerCorruptError: If a rollback does not match the champion it claims to undo.
    """
    state = RegistryState()
    for number, event in enumerate(events, start=1):
        version = event["version"]
        state.events_by_version.setdefault(version, []).append(event)
        kind = event["event"]
        if kind in (PROMOTED, FORCED):
            if state.champion != version:
                state.champion_history.append(version)
        elif kind == ROLLED_BACK:
            if state.champion != version or state.previous_champion != event["to_version"]:
                raise LedgerCorruptError(
                    f"Ledger event {number} rolls back {version} to {event['to_version']}, "
                    f"but replay has champion {state.champion} and previous "
                    f"{state.previous_champion}; repair the ledger by hand."
                )
            state.champion_history.pop()
    return state


def registry_state(home: Path) -> RegistryState:
    """Replay the home's ledger."""
    return replay(read_ledger(home))


# --- writing -------------------------------------------------------------------------


def new_event(kind: str, version: str, fields: dict[str, Any]) -> dict[str, Any]:
    """A checked event of type ``kind`` about ``version``, stamped with the UTC time.

    Raises:
        RegistryError: If the event would not be valid.
    """
    event = {"event": kind, "version": version, "timestamp": utc_timestamp(), **fields}
    problem = _event_problem(event)
    if problem:
        raise RegistryError(f"Cannot record a '{kind}' event for '{version}': {problem}.")
    return event


def _make_directory(directory: Path) -> None:
    if directory.is_dir():
        return
    _make_directory(directory.parent)
    directory.mkdir(exist_ok=True)
    fsync_path(directory.parent)


def _write_whole(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(descriptor, view)
        if written == 0:
            raise OSError(f"no room for the last {len(view)} bytes")
        view = view[written:]
    os.fsync(descriptor)


class LedgerWriter:
    """The ledger held under its exclusive lock: its events and a way to append."""

    def __init__(self, descriptor: int, path: Path, events: list[dict[str, Any]]) -> None:
        self._descriptor = descriptor
        self.path = path
        self.events = events

    def state(self) -> RegistryState:
        """The registry as replayed from the events read under the lock."""
        return replay(self.events)

    def append(self, event: dict[str, Any]) -> None:
        """Append one event whole, or leave the ledger as it was and raise.

        Raises:
            RegistryError: If the event cannot be written completely (a full disk).
        """
        data = (json.dumps(event, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
        length = os.fstat(self._descriptor).st_size
        try:
            _write_whole(self._descriptor, data)
        except OSError as error:
            # The lock is held, so nothing was appended after the fragment: cutting the
            # file back to its old length removes exactly the part that was written.
            with contextlib.suppress(OSError):
                os.ftruncate(self._descriptor, length)
                os.fsync(self._descriptor)
            raise RegistryError(
                f"The '{event['event']}' event for {event['version']} could not be appended "
                f"to the ledger {self.path} ({error}), so nothing was recorded; free space on "
                "that disk and run the command again."
            ) from error
        self.events.append(event)


def _set_aside(descriptor: int, path: Path, content: bytes, torn: bytes) -> None:
    aside = path.with_name(f"{path.name}{TORN_SUFFIX}{utc_timestamp().replace(':', '')}")
    try:
        handle = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            _write_whole(handle, torn)
        finally:
            os.close(handle)
        fsync_path(path.parent)
        os.ftruncate(descriptor, len(content) - len(torn))
        os.fsync(descriptor)
    except OSError as error:
        raise RegistryError(
            f"The incomplete last line of the ledger {path} could not be moved aside to "
            f"{aside} ({error}); free space on that disk and run the command again."
        ) from error
    logger.warning(
        "The last line of the ledger %s was an incomplete event (an interrupted write); "
        "it was moved aside to %s and the complete events are unchanged.",
        path,
        aside,
    )


@contextlib.contextmanager
def locked_ledger(home: Path) -> Iterator[LedgerWriter]:
    """Hold the ledger's exclusive lock while the caller reads, decides and appends.

    A torn last line is moved aside first, so the next append starts on a line of its
    own. Nothing is written unless the caller appends.

    Raises:
        LedgerCorruptError: If a line is not a valid event (nothing is written).
    """
    path = HomeLayout(Path(home)).ledger
    _make_directory(path.parent)
    # The ledger is the one file appended in place instead of written through
    # sentiment.core.atomic: an append-only log must never be replaced wholesale.
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o644)
        fsync_path(path.parent)
    except FileExistsError:
        descriptor = os.open(path, os.O_RDWR | os.O_APPEND)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        with os.fdopen(os.dup(descriptor), "rb") as reader:
            content = reader.read()
        events, torn = _parse_events(path, content)
        if torn:
            _set_aside(descriptor, path, content, torn)
        yield LedgerWriter(descriptor, path, events)
    finally:
        os.close(descriptor)  # closing releases the lock

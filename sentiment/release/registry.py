"""The model registry: an append-only ledger of what happened to every model version.

``models/ledger.jsonl`` holds one JSON event per line, in the order they happened:

    registered   a bundle entered the registry (first evaluation)
    evaluated    test metrics were computed (summary; the full file is in the bundle)
    promoted     the gate let it replace the champion (every rule's verdict)
    rejected     the gate refused it (the failing rules, metric by metric)
    forced       a person promoted it past the gate (with their reason)
    rolled_back  the champion was returned to the previous one (with who and why)

The champion is never stored: it is derived by replaying the ledger, so the history
cannot disagree with the current state. Writers hold an exclusive ``flock`` on the ledger
while they read, decide and append; each event is appended with a single ``write`` on
an ``O_APPEND`` descriptor and fsynced, so concurrent writers never interleave or lose a
line. A corrupt line stops every command with its line number; history is never
rewritten.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentiment.core import storage
from sentiment.core.errors import (
    ConfigError,
    DataError,
    SentimentError,
    StageOutputMissingError,
)
from sentiment.core.paths import HomeLayout
from sentiment.core.provenance import code_fingerprint
from sentiment.data.snapshot import current_snapshot
from sentiment.modeling.bundle import BUNDLE_FILES, bundle_identity, local_bundle, verify_bundle
from sentiment.release.config import GatePolicy
from sentiment.release.evaluation import (
    EvaluationError,
    bundle_directory,
    bundle_model_name,
    evaluate_version,
    read_evaluation,
    read_prediction_sources,
    read_predictions,
    same_test_data,
    utc_timestamp,
)
from sentiment.release.gate import Candidate, GateDecision, decide, render_decision_markdown

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


class RegistryError(SentimentError):
    """A registry command cannot be carried out; the ledger is left unchanged."""


class LedgerCorruptError(DataError):
    """A ledger line is not a valid event; the ledger must be repaired by a person."""


# --- reading and replaying -----------------------------------------------------------


def _parse_events(path: Path, content: bytes) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    lines = content.split(b"\n")
    complete = lines[:-1]  # the text after the last newline is an unfinished line
    if lines[-1]:
        raise LedgerCorruptError(
            f"Line {len(lines)} of the ledger {path} is incomplete (no line end, probably an "
            "interrupted write); repair or remove that line by hand, the pipeline never "
            "rewrites history."
        )
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
    return events


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


def _read_unlocked(path: Path) -> list[dict[str, Any]]:
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        return []
    return _parse_events(path, content)


def read_ledger(home: Path) -> list[dict[str, Any]]:
    """Read every ledger event, in order.

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
    return _parse_events(path, content)


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
        """The version's latest recorded state (``registered`` ... ``rolled back``)."""
        events = self.events_by_version.get(version)
        if not events:
            return "unregistered"
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


def champion_version(home: Path) -> str | None:
    """Return the current champion's version, or None if none was ever promoted.

    Args:
        home: The pipeline home.

    Raises:
        LedgerCorruptError: If the ledger has a corrupt line.
    """
    return registry_state(home).champion


# --- writing -------------------------------------------------------------------------


@contextlib.contextmanager
def _locked_ledger(home: Path) -> Iterator[tuple[int, Path]]:
    """Hold the ledger's exclusive lock; yield its append descriptor and path."""
    path = HomeLayout(Path(home)).ledger
    path.parent.mkdir(parents=True, exist_ok=True)
    # The ledger is the one file appended in place instead of written through
    # sentiment.core.atomic: an append-only log must never be replaced wholesale.
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield descriptor, path
    finally:
        os.close(descriptor)  # closing releases the lock


def _append(descriptor: int, event: dict[str, Any]) -> None:
    data = (json.dumps(event, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
    written = os.write(descriptor, data)
    if written != len(data):
        # A short write to a local file means the disk is full; the lock is still held,
        # so no other writer can have appended after the fragment.
        raise OSError(f"only {written} of {len(data)} bytes of a ledger event were written")
    os.fsync(descriptor)


def _new_event(kind: str, version: str, fields: dict[str, Any]) -> dict[str, Any]:
    event = {"event": kind, "version": version, "timestamp": utc_timestamp(), **fields}
    problem = _event_problem(event)
    if problem:
        raise RegistryError(f"Cannot record a '{kind}' event for '{version}': {problem}.")
    return event


def record_event(home: Path, event: str, version: str, **fields: Any) -> dict[str, Any]:
    """Append one event to the ledger.

    Args:
        home: The pipeline home.
        event: One of :data:`EVENT_TYPES`.
        version: The model version the event is about.
        **fields: Further JSON-serializable fields.

    Returns:
        The event as written (with its UTC ``timestamp``).

    Raises:
        RegistryError: If the event type is unknown.
        LedgerCorruptError: If the existing ledger has a corrupt line (nothing is written).
    """
    if event not in EVENT_TYPES:
        raise RegistryError(f"Unknown ledger event '{event}'; use one of {', '.join(EVENT_TYPES)}.")
    entry = _new_event(event, version, fields)
    with _locked_ledger(home) as (descriptor, path):
        _read_unlocked(path)  # refuse to append after a corrupt line
        _append(descriptor, entry)
    return entry


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _slice_summary(metrics: dict[str, Any]) -> dict[str, Any]:
    slices = metrics.get("slices")
    if not isinstance(slices, dict):
        return {}
    summary = {}
    for source, values in slices.items():
        interval = values.get("accuracy_interval") or {}
        summary[source] = {
            "rows": values.get("rows"),
            "accuracy": values.get("accuracy"),
            "accuracy_lower": interval.get("lower"),
            "accuracy_upper": interval.get("upper"),
            "roc_auc": values.get("roc_auc"),
        }
    return summary


def _evaluation_summary(evaluation: dict[str, Any]) -> dict[str, Any]:
    metrics = evaluation["metrics"]
    interval = metrics.get("accuracy_interval") or {}
    return {
        "slices": _slice_summary(metrics),
        "accuracy": metrics["accuracy"],
        "accuracy_lower": interval.get("lower"),
        "accuracy_upper": interval.get("upper"),
        "precision": metrics.get("precision"),
        "recall": metrics.get("recall"),
        "f1": metrics.get("f1"),
        "roc_auc": metrics["roc_auc"],
        "log_loss": metrics.get("log_loss"),
    }


def record_evaluation(home: Path, version: str, reason: str | None = None) -> dict[str, Any]:
    """Record that ``version`` was evaluated (and registered, the first time).

    Args:
        home: The pipeline home.
        version: A version whose ``evaluation.json`` exists.
        reason: Why it was evaluated again, recorded when given.

    Returns:
        The ``evaluated`` event.

    Raises:
        EvaluationError: If the version is unknown or its evaluation unreadable.
        LedgerCorruptError: If the ledger has a corrupt line (nothing is written).
    """
    evaluation = read_evaluation(bundle_directory(home, version))
    model = evaluation.get("model")
    evaluated = _new_event(
        EVALUATED,
        version,
        {
            "model": model,
            "metrics": _evaluation_summary(evaluation),
            "test_rows_sha256": evaluation["test_data"]["rows_sha256"],
            "test_snapshot": evaluation["test_data"].get("data_snapshot"),
            "training_snapshot": evaluation.get("training_snapshot"),
            "evaluated_at": evaluation.get("evaluated_at"),
            **({"reason": reason} if reason else {}),
        },
    )
    with _locked_ledger(home) as (descriptor, path):
        state = replay(_read_unlocked(path))
        if not any(e["event"] == REGISTERED for e in state.events_by_version.get(version, [])):
            _append(descriptor, _new_event(REGISTERED, version, {"model": model}))
        _append(descriptor, evaluated)
    return evaluated


def _load_candidate(home: Path, version: str) -> Candidate:
    directory = bundle_directory(home, version)
    evaluation = read_evaluation(directory)
    review_ids, labels, scores = read_predictions(directory)
    sources = read_prediction_sources(directory)
    return Candidate(version, evaluation, review_ids, labels, scores, sources)


def reevaluate_champion(home: Path, version: str) -> dict[str, Any] | None:
    """Evaluate the champion again when it was tested on other rows than ``version``.

    The gate compares like with like: after a labelled batch joins the snapshot, the
    champion's stored evaluation covers an older test set, so it is scored on the
    current one first and that evaluation recorded too.

    Args:
        home: The pipeline home.
        version: The evaluated challenger.

    Returns:
        The champion's ``evaluated`` event, or None when nothing needed doing (no
        champion, the challenger is the champion, or the test rows are the same
        already, or the champion's bundle cannot be read: the gate then fails closed).
    """
    champion = champion_version(home)
    if champion is None or champion == version:
        return None
    challenger = read_evaluation(bundle_directory(home, version))
    try:
        directory = bundle_directory(home, champion)
    except EvaluationError:
        return None
    try:
        current = read_evaluation(directory)
    except EvaluationError:
        current = None
    if current is not None and same_test_data(current["test_data"], challenger["test_data"]):
        return None
    logger.info(
        "Champion %s was evaluated on other test rows than %s; evaluating it on the current "
        "test set first.",
        champion,
        version,
    )
    try:
        evaluate_version(home, champion)
    except (EvaluationError, DataError) as error:
        logger.warning("Champion %s could not be re-evaluated: %s", champion, error)
        return None
    return record_evaluation(
        home, champion, reason=f"re-evaluated on the test set of challenger {version}"
    )


def champion_up_to_date(home: Path, settings: dict[str, Any]) -> str | None:
    """Why training now would only repeat the champion, or None when it would not.

    The champion is up to date when it was trained on the current data snapshot, with
    these training settings and the same training-side code.

    Args:
        home: The pipeline home.
        settings: The resolved training settings (``TrainConfig.to_dict()``).

    Returns:
        ``up to date: champion V was trained on snapshot S``, or None.
    """
    champion = champion_version(home)
    if champion is None:
        return None
    try:
        directory = bundle_directory(home, champion)
        metadata = json.loads((directory / "metadata.json").read_text(encoding="utf-8"))
    except (EvaluationError, OSError, UnicodeDecodeError, ValueError):
        return None
    snapshot = current_snapshot(home).id
    trained = metadata.get("model") if isinstance(metadata, dict) else None
    if (
        not isinstance(trained, dict)
        or metadata.get("data_snapshot") != snapshot
        or metadata.get("code_fingerprint") != code_fingerprint()
        or any(trained.get(name) != value for name, value in settings.items())
    ):
        return None
    return f"up to date: champion {champion} was trained on snapshot {snapshot}"


def gate_and_record(home: Path, version: str, policy: GatePolicy | None = None) -> GateDecision:
    """Gate an evaluated version against the current champion and record the decision.

    The champion is read, the decision made and the ``promoted`` or ``rejected`` event
    appended under one ledger lock, so a concurrent promotion cannot slip in between.

    Args:
        home: The pipeline home.
        version: The evaluated challenger.
        policy: The gate's thresholds (default :class:`GatePolicy`).

    Returns:
        The decision.

    Raises:
        EvaluationError: If the challenger is unknown, not evaluated, or its evaluation
            or test predictions cannot be read.
        LedgerCorruptError: If the ledger has a corrupt line (nothing is written).
    """
    policy = policy or GatePolicy()
    challenger = _load_candidate(home, version)
    with _locked_ledger(home) as (descriptor, path):
        state = replay(_read_unlocked(path))
        champion_name = state.champion
        champion: Candidate | None = None
        problem: str | None = None
        if champion_name is not None and champion_name != version:
            try:
                champion = _load_candidate(home, champion_name)
            except (EvaluationError, DataError) as error:
                problem = str(error)
        decision = decide(policy, challenger, champion, champion_name, problem)
        payload = decision.as_dict()
        fields = {
            "model": challenger.evaluation.get("model"),
            "champion": champion_name,
            "summary": decision.summary,
            "verdicts": payload["verdicts"],
            "comparison": payload["comparison"],
            "policy": payload["policy"],
            "metrics": _evaluation_summary(challenger.evaluation),
        }
        if decision.promoted:
            _append(descriptor, _new_event(PROMOTED, version, fields))
        else:
            _append(
                descriptor, _new_event(REJECTED, version, {**fields, "reasons": decision.reasons})
            )
    logger.info("%s", decision.summary)
    return decision


def promote(
    home: Path, version: str, *, reason: str | None, force: bool = True, user: str | None = None
) -> dict[str, Any]:
    """Make ``version`` the champion past the gate: an audited override.

    Args:
        home: The pipeline home.
        version: An evaluated version.
        reason: Why the person overrides the gate (required, recorded).
        force: Must be True; gated promotion happens through evaluation.
        user: Who overrides (default: the login name).

    Returns:
        The ``forced`` event.

    Raises:
        RegistryError: Without ``force`` or ``reason``, or if it already is the champion.
        EvaluationError: If the version is unknown, not evaluated or its evaluation is
            corrupt.
        LedgerCorruptError: If the ledger has a corrupt line.
    """
    if not force:
        raise RegistryError(
            f"Promotion past the gate needs --force --reason TEXT; to gate {version} "
            f"normally run `sentiment evaluate {version}`."
        )
    if reason is None or not reason.strip():
        raise RegistryError(
            f"A forced promotion of {version} needs a reason: add --reason TEXT saying why "
            "the gate is overridden."
        )
    evaluation = read_evaluation(bundle_directory(home, version))
    with _locked_ledger(home) as (descriptor, path):
        state = replay(_read_unlocked(path))
        if state.champion == version:
            raise RegistryError(f"{version} is already the champion; nothing to promote.")
        event = _new_event(
            FORCED,
            version,
            {
                "model": evaluation.get("model"),
                "previous_champion": state.champion,
                "reason": reason.strip(),
                "user": user or _current_user(),
                "metrics": _evaluation_summary(evaluation),
            },
        )
        _append(descriptor, event)
    logger.info("Forced promotion of %s by %s: %s", version, event["user"], event["reason"])
    return event


def rollback(home: Path, *, reason: str | None = None, user: str | None = None) -> dict[str, Any]:
    """Return the champion to the previous one and record it.

    Args:
        home: The pipeline home.
        reason: Why (optional, recorded).
        user: Who (default: the login name).

    Returns:
        The ``rolled_back`` event (``version`` is the demoted champion, ``to_version`` the
        restored one).

    Raises:
        RegistryError: If there is no earlier champion or its bundle is gone.
        LedgerCorruptError: If the ledger has a corrupt line.
    """
    with _locked_ledger(home) as (descriptor, path):
        state = replay(_read_unlocked(path))
        current, previous = state.champion, state.previous_champion
        if current is None:
            raise RegistryError(
                "There is no champion to roll back; promote one with `sentiment evaluate "
                "VERSION` first."
            )
        if previous is None:
            raise RegistryError(
                f"Champion {current} has no earlier champion to roll back to; promote "
                "another version with `sentiment promote VERSION --force --reason TEXT`."
            )
        try:
            bundle_directory(home, previous)
        except EvaluationError as error:
            raise RegistryError(
                f"Cannot roll back to {previous}: its bundle is missing ({error}); restore "
                "it or promote another version with --force."
            ) from error
        event = _new_event(
            ROLLED_BACK,
            current,
            {"to_version": previous, "reason": reason, "user": user or _current_user()},
        )
        _append(descriptor, event)
    logger.info("Rolled back champion %s to %s", current, previous)
    return event


# --- listing -------------------------------------------------------------------------


def _bundle_versions(home: Path) -> list[str]:
    models = HomeLayout(Path(home)).models_dir
    if not models.is_dir():
        return []
    return sorted(
        entry.name
        for entry in models.iterdir()
        if entry.is_dir() and not entry.name.startswith(".")
    )


def _metadata_model_name(directory: Path) -> str | None:
    try:
        metadata = json.loads((directory / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return bundle_model_name(metadata) if isinstance(metadata, dict) else None


def _metadata_snapshot(directory: Path) -> str | None:
    try:
        metadata = json.loads((directory / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    snapshot = metadata.get("data_snapshot") if isinstance(metadata, dict) else None
    return snapshot if isinstance(snapshot, str) else None


def list_models(home: Path) -> list[dict[str, Any]]:
    """List every bundle and every version in the ledger, oldest first.

    Args:
        home: The pipeline home.

    Returns:
        One dict per version: ``version``, ``model``, ``status``, ``champion`` (bool),
        ``bundle`` (whether its directory exists), ``metrics`` (``accuracy``,
        ``accuracy_lower``, ``accuracy_upper``, ``roc_auc``, ..., ``slices`` by source
        with ``rows`` and ``accuracy`` at least, or None if never evaluated),
        ``data_snapshot`` (the snapshot it was trained on), ``test_snapshot`` (the one
        it was last evaluated on), ``evaluated_at`` and ``problem`` (why the
        evaluation cannot be read, or None).

    Raises:
        LedgerCorruptError: If the ledger has a corrupt line.
    """
    home = Path(home)
    state = registry_state(home)
    present = set(_bundle_versions(home))
    entries = []
    for version in sorted(present | set(state.events_by_version)):
        events = state.events_by_version.get(version, [])
        directory = HomeLayout(home).bundle(version)
        metrics: dict[str, Any] | None = None
        model: str | None = None
        evaluated_at: str | None = None
        problem: str | None = None
        data_snapshot: str | None = None
        test_snapshot: str | None = None
        if version in present:
            data_snapshot = _metadata_snapshot(directory)
            try:
                evaluation = read_evaluation(directory)
            except EvaluationError as error:
                if (directory / "evaluation.json").exists():
                    problem = str(error)
            else:
                metrics = _evaluation_summary(evaluation)
                model = evaluation.get("model")
                evaluated_at = evaluation.get("evaluated_at")
                test_snapshot = evaluation["test_data"].get("data_snapshot")
                data_snapshot = data_snapshot or evaluation.get("training_snapshot")
            model = model or _metadata_model_name(directory)
        else:
            problem = f"bundle {directory} is missing"
        for event in reversed(events):
            # A deleted bundle still shows the metrics the ledger recorded for it.
            if metrics is None and event["event"] == EVALUATED and version not in present:
                metrics = event.get("metrics")
            model = model or event.get("model")
        entries.append(
            {
                "version": version,
                "model": model,
                "status": state.status(version),
                "champion": version == state.champion,
                "bundle": version in present,
                "metrics": metrics,
                "data_snapshot": data_snapshot,
                "test_snapshot": test_snapshot,
                "evaluated_at": evaluated_at,
                "problem": problem,
            }
        )
    return entries


def resolve_version(home: Path, version: str) -> str:
    """Return ``version``, or the newest bundle's version when it is ``latest``.

    Raises:
        EvaluationError: If ``latest`` is asked for and there is no bundle.
    """
    if version != "latest":
        return version
    versions = _bundle_versions(home)
    if not versions:
        raise EvaluationError(
            f"There is no model bundle under {HomeLayout(Path(home)).models_dir}; run "
            "`sentiment train` first."
        )
    # Versions start with their UTC creation time, so the last in order is the newest.
    return versions[-1]


def decision_markdown(home: Path, decision: GateDecision) -> str:
    """Render a recorded decision, with both models' evaluations side by side."""
    challenger = read_evaluation(bundle_directory(home, decision.challenger))
    champion: dict[str, Any] | None = None
    if decision.champion and decision.champion != decision.challenger:
        try:
            champion = read_evaluation(bundle_directory(home, decision.champion))
        except EvaluationError:
            champion = None
    return render_decision_markdown(decision.as_dict(), challenger, champion)


def resolve_bundle(home: Path, model: str | None = None) -> tuple[str, Path]:
    """The version and directory of the bundle to score with, without loading it.

    Args:
        home: The pipeline home.
        model: A registered version, ``latest`` for the newest bundle, or None for the
            champion.

    Returns:
        ``(version, directory)``.

    Raises:
        StageOutputMissingError: If no model is named and none was ever promoted.
        EvaluationError: If the named version is not a bundle of this home.
    """
    version = resolve_version(home, model) if model else champion_version(home)
    if version is None:
        raise StageOutputMissingError(
            f"No champion model in {HomeLayout(Path(home)).models_dir}; train, evaluate and "
            "promote one first ('sentiment train', then 'sentiment evaluate VERSION'), or "
            "pass --model VERSION."
        )
    return version, bundle_directory(home, version)


def explicit_bundle(path: Path | str) -> tuple[str, Path | str]:
    """The version and directory of a bundle named by its path (``--bundle PATH``),
    which may lie outside the home's registry, verified as a registry bundle is when it
    loads (every file against the checksums recorded when it was saved).

    Unlike a registry bundle it must carry those checksums: nothing else vouches for it.

    Args:
        path: The bundle's directory, or its URL (``s3://bucket/models/VERSION``: this
            host's copy is verified; every other host copies and verifies it again when
            it loads).

    Returns:
        ``(version, directory)``, the directory absolute (for a URL, the URL).

    Raises:
        DataError: If it is not a complete bundle, has no checksums, or a file differs
            from its checksum (one sentence naming the file).
    """
    where = storage.location(path)
    if storage.is_remote(where):
        return explicit_bundle(local_bundle(where))[0], where
    directory = Path(path).expanduser().resolve()
    if not directory.is_dir():
        raise DataError(
            f"Model bundle {directory} does not exist; pass --bundle a bundle directory "
            "saved by 'sentiment train', or --model a version listed by 'sentiment models'."
        )
    for name in BUNDLE_FILES:
        if not (directory / name).is_file():
            raise DataError(
                f"Model bundle file {directory / name} is missing, so {directory} is not a "
                "complete bundle; pass --bundle a bundle directory saved by 'sentiment train'."
            )
    if not verify_bundle(directory):
        raise DataError(
            f"Model bundle {directory} has no checksums.json, so its files cannot be "
            "verified and it is refused as --bundle; use a bundle saved with checksums "
            "(retrain it with 'sentiment train')."
        )
    return bundle_identity(directory).version, directory


def scoring_bundle(
    home: Path, model: str | None = None, bundle: str | Path | None = None
) -> tuple[str, Path | str, str]:
    """The bundle a scoring run uses: ``--bundle PATH`` (:func:`explicit_bundle`), else
    ``--model VERSION`` or the champion (:func:`resolve_bundle`, the home's registry).

    Returns:
        ``(version, directory, source)``, source ``path`` or ``registry``.

    Raises:
        ConfigError: If both a model and a bundle are named.
    """
    if bundle is not None and model is not None:
        raise ConfigError(
            "Both --model and --bundle were given; name a registry version with --model "
            "or a bundle directory with --bundle, not both."
        )
    if bundle is not None:
        return (*explicit_bundle(bundle), "path")
    return (*resolve_bundle(home, model), "registry")


def champion_markdown(home: Path) -> str:
    """The champion's card: version, model, when it became champion, test metrics.

    Before any promotion the card says so, so a keyed artifact always shows the truth.
    """
    state = registry_state(home)
    version = state.champion
    if version is None:
        return (
            "# Champion: none yet\n\nNo model has been promoted in "
            f"`{HomeLayout(Path(home)).models_dir}`.\n"
        )
    promotions = [
        event
        for event in state.events_by_version.get(version, [])
        if event["event"] in (PROMOTED, FORCED)
    ]
    since = promotions[-1].get("timestamp", "—") if promotions else "—"
    directory = bundle_directory(home, version)
    lines = [
        f"# Champion: `{version}`",
        "",
        f"Bundle: `{directory}` · champion since {since}",
        "",
    ]
    try:
        evaluation = read_evaluation(directory)
    except EvaluationError as error:
        return "\n".join([*lines, f"No evaluation: {error}", ""])
    metrics = evaluation.get("metrics", {})
    lines += [
        f"Model: `{evaluation.get('model') or '—'}`",
        "",
        "| metric | test value |",
        "|---|---:|",
    ]
    for name in ("accuracy", "roc_auc", "f1", "log_loss", "count"):
        value = metrics.get(name)
        if isinstance(value, float):
            lines.append(f"| {name} | {value:.4f} |")
        elif value is not None:
            lines.append(f"| {name} | {value} |")
    return "\n".join(lines) + "\n"

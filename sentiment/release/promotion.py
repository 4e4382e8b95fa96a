"""Promotion: recording evaluations, gating a challenger against the champion, forced
promotion and rollback, each decided and appended under one ledger lock; plus the
champion's re-evaluation on the current test set and the freshness check that spares a
retrain which would only repeat the champion."""

from __future__ import annotations

import getpass
import logging
from pathlib import Path
from typing import Any

from sentiment.core.errors import DataError
from sentiment.core.provenance import code_fingerprint
from sentiment.data.snapshot import current_snapshot
from sentiment.modeling.bundle_files import metadata_if_readable
from sentiment.release.champion import bundle_directory, champion_version
from sentiment.release.config import GatePolicy
from sentiment.release.errors import EvaluationError, RegistryError
from sentiment.release.evaluation import (
    evaluate_version,
    evaluation_summary,
    read_evaluation,
    read_prediction_sources,
    read_predictions,
)
from sentiment.release.gate import GateDecision, decide
from sentiment.release.gate_rules import Candidate
from sentiment.release.ledger import (
    EVALUATED,
    FORCED,
    PROMOTED,
    REGISTERED,
    REJECTED,
    ROLLED_BACK,
    locked_ledger,
    new_event,
)
from sentiment.release.test_split import same_test_data

logger = logging.getLogger(__name__)


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


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
    evaluated = new_event(
        EVALUATED,
        version,
        {
            "model": model,
            "metrics": evaluation_summary(evaluation),
            "test_rows_sha256": evaluation["test_data"]["rows_sha256"],
            "test_snapshot": evaluation["test_data"].get("data_snapshot"),
            "training_snapshot": evaluation.get("training_snapshot"),
            "evaluated_at": evaluation.get("evaluated_at"),
            **({"reason": reason} if reason else {}),
        },
    )
    with locked_ledger(home) as ledger:
        state = ledger.state()
        if not any(e["event"] == REGISTERED for e in state.events_by_version.get(version, [])):
            ledger.append(new_event(REGISTERED, version, {"model": model}))
        ledger.append(evaluated)
    return evaluated


def evaluate_and_record(home: Path, version: str) -> dict[str, Any]:
    """Evaluate ``version`` on the test split (see :func:`evaluate_version`) and record
    it in the ledger (see :func:`record_evaluation`).

    Returns:
        The evaluation.
    """
    evaluation = evaluate_version(home, version)
    record_evaluation(home, version)
    return evaluation


def _load_candidate(home: Path, version: str) -> Candidate:
    directory = bundle_directory(home, version)
    evaluation = read_evaluation(directory)
    review_ids, labels, scores = read_predictions(directory)
    sources = read_prediction_sources(directory)
    model = (metadata_if_readable(directory) or {}).get("model")
    settings = model if isinstance(model, dict) else None
    return Candidate(version, evaluation, review_ids, labels, scores, sources, settings)


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
        metadata = metadata_if_readable(bundle_directory(home, champion))
    except EvaluationError:
        return None
    if metadata is None:
        return None
    snapshot = current_snapshot(home).id
    trained = metadata.get("model")
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
    with locked_ledger(home) as ledger:
        state = ledger.state()
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
            "metrics": evaluation_summary(challenger.evaluation),
        }
        if decision.promoted:
            ledger.append(new_event(PROMOTED, version, fields))
        else:
            ledger.append(new_event(REJECTED, version, {**fields, "reasons": decision.reasons}))
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
    with locked_ledger(home) as ledger:
        state = ledger.state()
        if state.champion == version:
            raise RegistryError(f"{version} is already the champion; nothing to promote.")
        event = new_event(
            FORCED,
            version,
            {
                "model": evaluation.get("model"),
                "previous_champion": state.champion,
                "reason": reason.strip(),
                "user": user or _current_user(),
                "metrics": evaluation_summary(evaluation),
            },
        )
        ledger.append(event)
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
    with locked_ledger(home) as ledger:
        state = ledger.state()
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
        event = new_event(
            ROLLED_BACK,
            current,
            {"to_version": previous, "reason": reason, "user": user or _current_user()},
        )
        ledger.append(event)
    logger.info("Rolled back champion %s to %s", current, previous)
    return event

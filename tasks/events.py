"""Emitting the pipeline's Prefect events (what automations react to).

Every event's resource is ``sentiment.model.<version>``, so one automation can match
all of a model's events; the payload carries the figures a notification shows. Every
change of champion (the gate's promotion, a forced promotion, a rollback) is a
``sentiment.model.promoted`` event with its ``cause`` and ``reason``, so the automation
that rescores the inbox acts on each, and republishes the ``sentiment-champion`` card.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect.artifacts import create_markdown_artifact
from prefect.events import emit_event
from prefect.logging import get_run_logger

from sentiment.release.champion import champion_version
from sentiment.release.report import champion_markdown

PROMOTED = "sentiment.model.promoted"
REJECTED = "sentiment.model.rejected"
DRIFT_DETECTED = "sentiment.drift.detected"
SCORING_FAILED = "sentiment.scoring.failed"
CHAMPION_ARTIFACT_KEY = "sentiment-champion"


def _emit(event: str, version: str, payload: dict[str, Any]) -> bool:
    emitted = emit_event(
        event=event,
        resource={
            "prefect.resource.id": f"sentiment.model.{version}",
            "prefect.resource.name": version,
        },
        payload={"model_version": version, **payload},
    )
    return emitted is not None


def emit(event: str, version: str, payload: dict[str, Any]) -> None:
    """Emit ``event`` about model ``version`` from a run, and log that it did."""
    emitted = _emit(event, version, payload)
    get_run_logger().info("Emitted event %s for %s.", event, version if emitted else "(not sent)")


def emit_champion_change(
    version: str, *, cause: str, reason: str | None, previous: str | None, home: str
) -> bool:
    """Emit ``sentiment.model.promoted`` for a champion change made outside a flow run
    (``sentiment promote --force``, ``sentiment rollback``) and wait until it is sent.

    Args:
        version: The new champion.
        cause: Who or what changed it (``forced by alice``, ``rollback by alice``).
        reason: Why, as recorded in the ledger.
        previous: The champion it replaces.
        home: The pipeline home.

    Returns:
        Whether the event was handed to the server.
    """
    from prefect.events.worker import EventsWorker

    emitted = _emit(
        PROMOTED,
        version,
        {
            "summary": f"{version} is the champion ({cause}): {reason or 'no reason given'}",
            "cause": cause,
            "reason": reason,
            "previous_champion": previous,
            "home": home,
        },
    )
    EventsWorker.drain_all()
    return emitted


def publish_champion_card(home: str) -> str | None:
    """Publish the keyed ``sentiment-champion`` card of the current champion: after the
    gate (``evaluate``), a forced promotion or a rollback (the CLI), so the UI always
    shows the champion of the registry.

    Returns:
        The champion's version, or None before any promotion.
    """
    create_markdown_artifact(
        markdown=champion_markdown(Path(home)),
        key=CHAMPION_ARTIFACT_KEY,
        description="The current champion model and its test metrics.",
    )
    return champion_version(Path(home))

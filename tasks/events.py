"""Emitting the pipeline's Prefect events (what automations react to).

Every event's resource is ``sentiment.model.<version>``, so one automation can match
all of a model's events; the payload carries the figures a notification shows.
"""

from __future__ import annotations

from typing import Any

from prefect.events import emit_event
from prefect.logging import get_run_logger

PROMOTED = "sentiment.model.promoted"
REJECTED = "sentiment.model.rejected"
DRIFT_DETECTED = "sentiment.drift.detected"
SCORING_FAILED = "sentiment.scoring.failed"


def emit(event: str, version: str, payload: dict[str, Any]) -> None:
    """Emit ``event`` about model ``version`` and log that it did."""
    emitted = emit_event(
        event=event,
        resource={
            "prefect.resource.id": f"sentiment.model.{version}",
            "prefect.resource.name": version,
        },
        payload={"model_version": version, **payload},
    )
    get_run_logger().info("Emitted event %s for %s.", event, version if emitted else "(not sent)")

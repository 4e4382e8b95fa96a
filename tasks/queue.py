"""Prefect tasks of the labelling queue: refresh it after an inbox run, and what the
queue's labels did in a retrain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from sentiment.core.errors import SentimentError
from sentiment.labelling.config import QueueConfig
from sentiment.labelling.outcome import queue_label_outcome
from sentiment.labelling.queue import build_queue

QUEUE_ARTIFACT_KEY = "labelling-queue"
# Characters of a review shown in the artifact's table (the queue file holds it whole).
_TEXT_SHOWN = 160


@task(name="refresh-labelling-queue", cache_policy=NO_CACHE)
def refresh_queue_task(home: str, config: QueueConfig) -> dict[str, Any]:
    """Write the next labelling queue and publish it as the ``labelling-queue`` table.

    A queue that cannot be built is logged, never the scoring run's failure.

    Returns:
        ``output`` (the queue file or None), ``picked``, ``files``, ``skipped_files``, and
        ``error`` when it could not be built.
    """
    logger = get_run_logger()
    try:
        result = build_queue(Path(home), config)
    except SentimentError as error:
        logger.warning("The labelling queue was not refreshed: %s", error)
        return {"output": None, "picked": 0, "files": 0, "skipped_files": {}, "error": str(error)}
    logger.info("%s", result.summary())
    if result.rows:
        create_table_artifact(
            table=[
                {
                    "review_id": row["review_id"],
                    "sentiment_score": row["sentiment_score"],
                    "picked_because": row["picked_because"],
                    "source_file": row["source_file"],
                    "text": row["text"][:_TEXT_SHOWN]
                    + ("…" if len(row["text"]) > _TEXT_SHOWN else ""),
                }
                for row in result.rows
            ],
            key=QUEUE_ARTIFACT_KEY,
            description=result.summary(),
        )
    return {
        "output": result.output,
        "picked": result.picked,
        "files": result.files,
        "skipped_files": result.skipped_files,
    }


def _accuracy(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


@task(name="queue-labels-outcome", cache_policy=NO_CACHE)
def queue_outcome_task(home: str, gate: dict[str, Any]) -> dict[str, Any]:
    """How many new labels came from a labelling queue, and their slice's accuracy with
    the champion before and the challenger after (see ``queue_label_outcome``)."""
    outcome = queue_label_outcome(Path(home), gate.get("version"), gate.get("champion"))
    if outcome["labels"]:
        get_run_logger().info(
            "%d new label(s) came from the labelling queue: %s",
            outcome["labels"],
            "; ".join(
                f"slice {source} ({entry['rows']} test rows): accuracy "
                f"{_accuracy(entry['before'])} before, {_accuracy(entry['after'])} after"
                for source, entry in outcome["slices"].items()
            ),
        )
    return outcome

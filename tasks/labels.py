"""Prefect tasks of labelled-data intake and the retrain's no-churn check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from sentiment.data.labelled_inbox import describe_intake_file, intake_markdown, take_in_inbox
from sentiment.modeling.config import TrainConfig
from sentiment.release.promotion import champion_up_to_date, reevaluate_champion


@task(name="take-in-labels", cache_policy=NO_CACHE)
def take_in_labels_task(home: str, inbox: str) -> dict[str, Any]:
    """Take in the labelled files of ``inbox`` not taken in yet; publish the counts.

    Returns:
        ``files`` (each file's counts), ``skipped`` (bad files and why), ``snapshot``
        and ``new_rows``.
    """
    logger = get_run_logger()
    intake = take_in_inbox(Path(home), Path(inbox))
    for entry in intake["files"]:
        logger.info("%s.", describe_intake_file(entry))
    logger.info("Data snapshot %s; %d new labelled rows.", intake["snapshot"], intake["new_rows"])
    markdown = intake_markdown(intake)
    if markdown is not None:
        create_markdown_artifact(
            markdown=markdown,
            key="labelled-intake",
            description=f"Labelled files taken in; snapshot {intake['snapshot']}.",
        )
    return intake


@task(name="champion-up-to-date", cache_policy=NO_CACHE)
def champion_up_to_date_task(home: str, config: TrainConfig) -> str | None:
    """Why training would only repeat the champion (same snapshot, settings, code), or None."""
    reason = champion_up_to_date(Path(home), config.to_dict())
    get_run_logger().info("%s", reason or "The champion is not up to date; training.")
    return reason


@task(name="reevaluate-champion", cache_policy=NO_CACHE)
def reevaluate_champion_task(home: str, version: str) -> str | None:
    """Evaluate the champion on the challenger's test set when it was tested on other rows.

    Returns:
        The champion's version when it was re-evaluated, else None.
    """
    event = reevaluate_champion(Path(home), version)
    if event is not None:
        metrics = event["metrics"]
        get_run_logger().info(
            "Re-evaluated champion %s on the current test set: accuracy %.4f.",
            event["version"],
            metrics["accuracy"],
        )
        return event["version"]
    return None

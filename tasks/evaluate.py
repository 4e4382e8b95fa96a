"""Prefect tasks that evaluate a bundle, gate it and publish the decision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from sentiment.release.champion import champion_version
from sentiment.release.config import GatePolicy
from sentiment.release.evaluation import describe_evaluation, evaluation_manifest
from sentiment.release.promotion import evaluate_and_record, gate_and_record
from sentiment.release.report import decision_markdown
from tasks.events import PROMOTED, REJECTED, emit, publish_champion_card

ARTIFACT_KEY = "model-evaluation"


@task(name="evaluate-bundle", cache_policy=NO_CACHE)
def evaluate_bundle_task(home: str, version: str) -> dict[str, Any]:
    """Score the raw test split with the bundle, write its evaluation, record it.

    No retries: scoring is deterministic, and a failure is a bad bundle or bad data.

    Returns:
        A small manifest: version, model, headline metrics and the evaluation's path.
    """
    evaluation = evaluate_and_record(Path(home), version)
    get_run_logger().info("%s", describe_evaluation(version, evaluation))
    return evaluation_manifest(Path(home), version, evaluation)


@task(name="gate-model", cache_policy=NO_CACHE)
def gate_model_task(home: str, version: str, policy: GatePolicy) -> dict[str, Any]:
    """Gate the evaluated version against the champion, record the decision, publish it.

    Returns:
        The decision: ``decision`` (promoted/rejected), ``summary``, ``reasons``,
        ``verdicts``, ``comparison``, ``champion`` and ``policy``.
    """
    logger = get_run_logger()
    decision = gate_and_record(Path(home), version, policy)
    for verdict in decision.verdicts:
        logger.info("Rule %s: %s (%s)", verdict.rule, verdict.outcome, verdict.detail)
    if decision.promoted:
        logger.info("%s", decision.summary)
    else:
        logger.warning("%s", decision.summary)
    create_markdown_artifact(
        markdown=decision_markdown(Path(home), decision),
        key=ARTIFACT_KEY,
        description=decision.summary,
    )
    emit(
        PROMOTED if decision.promoted else REJECTED,
        version,
        {
            **decision.event_payload(),
            # The same fields as a forced promotion's or a rollback's (tasks.events).
            "cause": "gate",
            "reason": decision.summary,
            "previous_champion": decision.champion,
            "home": str(Path(home).resolve()),
        },
    )
    return decision.as_dict()


@task(name="publish-champion", cache_policy=NO_CACHE)
def publish_champion_task(home: str) -> str | None:
    """Publish the keyed ``sentiment-champion`` card of the current champion."""
    return publish_champion_card(home)


@task(name="champion", cache_policy=NO_CACHE)
def champion_task(home: str) -> str | None:
    """The registry's champion version, or None before any promotion."""
    version = champion_version(Path(home))
    get_run_logger().info("Champion: %s.", version or "none yet")
    return version

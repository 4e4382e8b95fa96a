"""Prefect tasks that evaluate a bundle, gate it and publish the decision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from sentiment.core.paths import HomeLayout
from sentiment.release.champion import champion_version
from sentiment.release.config import GatePolicy
from sentiment.release.evaluation import EVALUATION_FILE, evaluate_version
from sentiment.release.promotion import gate_and_record, record_evaluation
from sentiment.release.report import champion_markdown, decision_markdown
from tasks.events import PROMOTED, REJECTED, emit

ARTIFACT_KEY = "model-evaluation"
CHAMPION_ARTIFACT_KEY = "sentiment-champion"


@task(name="evaluate-bundle", cache_policy=NO_CACHE)
def evaluate_bundle_task(home: str, version: str) -> dict[str, Any]:
    """Score the raw test split with the bundle, write its evaluation, record it.

    No retries: scoring is deterministic, and a failure is a bad bundle or bad data.

    Returns:
        A small manifest: version, model, headline metrics and the evaluation's path.
    """
    logger = get_run_logger()
    evaluation = evaluate_version(Path(home), version)
    record_evaluation(Path(home), version)
    metrics = evaluation["metrics"]
    interval = metrics["accuracy_interval"]
    logger.info(
        "Evaluated %s (%s) on %d test reviews: accuracy %.4f (95%% CI %.4f-%.4f), "
        "ROC AUC %.4f, F1 %.4f, log loss %.4f",
        version,
        evaluation.get("model"),
        metrics["count"],
        metrics["accuracy"],
        interval["lower"],
        interval["upper"],
        metrics["roc_auc"],
        metrics["f1"],
        metrics["log_loss"],
    )
    return {
        "version": version,
        "model": evaluation.get("model"),
        "accuracy": metrics["accuracy"],
        "accuracy_interval": [interval["lower"], interval["upper"]],
        "roc_auc": metrics["roc_auc"],
        "evaluation": str(HomeLayout(Path(home)).bundle(version) / EVALUATION_FILE),
    }


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
    payload = decision.as_dict()
    emit(
        PROMOTED if decision.promoted else REJECTED,
        version,
        {
            "summary": decision.summary,
            "reasons": decision.reasons,
            "champion": decision.champion,
            "home": str(Path(home).resolve()),
            # The figures: each rule's observed value against what it required.
            "rules": [
                {key: verdict[key] for key in ("rule", "outcome", "observed", "required")}
                for verdict in payload["verdicts"]
            ],
        },
    )
    return payload


@task(name="publish-champion", cache_policy=NO_CACHE)
def publish_champion_task(home: str) -> str | None:
    """Publish the keyed ``sentiment-champion`` card of the current champion."""
    create_markdown_artifact(
        markdown=champion_markdown(Path(home)),
        key=CHAMPION_ARTIFACT_KEY,
        description="The current champion model and its test metrics.",
    )
    return champion_version(Path(home))


@task(name="champion", cache_policy=NO_CACHE)
def champion_task(home: str) -> str | None:
    """The registry's champion version, or None before any promotion."""
    version = champion_version(Path(home))
    get_run_logger().info("Champion: %s.", version or "none yet")
    return version

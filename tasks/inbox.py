"""Prefect tasks of the inbox: plan what to score, remember failures, list what ran."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.logging import get_run_logger

from sentiment.core.paths import HomeLayout
from sentiment.scoring.inbox import inbox_markdown, plan_inbox, record_failures
from sentiment.scoring.results import FileResult

INBOX_ARTIFACT_KEY = "inbox-scoring"


@task(name="plan-inbox", cache_policy=NO_CACHE)
def plan_inbox_task(home: str, model_version: str, threshold: float | None) -> dict[str, list[str]]:
    """Sort the inbox into pending, up-to-date and known-bad files."""
    layout = HomeLayout(Path(home))
    plan = plan_inbox(layout.inbox_dir, layout.scored_dir, model_version, threshold)
    logger = get_run_logger()
    logger.info(
        "Inbox %s: %d new or changed, %d up to date, %d known bad (unchanged since they "
        "failed), %d skipped.",
        layout.inbox_dir,
        len(plan.pending),
        len(plan.up_to_date),
        len(plan.known_bad),
        len(plan.skipped),
    )
    for reason in plan.skipped:
        logger.warning("%s", reason)
    return plan.to_dict()


@task(name="record-inbox-failures", cache_policy=NO_CACHE)
def record_inbox_failures_task(home: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    """Remember failed files by size and time, so later runs skip them until they change."""
    return record_failures(
        HomeLayout(Path(home)).scored_dir, [FileResult.from_dict(result) for result in results]
    )


@task(name="inbox-report", cache_policy=NO_CACHE)
def inbox_report_task(
    plan: dict[str, list[str]], results: list[dict[str, Any]], summary: dict[str, Any]
) -> str:
    """Publish the ``inbox-scoring`` artifact: every file this run handled, and how."""
    markdown = inbox_markdown(plan, results, summary)
    create_markdown_artifact(
        markdown,
        key=INBOX_ARTIFACT_KEY,
        description=f"{len(results)} inbox file(s) handled",
    )
    return markdown

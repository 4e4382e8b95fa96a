"""Prefect tasks of the inbox: plan what to score, remember failures, list what ran."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.logging import get_run_logger

from sentiment.core.paths import HomeLayout
from sentiment.scoring.inbox import plan_inbox, record_failures
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


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


@task(name="inbox-report", cache_policy=NO_CACHE)
def inbox_report_task(
    plan: dict[str, list[str]], results: list[dict[str, Any]], summary: dict[str, Any]
) -> str:
    """Publish the ``inbox-scoring`` artifact: every file this run handled, and how."""
    lines = [
        f"# Inbox scoring — model `{summary['model_version']}`",
        "",
        f"Scored into `{summary['output_dir']}`: {summary['files_scored']} scored, "
        f"{summary['files_skipped']} up to date, {summary['files_failed']} failed; "
        f"{len(plan['up_to_date'])} file(s) were already current and "
        f"{len(plan['known_bad'])} known bad file(s) unchanged were skipped.",
        "",
        "| input | status | rows | output |",
        "|---|---|---:|---|",
    ]
    failures = []
    for result in map(FileResult.from_dict, results):
        name = Path(result.input_path).name
        output = Path(result.output_path).name if result.output_path else "—"
        rows = f"{result.rows:,}" if result.profile is not None else "—"
        lines.append(f"| `{_cell(name)}` | {result.status} | {rows} | `{_cell(output)}` |")
        if result.status == "failed":
            failures.append(f"- `{_cell(name)}`: {_cell(result.reason)}")
    # Reasons are sentences: below the table, which they would widen past the pane.
    if results:
        folder = os.path.commonpath([str(Path(result["input_path"]).parent) for result in results])
        lines += ["", f"Inputs in `{folder}`, outputs in `{summary['output_dir']}`."]
    if failures:
        lines += ["", "Failed files (skipped until they change):", "", *failures]
    if plan.get("skipped"):
        lines += ["", "Left alone:", "", *(f"- {_cell(reason)}" for reason in plan["skipped"])]
    drift = summary.get("drift")
    if drift:
        lines += ["", f"Drift: **{drift['status']}** — {drift['reason']}"]
    markdown = "\n".join(lines) + "\n"
    create_markdown_artifact(
        markdown,
        key=INBOX_ARTIFACT_KEY,
        description=f"{len(results)} inbox file(s) handled",
    )
    return markdown

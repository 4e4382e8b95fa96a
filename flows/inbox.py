"""The ``score-inbox`` flow: score what is new or changed in ``<home>/inbox``.

Outputs go to ``<home>/scored``, one Parquet file per input. A run with nothing to do
ends Completed "nothing new"; a bad file fails its run once, with an event and an
artifact, and is skipped until it changes.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from prefect.states import Completed, State

from flows.errors import expected_failure
from flows.score import score_files_flow
from sentiment.core.errors import SentimentError
from sentiment.core.paths import HomeLayout
from sentiment.release.registry import champion_version
from sentiment.scoring.config import DriftThresholds, ScoringConfig
from sentiment.scoring.inbox import plan_inbox
from tasks.inbox import inbox_report_task, plan_inbox_task, record_inbox_failures_task
from tasks.score import (
    discover_inputs_task,
    drift_task,
    resolve_model_task,
    scoring_failed_task,
    summarize_task,
)


def inbox_run_name() -> str:
    """``score-inbox-3-files``: how many files the run found to score as it started."""
    parameters = flow_run.parameters or {}
    with contextlib.suppress(Exception):  # a name is never worth failing the run
        layout = HomeLayout.of(parameters.get("home"))
        version = champion_version(layout.home)
        if version is None:
            return "score-inbox-no-champion"
        threshold = parameters.get("threshold", ScoringConfig.threshold)
        pending = plan_inbox(layout.inbox_dir, layout.scored_dir, version, threshold).pending
        return f"score-inbox-{len(pending)}-file{'' if len(pending) == 1 else 's'}"
    return "score-inbox"


@flow(name="score-inbox", flow_run_name=inbox_run_name)
def score_inbox_flow(
    home: str | None = None,
    text_column: str | None = ScoringConfig.text_column,
    threshold: float | None = ScoringConfig.threshold,
    batch_size: int = ScoringConfig.batch_size,
    drift: DriftThresholds | None = None,
) -> State[dict[str, Any]]:
    """Score the inbox's new or changed files with the champion.

    Args:
        home: The pipeline home (default: ``$SENTIMENT_HOME``, else the user's data
            directory); its ``inbox/`` is read and ``scored/`` written.
        text_column: The review-text column; default ``text`` or ``review``.
        threshold: Scores at or above it are labelled positive.
        batch_size: Reviews per model forward pass.
        drift: When a batch counts as drifted from training (default: the
            :class:`~sentiment.scoring.config.DriftThresholds` defaults).

    Returns:
        Completed with what was scored (or "nothing new"), or Failed naming the bad
        file(s), which later runs skip until they change.
    """
    started = time.perf_counter()
    layout = HomeLayout.of(home)
    home = str(layout.home)
    output = str(layout.scored_dir)
    try:
        config = ScoringConfig(text_column=text_column, threshold=threshold, batch_size=batch_size)
        bundle = resolve_model_task(home)
    except SentimentError as error:
        return expected_failure(error)
    plan = plan_inbox_task(home, bundle["version"], config.threshold)
    if not plan["pending"]:
        message = (
            f"nothing new in {layout.inbox_dir}: {len(plan['up_to_date'])} file(s) up to date, "
            f"{len(plan['known_bad'])} known bad file(s) unchanged."
        )
        get_run_logger().info("%s", message)
        return Completed(message=message, data={"plan": plan, "files_scored": 0})
    discovery = discover_inputs_task(plan["pending"], output, config)
    outcomes = score_files_flow(discovery["shards"], output, bundle["directory"], config)
    results = [
        *discovery["failures"],
        *(result for outcome in outcomes for result in outcome.get("results", [])),
    ]
    summary = summarize_task(
        results, home, output, bundle, config.threshold, seconds=time.perf_counter() - started
    )
    summary["drift"] = drift_task(summary, drift or DriftThresholds())
    record_inbox_failures_task(home, results)
    inbox_report_task(plan, results, summary)
    if summary["files_failed"]:
        scoring_failed_task(summary)
        reasons = "; ".join(failure["reason"] for failure in summary["failed"])
        return expected_failure(
            SentimentError(
                f"{summary['files_failed']} of {len(results)} inbox file(s) failed: {reasons} "
                "Later runs skip them until they change."
            )
        )
    scored = [Path(path).name for path in summary["outputs"]]
    return Completed(
        message=f"scored {summary['files_scored']} inbox file(s) ({summary['rows_scored']:,} "
        f"rows) into {output}: {', '.join(scored)}",
        data=summary,
    )

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

from flows.errors import expected_failure, one_sentence_failures
from flows.run_names import mark_run
from flows.runners import scoring_task_runner
from flows.score import score_shards
from sentiment.core.errors import SentimentError
from sentiment.core.paths import HomeLayout
from sentiment.labelling.config import QueueConfig
from sentiment.release.champion import champion_version
from sentiment.scoring.config import ClusterConfig, DriftThresholds, ScoringConfig
from sentiment.scoring.inbox import plan_inbox
from sentiment.scoring.run import run_config
from tasks.inbox import (
    inbox_report_task,
    plan_inbox_task,
    record_inbox_failures_task,
)
from tasks.queue import refresh_queue_task
from tasks.score import (
    collect_results_task,
    drift_task,
    plan_run_task,
    resolve_model_task,
    scoring_failed_task,
    summarize_task,
)
from tasks.trends import record_trends_task


def inbox_run_name() -> str:
    """``score-inbox-3-files``: how many files the run found to score as it started."""
    parameters = flow_run.parameters or {}
    with contextlib.suppress(Exception):  # a name is never worth failing the run
        layout = HomeLayout.of(parameters.get("home"))
        version = champion_version(layout.home)
        if version is None:
            return "score-inbox-no-champion"
        config = parameters.get("config") or ScoringConfig()
        threshold = config["threshold"] if isinstance(config, dict) else config.threshold
        pending = plan_inbox(layout.inbox_dir, layout.scored_dir, version, threshold).pending
        return f"score-inbox-{len(pending)}-file{'' if len(pending) == 1 else 's'}"
    return "score-inbox"


def _nothing_new(layout: HomeLayout, inbox: dict[str, list[str]]) -> State[dict[str, Any]]:
    message = (
        f"nothing new in {layout.inbox_dir}: {len(inbox['up_to_date'])} file(s) up to date, "
        f"{len(inbox['known_bad'])} known bad file(s) unchanged."
    )
    get_run_logger().info("%s", message)
    return Completed(message=message, data={"plan": inbox, "files_scored": 0})


def _failures_message(summary: dict[str, Any], handled: int) -> str:
    reasons = "; ".join(failure["reason"] for failure in summary["failed"])
    return (
        f"{summary['files_failed']} of {handled} inbox file(s) failed: {reasons} "
        "Later runs skip them until they change."
    )


def _outcome(home: str, summary: dict[str, Any], handled: int) -> State[dict[str, Any]]:
    """Record the run's trends row under its final name, and end Completed naming the
    files scored, or Failed naming the bad ones (the run renamed ``...-N-failed`` first)."""
    if summary["files_failed"]:
        scoring_failed_task(summary)
        mark_run(f"{summary['files_failed']}-failed", "failed-files")
        record_trends_task(home, summary)
        return expected_failure(SentimentError(_failures_message(summary, handled)))
    record_trends_task(home, summary)
    scored = [Path(path).name for path in summary["outputs"]]
    return Completed(
        message=f"scored {summary['files_scored']} inbox file(s) ({summary['rows_scored']:,} "
        f"rows) into {summary['output_dir']}: {', '.join(scored)}",
        data=summary,
    )


@flow(name="score-inbox", flow_run_name=inbox_run_name)
@one_sentence_failures
def score_inbox_flow(
    home: str | None = None,
    config: ScoringConfig | None = None,
    drift: DriftThresholds | None = None,
    queue: QueueConfig | None = None,
) -> State[dict[str, Any]]:
    """Score the inbox's new or changed files with the champion.

    Args:
        home: The pipeline home (default: ``$SENTIMENT_HOME``, else the user's data
            directory); its ``inbox/`` is read and ``scored/`` written.
        config: How to score (default: the
            :class:`~sentiment.scoring.config.ScoringConfig` defaults).
        drift: When a batch counts as drifted from training (default: the
            :class:`~sentiment.scoring.config.DriftThresholds` defaults).
        queue: The labelling queue refreshed after scoring (default: the
            :class:`~sentiment.labelling.config.QueueConfig` defaults, 100 reviews).

    Returns:
        Completed with what was scored (or "nothing new"), or Failed naming the bad
        file(s), which later runs skip until they change.
    """
    started = time.perf_counter()
    layout = HomeLayout.of(home)
    home, output = str(layout.home), str(layout.scored_dir)
    bundle = resolve_model_task(home)
    config = run_config(config, bundle)
    inbox = plan_inbox_task(home, bundle.version, config.threshold)
    if not inbox["pending"]:
        return _nothing_new(layout, inbox)
    plan = plan_run_task(inbox["pending"], output, config, bundle, cut_large=False)
    outcomes = score_shards(
        plan, output, bundle.location, config, scoring_task_runner(ClusterConfig())
    )
    results = collect_results_task(plan, outcomes, output, bundle, config)
    seconds = time.perf_counter() - started
    summary = summarize_task(results, output, bundle, config.threshold, seconds)
    summary["drift"] = drift_task(summary, drift)
    record_inbox_failures_task(home, results)
    inbox_report_task(inbox, results, summary)
    summary["labelling_queue"] = refresh_queue_task(home, queue or QueueConfig())
    return _outcome(home, summary, len(results))

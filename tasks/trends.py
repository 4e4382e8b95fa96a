"""The ``sentiment-trends`` artifact: every retrain and inbox run adds its row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.logging import get_run_logger
from prefect.runtime import flow_run

from sentiment.scoring.trends import append_trend, trend_row, trends_markdown, trends_png
from tasks.images import inline_png

TRENDS_ARTIFACT_KEY = "sentiment-trends"


@task(name="record-trends", cache_policy=NO_CACHE)
def record_trends_task(home: str, scoring: dict[str, Any] | None = None) -> int:
    """Append this run's row (named after the flow run) to the home's trends and publish
    them all.

    Returns:
        How many rows the trends hold.
    """
    run = flow_run.name or flow_run.flow_name or "run"
    rows = append_trend(Path(home), trend_row(Path(home), run, scoring))
    markdown = "\n".join(
        [
            "# Trends — the champion and the inbox, run by run",
            "",
            inline_png(trends_png(rows), "trends", width=560),
            "",
            trends_markdown(rows),
            f"{len(rows)} run(s), newest first, in the same order in both tables; "
            "`sentiment history` prints the same. "
            "Drift compares each scored batch with the champion's training data.",
        ]
    )
    create_markdown_artifact(
        markdown, key=TRENDS_ARTIFACT_KEY, description=f"Trends over {len(rows)} run(s)"
    )
    get_run_logger().info("Trends: %d run(s) recorded.", len(rows))
    return len(rows)

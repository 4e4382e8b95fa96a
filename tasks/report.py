"""The retrain run's one report: data, model, gate decision, scoring and drift, linked."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.settings import get_current_settings

from sentiment.release.report import render_run_report, stage_artifact_keys

RUN_REPORT_KEY = "retrain-report"


def _published(keys: list[str]) -> set[str]:
    """Which of ``keys`` the server holds an artifact for."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys)), limit=200
        )
    return {artifact.key for artifact in artifacts if artifact.key}


@task(name="run-report", cache_policy=NO_CACHE)
def run_report_task(summary: dict[str, Any]) -> str:
    """Publish the retrain run's single ``retrain-report`` artifact."""
    ui_url = get_current_settings().ui_url
    markdown = render_run_report(
        summary, ui_url.rstrip("/") if ui_url else None, _published(stage_artifact_keys(summary))
    )
    create_markdown_artifact(
        markdown, key=RUN_REPORT_KEY, description=f"Retrain: {summary.get('decision', '')}"
    )
    return markdown

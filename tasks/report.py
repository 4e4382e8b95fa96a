"""The retrain run's one report: data, model, gate decision, scoring and drift, linked."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.settings import get_current_settings

RUN_REPORT_KEY = "retrain-report"
# The stage artifacts a retrain publishes, in the order the stages run.
STAGE_ARTIFACTS = (
    "imdb-raw-splits",
    "dataset-report",
    "training-summary-{model}",
    "training-curve-{model}",
    "model-evaluation",
    "sentiment-champion",
    "scoring-summary",
)


def _number(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else _cell(value)


def _cell(value: Any) -> str:
    return str(value if value is not None else "—").replace("|", "\\|").replace("\n", " ")


def render_run_report(summary: dict[str, Any], ui_url: str | None) -> str:
    """The report's Markdown from the retrain flow's summary of its stages."""
    training = summary.get("training") or {}
    gate = summary.get("gate") or {}
    # The ingest flow returns {"ingest": manifest, "report": manifest}.
    ingestion = (summary.get("ingestion") or {}).get("ingest") or {}
    lines = [f"# Retrain report — `{training.get('version', '—')}`", ""]
    lines += [f"**Decision: {gate.get('decision', '—')}** — {summary.get('decision', '')}", ""]
    lines += ["## Data", ""]
    if ingestion:
        rows = ingestion.get("row_counts") or {}
        lines += [
            f"Archive sha256 `{ingestion.get('archive_sha256', '—')}` "
            f"({'cached' if ingestion.get('cache_hit') else 'ingested now'}); rows: "
            + ", ".join(f"{split} {count:,}" for split, count in rows.items()),
            "",
        ]
    if summary.get("snapshot"):
        lines += [f"Data snapshot: `{summary['snapshot']}`", ""]
    metrics = training.get("validation_metrics") or {}
    lines += [
        "## Model",
        "",
        f"`{training.get('model', '—')}` → bundle `{training.get('bundle', '—')}`; "
        f"validation accuracy {_number(metrics.get('accuracy'))}, "
        f"{training.get('epochs_run', '—')} epoch(s), {training.get('seconds', '—')} s.",
        "",
        "## Gate",
        "",
        "| rule | outcome | observed | required |",
        "|---|---|---|---|",
    ]
    for verdict in gate.get("verdicts") or []:
        lines.append(
            f"| {verdict['rule']} | {verdict['outcome']} | {_cell(verdict['observed'])} "
            f"| {_cell(verdict['required'])} |"
        )
    scoring = summary.get("scoring")
    lines += ["", "## Scoring", ""]
    if scoring:
        drift = scoring.get("drift") or {}
        lines += [
            f"{scoring['files_scored']} file(s) scored, {scoring['files_skipped']} up to date, "
            f"{scoring['files_failed']} failed; {scoring['rows']:,} rows into "
            f"`{scoring['output_dir']}` with `{scoring['model_version']}`.",
            "",
            f"Drift: **{drift.get('status', '—')}** — {drift.get('reason', '')}",
        ]
    else:
        lines.append("Nothing scored: no champion yet.")
    lines += ["", "## Stage artifacts", ""]
    model = training.get("model", "")
    for key in STAGE_ARTIFACTS:
        key = key.format(model=model)
        lines.append(f"- [{key}]({ui_url}/artifacts/key/{key})" if ui_url else f"- `{key}`")
    return "\n".join(lines) + "\n"


@task(name="run-report", cache_policy=NO_CACHE)
def run_report_task(summary: dict[str, Any]) -> str:
    """Publish the retrain run's single ``retrain-report`` artifact."""
    ui_url = get_current_settings().ui_url
    markdown = render_run_report(summary, ui_url.rstrip("/") if ui_url else None)
    create_markdown_artifact(
        markdown, key=RUN_REPORT_KEY, description=f"Retrain: {summary.get('decision', '')}"
    )
    return markdown

"""Markdown for the flow runs' artifacts: a gate decision with both models' evaluations
side by side, the champion's card and the retrain run's report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sentiment.core.paths import HomeLayout
from sentiment.release.champion import bundle_directory
from sentiment.release.errors import EvaluationError
from sentiment.release.evaluation import read_evaluation
from sentiment.release.gate import GateDecision
from sentiment.release.ledger import FORCED, PROMOTED, registry_state

_REPORT_METRICS = (
    ("accuracy", "accuracy"),
    ("precision", "precision"),
    ("recall", "recall"),
    ("f1", "F1"),
    ("roc_auc", "ROC AUC"),
    ("log_loss", "log loss"),
)


def _metric_cell(evaluation: dict[str, Any] | None, name: str) -> str:
    if evaluation is None:
        return "-"
    metrics = evaluation.get("metrics", {})
    value = metrics.get(name)
    if not isinstance(value, int | float):
        return "-"
    cell = f"{value:.4f}"
    interval = metrics.get("accuracy_interval")
    if name == "accuracy" and isinstance(interval, dict):
        cell += f" ({interval.get('lower', 0.0):.4f}-{interval.get('upper', 0.0):.4f})"
    return cell


def _bucket_lines(rows: str, ours: Any, theirs: Any) -> list[str]:
    """Accuracy by length in words, challenger and champion side by side."""
    accuracies = {
        bucket.get("words"): bucket.get("accuracy")
        for bucket in (theirs if isinstance(theirs, list) else [])
    }
    lines = [f"| words | {rows} | challenger accuracy | champion accuracy |", "|---|---|---|---|"]
    for bucket in ours:
        cells = [bucket["accuracy"], accuracies.get(bucket["words"])]
        shown = [f"{cell:.4f}" if isinstance(cell, int | float) else "-" for cell in cells]
        lines.append(f"| {bucket['words']} | {bucket['rows']} | {shown[0]} | {shown[1]} |")
    return [*lines, ""]


def _length_lines(challenger: dict[str, Any], champion: dict[str, Any] | None) -> list[str]:
    """Accuracy by review length, both models side by side (none for old evaluations)."""
    buckets = challenger.get("metrics", {}).get("lengths")
    if not isinstance(buckets, list):
        return []
    return _bucket_lines("test rows", buckets, (champion or {}).get("metrics", {}).get("lengths"))


def _short_text_lines(challenger: dict[str, Any], champion: dict[str, Any] | None) -> list[str]:
    """The short-text development set's accuracy, overall and by length, both models side
    by side (the champion's only where it was scored on the same rows)."""
    ours = challenger.get("short_texts")
    if not isinstance(ours, dict) or not isinstance(ours.get("lengths"), list):
        return []
    theirs = (champion or {}).get("short_texts")
    same = isinstance(theirs, dict) and theirs.get("data") == ours.get("data")
    theirs = theirs if same else {}
    accuracy = [ours.get("accuracy"), theirs.get("accuracy")]
    shown = [f"{cell:.4f}" if isinstance(cell, int | float) else "-" for cell in accuracy]
    return [
        f"Short-text development set `{ours.get('name')}` ({ours.get('rows')} rows; reported "
        f"only, it never gates): accuracy {shown[0]} (champion {shown[1]}).",
        "",
        *_bucket_lines("rows", ours["lengths"], theirs.get("lengths")),
    ]


def render_decision_markdown(
    decision: dict[str, Any],
    challenger: dict[str, Any],
    champion: dict[str, Any] | None,
) -> str:
    """Render a gate decision as Markdown for the flow run's artifact.

    Args:
        decision: :meth:`GateDecision.as_dict` output.
        challenger: The challenger's ``evaluation.json``.
        champion: The champion's ``evaluation.json``, or None (none, or unreadable).

    Returns:
        The decision in one sentence, the metrics side by side, the per-rule verdicts
        and the paired comparison.
    """
    challenger_name = decision["challenger"]
    champion_name = decision.get("champion")
    champion_header = f"champion `{champion_name}`" if champion_name else "champion (none)"
    lines = [
        f"# Gate: {decision['decision']} `{challenger_name}`",
        "",
        f"**{decision['summary']}**",
        "",
        f"| metric (test split) | challenger `{challenger_name}` | {champion_header} |",
        "|---|---|---|",
        f"| model | {challenger.get('model') or '-'} | {(champion or {}).get('model') or '-'} |",
    ]
    for name, label in _REPORT_METRICS:
        lines.append(
            f"| {label} | {_metric_cell(challenger, name)} | {_metric_cell(champion, name)} |"
        )
    rows = challenger.get("test_data", {}).get("rows")
    lines += [
        f"| test rows | {rows} | {(champion or {}).get('test_data', {}).get('rows', '-')} |",
        "",
        "Accuracy is shown with its 95% bootstrap confidence interval.",
        "",
        *_length_lines(challenger, champion),
        *_short_text_lines(challenger, champion),
        "| rule | outcome | observed | required |",
        "|---|---|---|---|",
    ]
    for verdict in decision["verdicts"]:
        lines.append(
            f"| {verdict['rule']} | **{verdict['outcome']}** | {verdict['observed']} | "
            f"{verdict['required']} |"
        )
    # The details are sentences: as a column they widened the table past the artifact's
    # pane, which cut off the columns before them.
    lines += ["", *(f"- {entry['rule']}: {entry['detail']}" for entry in decision["verdicts"])]
    comparison = decision.get("comparison")
    if comparison:
        lines += [
            "",
            "Paired comparison on the same test reviews (McNemar, one-sided mid-p):",
            "",
            "| both right | only champion right | only challenger right | both wrong | "
            "accuracy difference | p (challenger worse) |",
            "|---|---|---|---|---|---|",
            f"| {comparison['both_correct']} | {comparison['champion_only_correct']} | "
            f"{comparison['challenger_only_correct']} | {comparison['both_wrong']} | "
            f"{comparison['accuracy_difference']:+.4f} | {comparison['p_value_worse']:.4g} |",
        ]
    policy = decision.get("policy", {})
    lines += [
        "",
        "Policy: " + ", ".join(f"`{name}={value}`" for name, value in sorted(policy.items())),
    ]
    return "\n".join(lines) + "\n"


def decision_markdown(home: Path, decision: GateDecision) -> str:
    """Render a recorded decision, with both models' evaluations side by side."""
    challenger = read_evaluation(bundle_directory(home, decision.challenger))
    champion: dict[str, Any] | None = None
    if decision.champion and decision.champion != decision.challenger:
        try:
            champion = read_evaluation(bundle_directory(home, decision.champion))
        except EvaluationError:
            champion = None
    return render_decision_markdown(decision.as_dict(), challenger, champion)


def champion_markdown(home: Path) -> str:
    """The champion's card: version, model, when it became champion, test metrics.

    Before any promotion the card says so, so a keyed artifact always shows the truth.
    """
    state = registry_state(home)
    version = state.champion
    if version is None:
        return (
            "# Champion: none yet\n\nNo model has been promoted in "
            f"`{HomeLayout(Path(home)).models_dir}`.\n"
        )
    promotions = [
        event
        for event in state.events_by_version.get(version, [])
        if event["event"] in (PROMOTED, FORCED)
    ]
    since = promotions[-1].get("timestamp", "—") if promotions else "—"
    directory = bundle_directory(home, version)
    lines = [
        f"# Champion: `{version}`",
        "",
        f"Bundle: `{directory}` · champion since {since}",
        "",
    ]
    try:
        evaluation = read_evaluation(directory)
    except EvaluationError as error:
        return "\n".join([*lines, f"No evaluation: {error}", ""])
    metrics = evaluation.get("metrics", {})
    lines += [
        f"Model: `{evaluation.get('model') or '—'}`",
        "",
        "| metric | test value |",
        "|---|---:|",
    ]
    for name in ("accuracy", "roc_auc", "f1", "log_loss", "count"):
        value = metrics.get(name)
        if isinstance(value, float):
            lines.append(f"| {name} | {value:.4f} |")
        elif value is not None:
            lines.append(f"| {name} | {value} |")
    return "\n".join(lines) + "\n"


# --- the retrain run's report -------------------------------------------------------

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


def _queue_lines(outcome: dict[str, Any]) -> list[str]:
    """The labelling queue's new labels and their slices' accuracy, before and after."""
    if not outcome.get("labels"):
        return []
    lines = [
        "",
        "## Labelling queue",
        "",
        f"{outcome['labels']} new label(s) came from the labelling queue.",
        "",
        "| slice | test rows | accuracy before (champion) | accuracy after (challenger) |",
        "|---|---:|---:|---:|",
    ]
    for source, entry in outcome["slices"].items():
        lines.append(
            f"| `{source}` | {_cell(entry['rows'])} | {_number(entry['before'])} "
            f"| {_number(entry['after'])} |"
        )
    return lines


def stage_artifact_keys(summary: dict[str, Any]) -> list[str]:
    """The keys of the stage artifacts a retrain may have published, in stage order."""
    model = (summary.get("training") or {}).get("model", "")
    return [key.format(model=model) for key in STAGE_ARTIFACTS]


def render_run_report(
    summary: dict[str, Any], ui_url: str | None, published: set[str] | None = None
) -> str:
    """The report's Markdown from the retrain flow's summary of its stages; it links
    the stage artifacts in ``published`` (all when None): the ones that exist."""
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
    lines += _queue_lines(summary.get("queue_labels") or {})
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
    for key in stage_artifact_keys(summary):
        if published is not None and key not in published:
            continue  # a stage that published nothing (ingest on a cache hit, no training)
        lines.append(f"- [{key}]({ui_url}/artifacts/key/{key})" if ui_url else f"- `{key}`")
    return "\n".join(lines) + "\n"

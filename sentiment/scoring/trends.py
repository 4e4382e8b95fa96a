"""Trends over time: one row per retrain and inbox run, the champion and the inbox.

Each row records the champion and its test accuracy with its 95% interval and, for a
run that scored the inbox, its rows, positive share, out-of-vocabulary rate, uncertain
share and drift verdict. Rows are appended to ``<home>/reports/trends.jsonl``
(``HomeLayout.trends_file``): the file is rewritten whole to a temporary name and
renamed into place under a lock, so a reader never sees half a line and two runs never
lose each other's row. The flows publish it as the ``sentiment-trends`` artifact,
``sentiment history`` prints it.
"""

from __future__ import annotations

import datetime
import io
import json
from pathlib import Path
from typing import Any

from sentiment.core.atomic import write_text
from sentiment.core.locks import exclusive_lock
from sentiment.core.paths import HomeLayout
from sentiment.release.champion import bundle_directory, champion_version
from sentiment.release.evaluation import evaluation_summary, read_evaluation

# The columns of the table, in order: (row key, heading).
COLUMNS = (
    ("time", "time (UTC)"),
    ("run", "run"),
    ("champion", "champion"),
    ("accuracy", "test accuracy [95% CI]"),
    ("rows_scored", "rows scored"),
    ("positive_share", "positive"),
    ("oov_rate", "OOV rate"),
    ("uncertain_share", "uncertain"),
    ("drift", "drift"),
)


def trend_row(
    home: Path,
    run: str,
    scoring: dict[str, Any] | None = None,
    now: datetime.datetime | None = None,
) -> dict[str, Any]:
    """The trend row of a run that just ended.

    Args:
        home: The pipeline home.
        run: What ran (``retrain: promoted``, ``inbox``...).
        scoring: The run's scoring summary (``sentiment.scoring.summary``), if it scored.
        now: The row's time (default: now, UTC).

    Returns:
        The row: time, run, champion and its test accuracy with interval, and the
        scoring figures (None where the run scored nothing).
    """
    champion = champion_version(Path(home))
    accuracy: dict[str, Any] = {}
    if champion is not None:
        try:
            accuracy = evaluation_summary(read_evaluation(bundle_directory(Path(home), champion)))
        except Exception:
            accuracy = {}
    rows = (scoring or {}).get("rows_scored") or 0
    uncertain = (scoring or {}).get("uncertain_rows")
    drift = (scoring or {}).get("drift") or {}
    return {
        "time": (now or datetime.datetime.now(datetime.UTC)).isoformat(timespec="seconds"),
        "run": run,
        "champion": champion,
        "accuracy": accuracy.get("accuracy"),
        "accuracy_lower": accuracy.get("accuracy_lower"),
        "accuracy_upper": accuracy.get("accuracy_upper"),
        "rows_scored": rows if scoring else None,
        "positive_share": (scoring or {}).get("positive_share") if rows else None,
        "oov_rate": (scoring or {}).get("oov_rate") if rows else None,
        "uncertain_share": uncertain / rows if rows and uncertain is not None else None,
        "drift": drift.get("status"),
    }


def append_trend(home: Path, row: dict[str, Any]) -> list[dict[str, Any]]:
    """Append ``row`` to the home's trends file (atomically, under its lock).

    Returns:
        Every row, oldest first, the new one last.
    """
    path = HomeLayout(Path(home)).trends_file
    path.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(path.with_name(".trends.lock"), "another run's trend row"):
        rows = read_trends(home)
        rows.append(row)
        write_text(path, "".join(json.dumps(entry, sort_keys=True) + "\n" for entry in rows))
    return rows


def read_trends(home: Path) -> list[dict[str, Any]]:
    """The trend rows, oldest first; none before the first run."""
    path = HomeLayout(Path(home)).trends_file
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _percent(value: Any) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _cell(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    if key == "accuracy":
        if value is None:
            return "—"
        lower, upper = row.get("accuracy_lower"), row.get("accuracy_upper")
        interval = f" [{lower:.4f}, {upper:.4f}]" if lower is not None and upper else ""
        return f"{value:.4f}{interval}"
    if key in ("positive_share", "oov_rate", "uncertain_share"):
        return _percent(value)
    if key == "rows_scored":
        return "—" if value is None else f"{value:,}"
    if key == "time":
        return str(value).replace("T", " ").removesuffix("+00:00")
    return "—" if value is None else str(value)


def trend_cells(rows: list[dict[str, Any]]) -> list[list[str]]:
    """The table's headings, then one list of cells per row (oldest first)."""
    return [[heading for _, heading in COLUMNS]] + [
        [_cell(row, key) for key, _ in COLUMNS] for row in rows
    ]


def trends_text(rows: list[dict[str, Any]]) -> str:
    """The table as aligned plain text, for the terminal."""
    cells = trend_cells(rows)
    widths = [max(len(line[column]) for line in cells) for column in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in cells
    )


def trends_markdown(rows: list[dict[str, Any]]) -> str:
    """The rows in Markdown, newest first (the one a reader looks for), as two tables
    (the champion by run name, the inbox by time; the same runs in the same order)
    narrow enough for the UI's artifact pane: at 1400 pixels, a champion table with a
    time column too was cut off in its accuracy column."""
    headings, *body = trend_cells(rows)
    keys = [key for key, _ in COLUMNS]
    lines: list[str] = []
    inbox = ("time", "rows_scored", "positive_share", "oov_rate", "uncertain_share", "drift")
    for title, wanted in (("Champion", ("run", "champion", "accuracy")), ("Inbox", inbox)):
        columns = [keys.index(key) for key in wanted]
        lines += [f"### {title}", "", "| " + " | ".join(headings[i] for i in columns) + " |"]
        lines.append("|" + "---|" * len(columns))
        lines += [
            "| " + " | ".join(row[i].replace("|", "\\|") for i in columns) + " |"
            for row in body[::-1]
        ]
        lines.append("")
    return "\n".join(lines)


def trends_png(rows: list[dict[str, Any]]) -> bytes:
    """A small plot of the champion's test accuracy and the inbox's positive share, OOV
    rate and uncertain share, run by run, as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 3))
    axis = figure.subplots()
    runs = list(range(1, len(rows) + 1))
    for key, label in (
        ("accuracy", "champion test accuracy"),
        ("positive_share", "inbox positive share"),
        ("oov_rate", "inbox OOV rate"),
        ("uncertain_share", "inbox uncertain share"),
    ):
        points = [(run, row.get(key)) for run, row in zip(runs, rows, strict=True)]
        points = [(run, value) for run, value in points if value is not None]
        if points:
            axis.plot(*zip(*points, strict=True), "o-", label=label)
    axis.set_xlabel("run (oldest first)")
    axis.set_ylim(0, 1)
    axis.set_xticks(runs)
    axis.grid(alpha=0.3)
    axis.legend(loc="center left", fontsize="small", bbox_to_anchor=(1.0, 0.5))
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()

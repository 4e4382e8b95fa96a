"""Trends: one row per run, appended atomically, the champion's accuracy and the inbox."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from sentiment.core.paths import HomeLayout
from sentiment.release.promotion import promote
from sentiment.scoring.trends import (
    append_trend,
    read_trends,
    trend_row,
    trends_markdown,
    trends_png,
    trends_text,
)
from tests.support.registry import make_evaluated

SCORING = {
    "rows_scored": 200,
    "positive_share": 0.6,
    "oov_rate": 0.05,
    "uncertain_rows": 20,
    "drift": {"status": "ok", "reason": "in line with training"},
}


def test_rows_accumulate_with_the_champion_and_the_inbox_figures(tmp_path: Path) -> None:
    make_evaluated(tmp_path, "v1", wrong=[0, 1])
    promote(tmp_path, "v1", reason="first champion")
    first = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)

    append_trend(tmp_path, trend_row(tmp_path, "score-inbox-1-file", SCORING, now=first))
    rows = append_trend(tmp_path, trend_row(tmp_path, "retrain-nbsvm-2026-12-02-rejected"))

    assert rows == read_trends(tmp_path) and len(rows) == 2
    inbox, retrain = rows
    assert inbox["champion"] == retrain["champion"] == "v1"
    assert inbox["accuracy_lower"] < inbox["accuracy"] < inbox["accuracy_upper"]
    assert (inbox["rows_scored"], inbox["positive_share"], inbox["oov_rate"]) == (200, 0.6, 0.05)
    assert inbox["uncertain_share"] == 0.1 and inbox["drift"] == "ok"
    assert inbox["time"] == "2026-12-01T00:00:00+00:00"
    assert retrain["rows_scored"] is None and retrain["drift"] is None
    # One JSON object a line, nothing left beside it.
    lines = HomeLayout(tmp_path).trends_file.read_text().splitlines()
    assert [json.loads(line)["run"] for line in lines] == [row["run"] for row in rows]
    assert sorted(path.name for path in HomeLayout(tmp_path).reports_dir.iterdir()) == [
        ".trends.lock",
        "trends.jsonl",
    ]


def test_the_table_and_plot_show_every_run(tmp_path: Path) -> None:
    rows = [trend_row(tmp_path, f"score-inbox-{n}", SCORING) for n in (1, 2)]

    text = trends_text(rows).splitlines()
    assert len(text) == 3 and "positive" in text[0] and "60.0%" in text[1]
    assert "score-inbox-1" in text[1] and "score-inbox-2" in text[2]
    markdown = trends_markdown(rows).splitlines()
    table = [line for line in markdown if line.startswith("| ")]
    # Two tables of a heading and a line per run, newest first, no more than six columns.
    assert len(table) == 2 * 3 and "score-inbox-2" in table[1] and "60.0%" in table[4]
    assert max(line.count(" | ") for line in table) <= 5
    # The champion's table leaves the time to the inbox's: four columns did not fit.
    assert table[0] == "| run | champion | test accuracy [95% CI] |"
    assert trends_png(rows).startswith(b"\x89PNG")


def test_no_runs_no_rows(tmp_path: Path) -> None:
    assert read_trends(tmp_path) == []

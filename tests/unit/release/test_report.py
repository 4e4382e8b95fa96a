"""The gate decision's Markdown artifact."""

from __future__ import annotations

from typing import Any

from sentiment.release.report import render_decision_markdown


def _evaluation(lengths: list[dict[str, Any]] | None) -> dict[str, Any]:
    metrics: dict[str, Any] = {"accuracy": 0.9}
    if lengths is not None:
        metrics["lengths"] = lengths
    return {"model": "nbsvm", "metrics": metrics, "test_data": {"rows": 10}}


def test_the_decision_shows_accuracy_by_length_for_both_models() -> None:
    decision = {
        "challenger": "new",
        "champion": "old",
        "decision": "promoted",
        "summary": "Promoted new.",
        "verdicts": [],
        "policy": {},
    }
    challenger = _evaluation(
        [
            {"words": "<= 10", "rows": 2, "accuracy": 0.5},
            {"words": "> 10", "rows": 8, "accuracy": 1.0},
            {"words": "> 200", "rows": 0, "accuracy": None},
        ]
    )
    champion = _evaluation([{"words": "<= 10", "rows": 2, "accuracy": 0.25}])
    markdown = render_decision_markdown(decision, challenger, champion)
    assert "| <= 10 | 2 | 0.5000 | 0.2500 |" in markdown
    assert "| > 10 | 8 | 1.0000 | - |" in markdown
    assert "| > 200 | 0 | - | - |" in markdown
    # Evaluations written before lengths were recorded render without the table.
    assert "words" not in render_decision_markdown(decision, _evaluation(None), None)

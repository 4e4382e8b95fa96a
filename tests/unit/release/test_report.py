"""The Markdown reports: the retrain run's (what the flow's stages returned) and the gate's."""

from __future__ import annotations

from typing import Any

from sentiment.release.report import render_decision_markdown, render_run_report


def test_report_shows_the_ingested_rows_and_rounded_metrics() -> None:
    summary = {
        "ingestion": {
            "ingest": {
                "row_counts": {"train": 25000, "test": 25000, "unsup": 50000},
                "archive_sha256": "5d678f0e",
                "cache_hit": True,
            },
            "report": {"markdown": "/home/reports/dataset.md"},
        },
        "training": {
            "version": "v1",
            "model": "nbsvm",
            "bundle": "/home/models/v1",
            "validation_metrics": {"accuracy": 0.9272000193595886},
            "epochs_run": 4,
            "seconds": 65.6,
        },
        "decision": "Promoted v1.",
        "gate": {"decision": "promoted", "verdicts": []},
    }
    markdown = render_run_report(summary, None)
    assert "Archive sha256 `5d678f0e` (cached); rows: train 25,000, test 25,000" in markdown
    assert "validation accuracy 0.9272," in markdown


def test_report_gives_the_queue_s_new_labels_and_their_slice_before_and_after() -> None:
    summary = {
        "decision": "Promoted v2.",
        "gate": {"decision": "promoted", "verdicts": []},
        "queue_labels": {
            "labels": 30,
            "slices": {"queue": {"rows": 7, "before": 0.5714, "after": 0.8571}},
        },
    }
    markdown = render_run_report(summary, None)
    assert "30 new label(s) came from the labelling queue." in markdown
    assert "| `queue` | 7 | 0.5714 | 0.8571 |" in markdown
    assert "Labelling queue" not in render_run_report({"queue_labels": {"labels": 0}}, None)


def test_the_report_links_only_the_stage_artifacts_that_exist() -> None:
    summary = {"training": {"model": "nbsvm"}, "decision": "Rejected v2: too weak."}
    published = {"dataset-report", "model-evaluation"}

    markdown = render_run_report(summary, "http://ui", published)

    links = [line for line in markdown.splitlines() if line.startswith("- [")]
    assert links == [
        "- [dataset-report](http://ui/artifacts/key/dataset-report)",
        "- [model-evaluation](http://ui/artifacts/key/model-evaluation)",
    ]


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


def _short_texts(accuracy: float, rows_sha256: str = "sha256:a") -> dict[str, Any]:
    return {
        "name": "sst2_dev",
        "rows": 5,
        "accuracy": accuracy,
        "unscored": 0,
        "data": {"file_sha256": "f", "rows_sha256": rows_sha256},
        "lengths": [
            {"words": "<= 10", "rows": 2, "accuracy": accuracy},
            {"words": "11-50", "rows": 3, "accuracy": 1.0},
            {"words": "> 200", "rows": 0, "accuracy": None},
        ],
    }


def test_the_decision_shows_the_short_text_development_set_beside_the_test_lengths() -> None:
    decision = {
        "challenger": "new",
        "champion": "old",
        "decision": "promoted",
        "summary": "Promoted new.",
        "verdicts": [],
        "policy": {},
    }
    lengths = [{"words": "<= 10", "rows": 2, "accuracy": 0.5}]
    challenger = _evaluation(lengths) | {"short_texts": _short_texts(0.8)}
    champion = _evaluation(lengths) | {"short_texts": _short_texts(0.6)}

    markdown = render_decision_markdown(decision, challenger, champion)

    assert "Short-text development set `sst2_dev` (5 rows" in markdown
    assert "accuracy 0.8000 (champion 0.6000)" in markdown
    assert "| words | rows | challenger accuracy | champion accuracy |" in markdown
    assert "| <= 10 | 2 | 0.8000 | 0.6000 |" in markdown
    assert "| 11-50 | 3 | 1.0000 | 1.0000 |" in markdown
    assert "| > 200 | 0 | - | - |" in markdown
    # After the test split's length table, before the gate's rules.
    assert markdown.index("| words | test rows |") < markdown.index("Short-text")
    assert markdown.index("Short-text") < markdown.index("| rule |")
    # A champion scored on other rows is not compared; without the set, no section.
    other = _evaluation(lengths) | {"short_texts": _short_texts(0.6, "sha256:b")}
    assert "| <= 10 | 2 | 0.8000 | - |" in render_decision_markdown(decision, challenger, other)
    assert "Short-text" not in render_decision_markdown(decision, _evaluation(lengths), None)

"""The retrain run's report shows what the flow's stages returned."""

from __future__ import annotations

from sentiment.release.report import render_run_report


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

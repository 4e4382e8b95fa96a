"""What a run list and a run's logs show: the decision in the name and tags, expected
failures in one sentence without a traceback (on the session's Prefect server)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from flows.ingest import ingest_flow
from flows.retrain import retrain_flow
from sentiment.core.atomic import file_sha256
from sentiment.core.paths import HomeLayout
from sentiment.data.config import ArchiveConfig
from sentiment.data.report import MARKDOWN_NAME
from sentiment.modeling.config import TrainConfig
from sentiment.release.config import GatePolicy
from tests.support.imdb_tarball import build_archive
from tests.support.reviews import archive_reviews


def _runs(tag: str) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags

    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[tag]))
        )


def _logs(run_id: Any, last: str) -> list[str]:
    """The run's log lines, in order, once the line ``last`` reached the server."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    deadline = time.monotonic() + 30
    while True:
        with get_client(sync_client=True) as client:
            logs = client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])), limit=200
            )
        lines = [log.message for log in sorted(logs, key=lambda log: log.timestamp)]
        if last in lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.5)


def test_a_rejected_retrain_is_named_and_tagged_rejected(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "aclImdb_v1.tar.gz", reviews=archive_reviews(20, 5))
    state = retrain_flow(
        home=str(tmp_path / "home"),
        archive=ArchiveConfig(source=str(archive), sha256=file_sha256(archive)),
        training=TrainConfig(model="nbsvm", epochs=1),
        # No model can beat a floor of 1.0 ROC AUC and accuracy and a perfect calibration.
        gate=GatePolicy(minimum_accuracy=1.0, minimum_roc_auc=1.0, maximum_ece=0.0),
        return_state=True,
    )

    assert state.name == "Completed" and state.message.startswith("Rejected")
    # This run among the session server's runs (other tests' retrains may be listed too).
    this_run = state.state_details.flow_run_id
    (run,) = [run for run in _runs("rejected") if run.id == this_run]
    # From the run list alone: the name and the tag say it.
    assert run.name.startswith("retrain-nbsvm-") and run.name.endswith("-rejected")
    assert run.state.message.startswith("Rejected")
    assert this_run not in {run.id for run in _runs("promoted")}


def test_an_expected_ingest_failure_is_one_sentence_without_traceback(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "aclImdb_v1.tar.gz", reviews=archive_reviews(2, 1))
    state = ingest_flow(
        home=str(tmp_path / "home"),
        archive=ArchiveConfig(source=str(archive), sha256="0" * 64),
        return_state=True,
    )

    assert state.name == "Failed"
    message = state.message
    assert "Flow run encountered an exception" not in message and "\n" not in message
    assert "sha256" in message.lower() or "hash" in message.lower()
    logs = _logs(state.state_details.flow_run_id, message)
    # The sentence ends the run's logs, said once; no traceback, no repeats by Prefect.
    assert logs[-1] == message, logs[-3:]
    assert [line for line in logs if message in line] == [message], logs
    assert not [line for line in logs if "Traceback" in line], logs


def test_the_run_logs_say_what_each_long_phase_is_doing(tmp_path: Path) -> None:
    reviews = archive_reviews(20, 5)
    archive = build_archive(tmp_path / "aclImdb_v1.tar.gz", reviews=reviews)
    home = tmp_path / "home"
    state = ingest_flow(
        home=str(home),
        archive=ArchiveConfig(source=str(archive), sha256=file_sha256(archive)),
        return_state=True,
    )

    assert state.name == "Completed"
    report = HomeLayout(home).reports_dir / MARKDOWN_NAME
    lines = _logs(state.state_details.flow_run_id, f"Dataset report written: {report}.")
    # The library's own lines (sentiment.core.progress), in the run's logs: each phase
    # says when it starts, then how far it got.
    started = [line for line in lines if line.endswith(": started.")]
    assert started == [
        "Reading the archive (100,000 reviews): started.",
        f"Dataset report ({len(reviews)} reviews): started.",
    ]
    assert any(line.startswith("Dataset report: done ") for line in lines)

"""The deployments on a real Prefect server, served by a real process worker.

Starts ``prefect server`` (SQLite, its own PREFECT_HOME, a free loopback port), creates
the work pool, runs ``prefect deploy --all`` with stdin closed, applies the automations,
starts a worker and drives score-inbox and evaluate on a tiny synthetic home; asserts
through the API what a person would see in the UI, and (where Chromium exists) that
the UI pages show the run. Everything started is stopped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from scripts.prefect_local import REPOSITORY, create_pool_and_deploy, free_port
from tests.support.prefect_server import Server, prefect_server, prefect_worker

TEXTS = [
    "a great film, great acting",
    "an awful film, awful plot",
    "great plot and a fine cast",
    "boring and awful",
] * 10
CHAMPION = "20260101-000000-mlp-0001"
CHALLENGER = "20260101-000001-mlp-0002"
# The deployment page's Runs tab hides scheduled runs: these are the states it shows
# (Prefect 3.9.1's UI, "All except scheduled").
UI_VISIBLE_STATES = [
    "Pending",
    "Paused",
    "Suspended",
    "Running",
    "Retrying",
    "Completed",
    "Cancelled",
    "Cancelling",
    "Crashed",
    "Failed",
    "TimedOut",
]
T = TypeVar("T")


@pytest.fixture(autouse=True)
def _use_prefect_harness() -> None:
    """This module runs its own real server, not the session's temporary one."""


def _tiny_home(home: Path) -> None:
    """Raw train/test splits, a promoted untrained champion and a challenger bundle."""
    from sentiment.encoding.config import VectorizerConfig
    from sentiment.encoding.vocabulary import fit_vectorizer
    from sentiment.modeling.bundle import save_bundle
    from sentiment.modeling.zoo import build_model
    from tests.support.registry import promote_bundle

    raw = home / "raw" / "imdb"
    raw.mkdir(parents=True)
    labels = pa.array(np.array([1, 0, 1, 0] * 10, dtype=np.int8), pa.int8())
    for split in ("train", "test"):
        ids = [f"{split}/{index}" for index in range(len(TEXTS))]
        pq.write_table(
            pa.table({"review_id": ids, "text": TEXTS, "label": labels}),
            raw / f"{split}.parquet",
        )
    vectorizer = fit_vectorizer(TEXTS, VectorizerConfig(num_words=30, max_length=8))
    first = save_bundle(
        home / "models" / CHAMPION,
        # Seeded: random weights could by chance pass the 1.0 accuracy floor used below.
        build_model("mlp", vectorizer.config, seed=1),
        vectorizer,
        {"model": {"name": "mlp"}},
    )
    shutil.copytree(first, home / "models" / CHALLENGER)
    promote_bundle(home, CHAMPION)


def _wait_for(check: Callable[[], T | None], seconds: float, what: str) -> T:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(1.0)
    raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")


class _Webhook(BaseHTTPRequestHandler):
    received: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        _Webhook.received.append(self.rfile.read(length).decode(errors="replace"))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *arguments: Any) -> None:
        pass


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Server, pool, deployments, automations and a worker over a tiny home."""
    home = tmp_path_factory.mktemp("sentiment-home")
    _tiny_home(home)
    prefect_home = Path(tempfile.mkdtemp(prefix="prefect-home-"))
    webhook = HTTPServer(("127.0.0.1", free_port()), _Webhook)
    threading.Thread(target=webhook.serve_forever, daemon=True).start()
    try:
        with prefect_server(prefect_home, {"SENTIMENT_HOME": str(home)}) as server:
            from prefect.settings import PREFECT_API_URL, temporary_settings

            with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
                deploy_output = create_pool_and_deploy(server.environment)
                _quiet_schedules(server)
                _create_alert_block(f"http://127.0.0.1:{webhook.server_port}/hook")
                automations = _apply_automations(server)
                with prefect_worker(server, {"PREFECT_WORKER_QUERY_SECONDS": "1"}):
                    yield {
                        "server": server,
                        "home": home,
                        "deploy_output": deploy_output,
                        "automations": automations,
                    }
    finally:
        webhook.shutdown()
        shutil.rmtree(prefect_home, ignore_errors=True)


def _quiet_schedules(server: Server) -> None:
    """Pause the schedules so only the runs this test starts execute."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        for deployment in client.read_deployments():
            for schedule in deployment.schedules:
                client.update_deployment_schedule(deployment.id, schedule.id, active=False)
            for run in client.read_flow_runs():
                if run.deployment_id == deployment.id and run.state_name == "Scheduled":
                    client.delete_flow_run(run.id)


def _create_alert_block(url: str) -> None:
    # What the README tells a user to run (or do in the UI under Blocks).
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    CustomWebhookNotificationBlock(
        name="sentiment-alerts", url=url, json_data={"text": "{{subject}}\n{{body}}"}
    ).save("sentiment-alerts", overwrite=True)


def _apply_automations(server: Server) -> str:
    completed = subprocess.run(
        [sys.executable, str(REPOSITORY / "scripts" / "prefect_local.py"), "automations"],
        env=server.environment,
        cwd=REPOSITORY,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return completed.stdout


def _run(deployment: str, parameters: dict[str, Any] | None = None) -> Any:
    from prefect.deployments import run_deployment

    started = time.monotonic()
    run = run_deployment(deployment, parameters=parameters or {}, timeout=150, poll_interval=1)
    print(f"{deployment}: {run.name} {run.state.name} in {time.monotonic() - started:.1f} s")
    assert run.state is not None and run.state.is_final(), f"{deployment} did not finish"
    return run


def _events(name: str) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter

    with get_client(sync_client=True) as client:
        # The server refuses a page over 50.
        page = client.read_events(filter=EventFilter(event=EventNameFilter(name=[name])), limit=50)
    return list(page.events)


def _logs_ending(run_id: Any, last: str) -> list[str] | None:
    """The run's log lines in order, once its last one is ``last``."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    with get_client(sync_client=True) as client:
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])), limit=200
        )
    lines = [log.message for log in sorted(logs, key=lambda log: log.timestamp)]
    return lines if lines and lines[-1] == last else None


def _latest_artifact(key: str) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        return client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )[0]


def _chromium(url: str, name: str) -> str:
    """The page's DOM after its scripts ran; with $SENTIMENT_UI_SHOTS, a screenshot too."""
    profile = tempfile.mkdtemp(prefix="chromium-")
    shots = os.environ.get("SENTIMENT_UI_SHOTS")
    try:
        if shots:
            subprocess.run(
                [
                    "chromium",
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    f"--user-data-dir={profile}",
                    "--window-size=1400,1100",
                    "--virtual-time-budget=20000",
                    "--run-all-compositor-stages-before-draw",
                    f"--screenshot={Path(shots) / f'{name}.png'}",
                    url,
                ],
                capture_output=True,
                timeout=90,
            )
        dom = subprocess.run(
            [
                "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=20000",
                # Draw frames in virtual time: the UI's lists (an artifact's versions by
                # key) render only what an IntersectionObserver sees drawn; without it
                # they stay an empty box.
                "--run-all-compositor-stages-before-draw",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=90,
        ).stdout
        if shots:
            (Path(shots) / f"{name}.html").write_text(dom)
        return dom
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def test_deploy_asks_nothing_and_creates_the_automations(deployed: dict[str, Any]) -> None:
    from prefect.client.orchestration import get_client

    output = deployed["deploy_output"]
    for name in ("retrain", "score-inbox", "score", "evaluate"):
        assert f"'{name}' successfully created" in output or name in output
    with get_client(sync_client=True) as client:
        deployments = {d.name: d for d in client.read_deployments()}
        names = {automation.name for automation in client.read_automations()}
    assert sorted(deployments) == ["evaluate", "retrain", "score", "score-inbox"]
    assert deployments["retrain"].global_concurrency_limit.limit == 1
    home = str(deployed["home"])
    assert all(d.job_variables["env"]["SENTIMENT_HOME"] == home for d in deployments.values())
    assert {"sentiment-model-alerts", "sentiment-promoted-score-inbox"} <= names


def test_the_inbox_scores_itself_and_reports_a_bad_file_once(deployed: dict[str, Any]) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        DeploymentFilter,
        DeploymentFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateName,
    )

    home: Path = deployed["home"]
    server: Server = deployed["server"]

    empty = _run("score-inbox/score-inbox")
    assert (empty.state.type.value, empty.state.name) == ("COMPLETED", "Completed")
    assert empty.state.message.startswith("nothing new")

    inbox = home / "inbox"
    inbox.mkdir(exist_ok=True)
    (inbox / "reviews.csv").write_text('id,text\n1,"a great film"\n2,"awful plot"\n')
    scored = _run("score-inbox/score-inbox")
    assert scored.state.name == "Completed", scored.state.message
    assert scored.name == "score-inbox-1-file"
    assert (home / "scored" / "reviews.csv.parquet").is_file()

    (inbox / "broken.csv").write_text("id,body\n1,no text column here\n")
    failed = _run("score-inbox/score-inbox")
    assert failed.state.name == "Failed"
    assert "broken.csv" in failed.state.message and "Traceback" not in failed.state.message
    # From the run list alone: the name and a tag say files failed.
    assert failed.name == "score-inbox-1-file-1-failed" and "failed-files" in failed.tags
    logs = _wait_for(lambda: _logs_ending(failed.id, failed.state.message), 60, "the run's logs")
    assert not [line for line in logs if "Traceback" in line or "exited with" in line], logs
    again = _run("score-inbox/score-inbox")
    assert again.state.name == "Completed" and "1 known bad" in again.state.message

    with get_client(sync_client=True) as client:
        listed = client.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["score-inbox"])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(name=FlowRunFilterStateName(any_=UI_VISIBLE_STATES))
            ),
        )
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[scored.id]))
        )
    assert {empty.id, scored.id, failed.id, again.id} <= {run.id for run in listed}
    report = next(artifact for artifact in artifacts if artifact.key == "inbox-scoring")
    assert "`reviews.csv`" in str(report.data) and str(inbox) in str(report.data)
    assert {"scoring-summary", "inbox-scoring"} <= {artifact.key for artifact in artifacts}

    # Two inbox runs scored something (the second only failed): two trend rows.
    trends = _latest_artifact("sentiment-trends")
    table = [line for line in str(trends.data).splitlines() if line.startswith("| ")]
    assert len(table) == 2 * (1 + 2), table  # the champion's table and the inbox's
    # Newest first, each under the name the run list shows (the failed run's final name).
    assert "score-inbox-1-file-1-failed" in table[1], table
    assert "score-inbox-1-file " in table[2] + " ", table
    assert "data:image/png;base64," in str(trends.data)

    failures = _wait_for(lambda: _events("sentiment.scoring.failed"), 60, "the failure event")
    assert len(failures) == 1, "a bad file is reported once"
    assert failures[0].payload["file"] == str(inbox / "broken.csv")

    if shutil.which("chromium") is None:
        pytest.skip("chromium is not installed: the UI check is skipped")
    run_page = _chromium(f"{server.ui_url}/runs/flow-run/{scored.id}", "run")
    assert "score-inbox-1-file" in run_page and "Completed" in run_page
    deployment_page = _chromium(
        f"{server.ui_url}/deployments/deployment/{listed[0].deployment_id}?tab=Runs",
        "deployment",
    )
    # The page's header and schedule; its run list may still be loading on a busy machine.
    assert "score-inbox" in deployment_page and "Every 10 minutes" in deployment_page
    failed_page = _chromium(f"{server.ui_url}/runs/flow-run/{failed.id}", "failed-inbox-run")
    assert "score-inbox-1-file-1-failed" in failed_page and "Failed" in failed_page
    _chromium(f"{server.ui_url}/runs", "runs-list")


def test_a_rejected_challenger_completes_and_raises_the_alert(deployed: dict[str, Any]) -> None:
    run = _run("evaluate/evaluate", {"version": CHALLENGER, "gate": {"minimum_accuracy": 1.0}})
    assert run.name == f"evaluate-{CHALLENGER}-rejected" and "rejected" in run.tags
    assert run.state.name == "Completed"
    assert "rejected" in run.state.message.lower()
    (event,) = _wait_for(lambda: _events("sentiment.model.rejected"), 60, "the rejection event")
    assert event.resource.id == f"sentiment.model.{CHALLENGER}"
    assert event.payload["model_version"] == CHALLENGER and event.payload["rules"]
    if shutil.which("chromium") and os.environ.get("SENTIMENT_UI_SHOTS"):
        ui = deployed["server"].ui_url
        _chromium(f"{ui}/runs/flow-run/{run.id}", "evaluate-run")
        _chromium(f"{ui}/runs/flow-run/{run.id}?tab=Artifacts", "evaluate-artifacts")
        _chromium(f"{ui}/artifacts/key/sentiment-champion", "champion")
    body = _wait_for(lambda: _Webhook.received, 90, "the webhook notification")
    assert any("sentiment.model.rejected" in json.loads(message)["text"] for message in body)


def test_a_forced_promotion_is_an_event_that_rescores_the_inbox(
    deployed: dict[str, Any],
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterName,
        FlowRunFilter,
        FlowRunFilterStartTime,
    )

    server: Server = deployed["server"]
    started = _now()
    completed = _sentiment(server, "promote", CHALLENGER, "--force", "--reason", "test")
    assert completed.returncode == 0, completed.stderr
    assert "Emitted sentiment.model.promoted" in completed.stdout, completed.stdout
    # The champion card shows the new champion at once (not only after the next evaluate).
    assert f"# Champion: `{CHALLENGER}`" in str(_latest_artifact("sentiment-champion").data)

    def forced() -> list[Any]:
        events = _events("sentiment.model.promoted")
        return [event for event in events if event.payload.get("cause", "").startswith("forced")]

    (event,) = _wait_for(forced, 60, "the forced promotion's event")
    assert event.resource.id == f"sentiment.model.{CHALLENGER}"
    assert event.payload["reason"] == "test" and event.payload["previous_champion"] == CHAMPION

    def rescoring() -> list[Any]:
        with get_client(sync_client=True) as client:
            runs = client.read_flow_runs(
                deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["score-inbox"])),
                flow_run_filter=FlowRunFilter(start_time=FlowRunFilterStartTime(after_=started)),
            )
        return [run for run in runs if run.state and run.state.is_final()]

    # The schedules are paused: the automation is the only thing starting this run. (The
    # challenger is a copy of the champion's files, so the inbox's outputs stay current.)
    (run,) = _wait_for(rescoring, 150, "the automation's score-inbox run")
    assert run.state.name == "Completed", run.state.message

    rolled_back = _sentiment(server, "rollback", "--reason", "test")
    assert rolled_back.returncode == 0, rolled_back.stderr
    assert f"# Champion: `{CHAMPION}`" in str(_latest_artifact("sentiment-champion").data)


def _sentiment(server: Server, *arguments: str) -> subprocess.CompletedProcess[str]:
    """``sentiment ARGUMENTS`` as a user runs it against ``server``."""
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *arguments],
        env=server.environment,
        cwd=REPOSITORY,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=240,
    )


def _now() -> Any:
    import datetime

    return datetime.datetime.now(datetime.UTC)


def test_artifacts_render_by_key_with_their_images(
    deployed: dict[str, Any], tmp_path: Path
) -> None:
    from flows.ingest import ingest_flow
    from sentiment.core.atomic import file_sha256
    from sentiment.data.config import ArchiveConfig
    from tests.support.imdb_tarball import build_archive
    from tests.support.reviews import archive_reviews

    archive = build_archive(tmp_path / "aclImdb_v1.tar.gz", reviews=archive_reviews(5, 2))
    ingest_flow(
        home=str(tmp_path / "home"),
        archive=ArchiveConfig(source=str(archive), sha256=file_sha256(archive)),
    )
    if shutil.which("chromium") is None:
        pytest.skip("chromium is not installed: the UI check is skipped")
    ui = deployed["server"].ui_url
    # By key: the artifact's versions, newest first, each linking to its page.
    champion = _latest_artifact("sentiment-champion")
    by_key = _chromium(f"{ui}/artifacts/key/sentiment-champion", "champion-by-key")
    assert f'href="/artifacts/artifact/{champion.id}"' in by_key
    # By id: the content, the dataset report's plot in it.
    report = _latest_artifact("dataset-report")
    page = _chromium(f"{ui}/artifacts/artifact/{report.id}", "dataset-report")
    assert "IMDB dataset report" in page
    assert 'src="data:image/png;base64,' in page
    trends = _latest_artifact("sentiment-trends")
    assert "sentiment-trends" in _chromium(f"{ui}/artifacts/artifact/{trends.id}", "trends")
    # Prefect's card calls any trigger on our own events "A custom trigger": the
    # description above it says what fires the automation and what it does.
    cards = _chromium(f"{ui}/automations", "automations")
    assert "run the score-inbox deployment to rescore the inbox" in cards
    assert "notify the sentiment-alerts webhook" in cards


def test_a_deployment_runs_from_the_command_line(deployed: dict[str, Any]) -> None:
    server: Server = deployed["server"]
    completed = _sentiment(server, "deployment", "run", "score-inbox", "--wait")
    missing = _sentiment(server, "deployment", "run", "retrian")

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Started score-inbox-" in completed.stdout
    assert f"{server.ui_url}/runs/flow-run/" in completed.stdout
    assert missing.returncode == 1
    assert "no deployment 'retrian'" in missing.stderr and "retrain" in missing.stderr
    assert "Traceback" not in missing.stderr

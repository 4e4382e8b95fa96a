"""The home's warm runner under a real home server: ``sentiment score`` through it gives
what the command gives in-process (outputs, exit status, final sentences, a flow run on
the server) without importing Prefect; a runner of other code is not used; a command
killed mid-run crashes its run and leaves the runner serving; the runner stops with its
server. The real command, in subprocesses (``cli/home_runner.py``)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from cli import home_runner, home_server
from sentiment.core.paths import HomeLayout
from tests.support.bundles import nbsvm_texts, save_nbsvm
from tests.support.prefect_server import home_command_environment

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads processes from /proc (Linux)"
)


@dataclass
class Home:
    layout: HomeLayout
    environment: dict[str, str]
    root: Path

    def score(
        self, *arguments: str, extra: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``sentiment score ARGUMENTS`` with ``-X importtime`` (its imports on stderr)."""
        return subprocess.run(
            [
                *(sys.executable, "-X", "importtime", "-m", "cli.main"),
                *("--home", str(self.layout.home), "score", *arguments),
            ],
            cwd=self.root,
            env={**self.environment, **(extra or {})},
            capture_output=True,
            text=True,
            timeout=600,
        )

    def runner(self, timeout: float = 300.0, other_than: str = "") -> str:
        """The pid of the home's runner, once it is ready."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = home_runner.read_state(self.layout)
            if state.get("READY") == "1" and state["PID"] != other_than:
                return state["PID"]
            time.sleep(0.2)
        log = self.layout.prefect_dir / "logs" / "runner.log"
        raise AssertionError(f"no runner became ready: {log.read_text()[-3000:]}")

    def flow_runs(self) -> list[dict]:
        request = urllib.request.Request(
            f"{home_server.read_state(self.layout)['PREFECT_API_URL']}/flow_runs/filter",
            data=json.dumps({"sort": "EXPECTED_START_TIME_DESC"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())


def _imported_prefect(command: subprocess.CompletedProcess[str]) -> bool:
    modules = (line.rsplit("|", 1)[-1].strip() for line in command.stderr.splitlines())
    return any(module.split(".")[0] == "prefect" for module in modules)


def _log(command: subprocess.CompletedProcess[str]) -> str:
    """Its terminal output without the import times."""
    lines = command.stderr.splitlines()
    return "\n".join(line for line in lines if not line.startswith("import time:"))


def _sentence(command: subprocess.CompletedProcess[str]) -> str:
    # The one figure that differs from run to run.
    return re.sub(r"[\d,]+ reviews/s", "N reviews/s", command.stdout)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    """A home with an nbsvm champion whose server runs (started by a first command) and
    whose runner is ready (started by a second command, which found the server)."""
    from tests.support.registry import promote_bundle

    root = tmp_path_factory.mktemp("runner")
    layout = HomeLayout(root / "home")
    version = "20260101-000000-nbsvm-0001"
    save_nbsvm(layout.bundle(version), "post", with_weights=True)
    promote_bundle(layout.home, version, nbsvm_texts(40, 2))
    (root / "reviews.csv").write_text(
        "id,text,stars\n1,a very good film,5\n2,bad plot not good,1\n3,,3\n"
    )
    (root / "columns.csv").write_text("id,review_text\n1,good\n")
    environment = home_command_environment(root / "prefect-home", 600)
    home = Home(layout, environment, root)
    try:
        for attempt in ("starts-server", "starts-runner"):
            command = home.score("reviews.csv", "--output", attempt)
            assert command.returncode == 0, command.stderr[-3000:]
            assert _imported_prefect(command)
        home.runner()
        yield home
    finally:
        home_server.stop(layout)


def test_score_through_the_runner_is_the_in_process_run_without_prefect(home: Home) -> None:
    runs_before = len(home.flow_runs())
    through = home.score("reviews.csv", "--output", "through-runner")
    assert through.returncode == 0, through.stderr[-3000:]
    assert not _imported_prefect(through)
    in_process = home.score(
        "reviews.csv", "--output", "in-process", extra={"SENTIMENT_RUNNER": "0"}
    )
    assert in_process.returncode == 0, in_process.stderr[-3000:]
    assert _imported_prefect(in_process)

    assert _sentence(through) == _sentence(in_process).replace("in-process", "through-runner")
    assert "-> through-runner\n" in through.stdout  # as typed, relative
    for log in (_log(through), _log(in_process)):
        assert "Beginning flow run 'score-1-input' for flow 'score'" in log
        assert "Flow run 'score-1-input' - Finished in state Completed()" in log
    ours, theirs = (
        pq.read_table(home.root / name / "reviews.csv.parquet")
        for name in ("through-runner", "in-process")
    )
    assert ours.equals(theirs)
    assert ours.num_rows == 3
    runs = home.flow_runs()
    assert len(runs) == runs_before + 2
    assert [run["state_type"] for run in runs[:2]] == ["COMPLETED", "COMPLETED"]
    assert {run["name"] for run in runs[:2]} == {"score-1-input"}

    # A failed input: the same status, lines and sentence.
    failed = [
        home.score("reviews.csv", "columns.csv", "--output", output, extra=extra)
        for output, extra in (("failed-1", {}), ("failed-2", {"SENTIMENT_RUNNER": "0"}))
    ]
    assert not _imported_prefect(failed[0])
    assert [command.returncode for command in failed] == [1, 1]
    ends = [_log(command).splitlines()[-2:] for command in failed]
    assert ends[0][1].startswith("  failed: Input ") and "columns.csv has no 'text'" in ends[0][1]
    assert ends[0][1] == ends[1][1]
    assert ends[0][0].split(" - ", 1)[1] == ends[1][0].split(" - ", 1)[1].replace(
        "failed-2", "failed-1"
    )


def test_a_command_killed_mid_run_crashes_its_run_and_the_runner_serves_on(
    home: Home,
) -> None:
    runner = home.runner()
    big = home.root / "big.csv"
    big.write_text(
        "id,text\n" + "".join(f"{index},a very good film not bad\n" for index in range(1_000_000))
    )
    command = subprocess.Popen(
        [
            *(sys.executable, "-m", "cli.main", "--home", str(home.layout.home)),
            *("score", str(big), "--output", str(home.root / "killed")),
        ],
        cwd=home.root,
        env=home.environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert command.stderr is not None
        for line in command.stderr:
            if "Beginning flow run" in line:
                break
        command.kill()
        command.wait(timeout=30)
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = home.flow_runs()[0]["state_type"]
        if state != "RUNNING":
            break
        time.sleep(0.5)
    assert state == "CRASHED"
    # The same runner takes the next command, whose rerun completes the output.
    assert home.runner() == runner
    rerun = home.score(str(big), "--output", str(home.root / "killed"))
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert not _imported_prefect(rerun)
    assert pq.read_metadata(home.root / "killed" / "big.csv.parquet").num_rows == 1_000_000


def test_a_runner_of_other_code_or_environment_is_not_used_and_is_replaced(
    home: Home,
) -> None:
    old = home.runner()
    state = home_runner.read_state(home.layout)
    # As a runner started from other code records itself (it still answers).
    home_runner.write_state(home.layout, {**state, "CODE": "0" * 32})
    command = home.score("reviews.csv", "--output", "stale")
    assert command.returncode == 0, command.stderr[-3000:]
    assert _imported_prefect(command)
    new = home.runner(other_than=old)
    deadline = time.monotonic() + 60
    while home_server.process_alive(int(old)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not home_server.process_alive(int(old)), "the replaced runner still runs"

    other = home.score("reviews.csv", "--output", "other", extra={"SENTIMENT_OTHER": "1"})
    assert other.returncode == 0, other.stderr[-3000:]
    assert _imported_prefect(other)
    assert home.runner(other_than=new) != new


def test_the_runner_stops_with_its_server(home: Home) -> None:
    runner = int(home.runner())
    server = home_server.read_state(home.layout)
    # As an idle stop: the server goes from server.env; the runner follows within seconds.
    home_server.write_state(home.layout, {**server, "IDLE_SECONDS": "1"})
    deadline = time.monotonic() + 60
    while home_server.process_alive(runner) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not home_server.process_alive(runner), "the runner outlived its server"
    assert not home.layout.runner_socket.exists()
    while home_server.process_alive(int(server["SERVER_PGID"])) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not home_server.process_alive(int(server["SERVER_PGID"]))

"""One history per home: a command run with no server running is listed, with its
artifacts, by a server started later on the same home (as ``make server`` starts it)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from cli import home_server
from sentiment.core.paths import HomeLayout
from tests.support.bundles import SCORING_TEXTS as TEXTS
from tests.support.bundles import promoted_home
from tests.support.prefect_server import home_command_environment, prefect_server

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


def _post(api_url: str, path: str, body: dict) -> list[dict]:
    request = urllib.request.Request(
        f"{api_url}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_a_run_without_a_server_is_listed_by_a_later_server(tmp_path: Path) -> None:
    home = promoted_home(tmp_path / "home", TEXTS)
    layout = HomeLayout(home)
    (tmp_path / "reviews.csv").write_text("id,text\n1,a great film\n2,an awful film\n")
    environment = home_command_environment(tmp_path / "prefect-home", 1)
    command = subprocess.run(
        [
            *(sys.executable, "-m", "cli.main", "--home", str(home), "score"),
            *(str(tmp_path / "reviews.csv"), "--output", str(tmp_path / "scored")),
        ],
        cwd=REPOSITORY_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert command.returncode == 0, command.stderr[-3000:]
    # The command's server stops itself once idle: no server runs any more.
    deadline = time.monotonic() + 60
    while home_server.read_state(layout) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not home_server.read_state(layout)

    with prefect_server(layout.prefect_dir) as server:
        runs = _post(server.api_url, "/flow_runs/filter", {})
        scoring = [run for run in runs if run["name"].startswith("score-")]
        assert len(scoring) == 1, [run["name"] for run in runs]
        assert scoring[0]["state_type"] == "COMPLETED"
        artifacts = _post(
            server.api_url,
            "/artifacts/filter",
            {"artifacts": {"flow_run_id": {"any_": [scoring[0]["id"]]}}},
        )
        assert artifacts, "the run's artifacts are not in the home's database"

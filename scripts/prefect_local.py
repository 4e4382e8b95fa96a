"""A local Prefect server and process worker for sentiment: ``make server`` and the tests.

``python scripts/prefect_local.py start`` starts, in the background and on loopback,
a Prefect server whose PREFECT_HOME (database, logs) is ``<home>/prefect``, creates the
``sentiment`` work pool, deploys every deployment of prefect.yaml (no questions), starts
a worker serving this checkout and writes the server's address to
``<home>/prefect/server.env``; the ``sentiment`` command then uses that server instead
of a temporary one. ``stop`` stops both and removes the file. ``status`` says what runs.

Every child leads its own process group, so stopping kills the whole group.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sentiment.core.paths import HomeLayout

REPOSITORY = Path(__file__).resolve().parents[1]
POOL = "sentiment"
DEFAULT_PORT = 4200

# Keeps the server, the CLI and the worker quiet and offline (no telemetry, no prompts).
QUIET_ENV = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
    "PREFECT_CLI_PROMPT": "false",
    "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0",
}


def prefect_executable() -> str:
    """The ``prefect`` next to this Python, else ``$PREFECT_BIN``, else on PATH."""
    for candidate in (
        os.environ.get("PREFECT_BIN"),
        str(Path(sys.executable).with_name("prefect")),
        shutil.which("prefect"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    raise SystemExit("No prefect executable found; run 'make install' or set PREFECT_BIN.")


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def healthy(api_url: str, timeout: float = 1.0) -> bool:
    """Whether the API at ``api_url`` answers its health check."""
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def wait_for_health(
    api_url: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 120.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"prefect server exited early with status {process.returncode}")
        if healthy(api_url):
            return
        time.sleep(0.5)
    raise TimeoutError(f"{api_url}/health did not answer within {timeout:.0f} s")


def _base_environment() -> dict[str, str]:
    # A developer's own profile or API URL must not leak into this server.
    return {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}


def server_environment(prefect_home: Path, port: int) -> dict[str, str]:
    """The server's environment: its own home and SQLite database, loopback, quiet."""
    api_url = f"http://127.0.0.1:{port}/api"
    database = f"sqlite+aiosqlite:///{prefect_home / 'prefect.db'}"
    return {
        **_base_environment(),
        **QUIET_ENV,
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_PROFILES_PATH": str(prefect_home / "profiles.toml"),
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": database,
        # The UI calls this address from the browser; its default is port 4200.
        "PREFECT_SERVER_UI_API_URL": api_url,
        "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
    }


def client_environment(
    prefect_home: Path, api_url: str, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of a client (CLI, deploy, worker) of that server."""
    return {
        **_base_environment(),
        **QUIET_ENV,
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_PROFILES_PATH": str(prefect_home / "profiles.toml"),
        "PREFECT_API_URL": api_url,
        **(extra or {}),
    }


def start_server(prefect_home: Path, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """Start ``prefect server start`` on loopback in its own process group."""
    prefect_home.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [
                prefect_executable(),
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--analytics-off",
            ],
            env=server_environment(prefect_home, port),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def start_worker(
    environment: Mapping[str, str], log_path: Path, pool: str = POOL
) -> subprocess.Popen[bytes]:
    """Start a process worker for ``pool`` serving this checkout, in its own group."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [prefect_executable(), "worker", "start", "--pool", pool, "--type", "process"],
            env={**environment, "SENTIMENT_CODE_DIR": str(REPOSITORY)},
            cwd="/",  # the pull step, not the worker's directory, picks the code
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def run_prefect(
    arguments: list[str], environment: Mapping[str, str], timeout: float = 180.0
) -> subprocess.CompletedProcess[str]:
    """Run a prefect CLI command with stdin closed; raise with its output if it fails."""
    completed = subprocess.run(
        [prefect_executable(), *arguments],
        env=dict(environment),
        cwd=REPOSITORY,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"prefect {' '.join(arguments)} failed ({completed.returncode}):\n"
            f"{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
        )
    return completed


def create_pool_and_deploy(environment: Mapping[str, str], pool: str = POOL) -> str:
    """Create the work pool (if missing) and deploy everything; return deploy's output."""
    pools = run_prefect(["work-pool", "ls"], environment).stdout
    if pool not in pools:
        run_prefect(["work-pool", "create", pool, "--type", "process"], environment)
    return run_prefect(["--no-prompt", "deploy", "--all"], environment).stdout


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # killpg(0) succeeds for zombies too: look for a member that is not one.
    states = subprocess.run(
        ["ps", "-o", "stat=", "-g", str(group)], capture_output=True, text=True
    ).stdout.split()
    return any(not state.startswith("Z") for state in states)


def stop_group(group: int, timeout: float = 15.0) -> None:
    """SIGTERM the process group, wait, then SIGKILL whatever is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(-group, os.WNOHANG)
        if not _group_alive(group):
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)


# --- automations ---------------------------------------------------------------------

ALERT_BLOCK = "sentiment-alerts"


def apply_automations(directory: Path = REPOSITORY / "automations") -> list[str]:
    """Render ``automations/*.yaml`` with this server's ids and create the missing ones.

    Runs against the server in PREFECT_API_URL. The alert automation needs the Custom
    Webhook block ``sentiment-alerts``; without it that file is skipped, with a note.

    Returns:
        The names of the automations created.
    """
    import string

    import yaml
    from prefect.blocks.notifications import CustomWebhookNotificationBlock
    from prefect.client.orchestration import get_client

    values: dict[str, str] = {}
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("score-inbox/score-inbox")
        values["SCORE_INBOX_DEPLOYMENT_ID"] = str(deployment.id)
        try:
            block = CustomWebhookNotificationBlock.load(ALERT_BLOCK)
            values["SENTIMENT_ALERT_BLOCK_ID"] = str(block._block_document_id)
        except ValueError:
            print(
                f"No Custom Webhook block '{ALERT_BLOCK}' yet: alerts are not set up "
                "(see the README, 'Alerts'), then run 'make automations' again."
            )
        existing = {automation.name for automation in client.read_automations()}
    rendered_dir = Path(os.environ.get("PREFECT_HOME", REPOSITORY)) / "automations"
    rendered_dir.mkdir(parents=True, exist_ok=True)
    created = []
    for source in sorted(directory.glob("*.yaml")):
        text = source.read_text(encoding="utf-8")
        name = yaml.safe_load(text)["name"]
        if name in existing:
            continue
        try:
            rendered = string.Template(text).substitute(values)
        except KeyError:
            continue  # its block is missing (said above)
        target = rendered_dir / source.name
        target.write_text(rendered, encoding="utf-8")
        run_prefect(["automation", "create", "--from-file", str(target)], os.environ)
        created.append(name)
    print(f"Automations created: {', '.join(created) or 'none (all present)'}")
    return created


# --- make server / make server-stop -------------------------------------------------


def _layout() -> HomeLayout:
    """The layout of the default home (``$SENTIMENT_HOME``): where the server lives."""
    sys.path.insert(0, str(REPOSITORY))
    from sentiment.core.paths import HomeLayout

    return HomeLayout.of(None)


def _read_state(layout: HomeLayout) -> dict[str, str]:
    path = layout.server_file
    if not path.is_file():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def _point_at_local_server() -> None:
    # `make automations` after `make server`: use its server unless told otherwise.
    if not os.environ.get("PREFECT_API_URL"):
        layout = _layout()
        state = _read_state(layout)
        if not state:
            raise SystemExit("No local server: run 'make server' or set PREFECT_API_URL.")
        os.environ.update(client_environment(layout.prefect_dir, state["PREFECT_API_URL"]))


def start(port: int) -> int:
    layout = _layout()
    home, prefect_home = layout.home, layout.prefect_dir
    state = _read_state(layout)
    if state and healthy(state.get("PREFECT_API_URL", "")):
        print(f"Already running: UI {state['PREFECT_UI_URL']} (stop with 'make server-stop').")
        return 0
    if port_in_use(port):
        port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    logs = prefect_home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    # The inbox exists from the start, so the walkthrough's `cp FILE $SENTIMENT_HOME/inbox/`
    # works before any run has made it.
    for directory in (layout.inbox_dir, layout.scored_dir):
        directory.mkdir(parents=True, exist_ok=True)
    server = start_server(prefect_home, port, logs / "server.log")
    wait_for_health(api_url, server)
    environment = client_environment(prefect_home, api_url, {"SENTIMENT_HOME": str(home)})
    print(create_pool_and_deploy(environment).strip().splitlines()[-1])
    subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "automations"],
        env=environment,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    worker = start_worker(environment, logs / "worker.log")
    ui_url = f"http://127.0.0.1:{port}"
    layout.server_file.write_text(
        f"PREFECT_API_URL={api_url}\nPREFECT_UI_URL={ui_url}\n"
        f"SERVER_PGID={server.pid}\nWORKER_PGID={worker.pid}\nSENTIMENT_HOME={home}\n"
    )
    print(f"Prefect UI:  {ui_url}")
    print(f"Home:        {home}")
    print(
        f"Inbox:       {layout.inbox_dir} (files dropped here are scored into {layout.scored_dir})"
    )
    print(f"Logs:        {logs}")
    print(f"Server file: {layout.server_file} (the sentiment command reads it)")
    print(f"Other tools: export PREFECT_API_URL={api_url}")
    return 0


def stop() -> int:
    layout = _layout()
    state = _read_state(layout)
    if not state:
        print("No local server recorded; nothing to stop.")
        return 0
    for key in ("WORKER_PGID", "SERVER_PGID"):
        if state.get(key):
            stop_group(int(state[key]))
    layout.server_file.unlink(missing_ok=True)
    print("Stopped the local Prefect server and worker.")
    return 0


def status() -> int:
    state = _read_state(_layout())
    if state and healthy(state.get("PREFECT_API_URL", "")):
        print(f"Running: UI {state['PREFECT_UI_URL']}, API {state['PREFECT_API_URL']}")
        return 0
    print("Not running (start it with 'make server').")
    return 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("start", "stop", "status", "automations"))
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    arguments = parser.parse_args()
    if arguments.command == "start":
        return start(arguments.port)
    if arguments.command == "automations":
        _point_at_local_server()
        apply_automations()
        return 0
    return stop() if arguments.command == "stop" else status()


if __name__ == "__main__":
    sys.exit(main())

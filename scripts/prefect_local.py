"""The home's Prefect server made lasting, with a process worker: ``make server``.

``python scripts/prefect_local.py start`` makes sure the home's server runs
(:mod:`cli.home_server`: loopback, PREFECT_HOME and database ``<home>/prefect``, address
in ``<home>/prefect/server.env``; one a command started is kept, so the UI shows every
earlier run) and keeps it running, creates the ``sentiment`` work pool, deploys every
deployment of prefect.yaml (no questions) and starts a worker serving this checkout.
``stop`` stops both and removes the file. ``status`` says what runs.

Every child leads its own process group, so stopping kills the whole group.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
if str(REPOSITORY) not in sys.path:  # run as a script: scripts/ is first on the path
    sys.path.insert(0, str(REPOSITORY))

from cli import home_server  # noqa: E402
from cli.home_server import (  # noqa: E402
    QUIET_ENV,
    client_environment,
    healthy,
    server_environment,
    stop_group,
)
from sentiment.core.paths import HomeLayout  # noqa: E402

__all__ = ["QUIET_ENV", "client_environment", "healthy", "server_environment", "stop_group"]
POOL = "sentiment"
DEFAULT_PORT = 4200


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
    return HomeLayout.of(None)


def _point_at_local_server() -> None:
    # `make automations` after `make server`: use its server unless told otherwise.
    if not os.environ.get("PREFECT_API_URL"):
        layout = _layout()
        state = home_server.running_state(layout)
        if not state:
            raise SystemExit("No local server: run 'make server' or set PREFECT_API_URL.")
        os.environ.update(client_environment(layout.prefect_dir, state["PREFECT_API_URL"]))


def start(port: int) -> int:
    """The home's server, lasting (started, or one a command started kept running), the
    work pool and every deployment, the automations and a worker."""
    layout = _layout()
    home = layout.home
    # The inbox exists from the start, so the walkthrough's `cp FILE $SENTIMENT_HOME/inbox/`
    # works before any run has made it.
    for directory in (layout.inbox_dir, layout.scored_dir):
        directory.mkdir(parents=True, exist_ok=True)
    server = home_server.connect(layout, idle=0, port=port)
    print(
        "Starting the home's Prefect server..."
        if server.started
        else "The home's Prefect server runs already; it now runs until 'make server-stop'."
    )
    server.wait()
    state = home_server.read_state(layout)
    if state.get("WORKER_PGID", "").isdigit() and home_server.process_alive(
        int(state["WORKER_PGID"])
    ):
        print(f"Already running: UI {state['PREFECT_UI_URL']} (stop with 'make server-stop').")
        return 0
    environment = client_environment(
        layout.prefect_dir, server.api_url, {"SENTIMENT_HOME": str(home)}
    )
    deployed = create_pool_and_deploy(environment).count("successfully created")
    print(f"Deployed {deployed} deployment(s) of prefect.yaml to the work pool '{POOL}'.")
    # The champion may have changed while no server ran (promote --force, rollback).
    subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "champion"],
        env=environment,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "automations"],
        env=environment,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    logs = layout.prefect_dir / "logs"
    worker = start_worker(environment, logs / "worker.log")
    home_server.write_state(
        layout, {**home_server.read_state(layout), "WORKER_PGID": str(worker.pid)}
    )
    print(f"Prefect UI:  {state['PREFECT_UI_URL']}")
    print(f"Home:        {home}")
    print(
        f"Inbox:       {layout.inbox_dir} (files dropped here are scored into {layout.scored_dir})"
    )
    print(f"Logs:        {logs}")
    print(f"Server file: {layout.server_file} (every sentiment command of this home uses it)")
    print(f"Other tools: export PREFECT_API_URL={server.api_url}")
    return 0


def stop() -> int:
    if home_server.stop(_layout()):
        print("Stopped the home's Prefect server and worker.")
    else:
        print("No server was running; nothing to stop.")
    return 0


def status() -> int:
    # Not running is an answer, not a failure: make reports no error for it.
    line = home_server.describe(_layout())
    print(f"Running: {line}" if line else "Not running (start it with 'make server').")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("start", "stop", "status", "automations", "champion"))
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    arguments = parser.parse_args()
    if arguments.command == "start":
        return start(arguments.port)
    if arguments.command == "automations":
        _point_at_local_server()
        apply_automations()
        return 0
    if arguments.command == "champion":
        _point_at_local_server()
        from tasks.evaluate import publish_champion_task

        print(f"Champion card: {publish_champion_task(str(_layout().home)) or 'no champion yet'}")
        return 0
    return stop() if arguments.command == "stop" else status()


if __name__ == "__main__":
    sys.exit(main())

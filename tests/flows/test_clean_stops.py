"""No process outlives its purpose: a ``sentiment`` command killed (SIGKILL) or stopped
(SIGTERM) leaves the home's Prefect server running only until its idle time is up; the
server holds its port from the moment it is chosen. The real command, in a subprocess."""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli import home_server
from sentiment.core.paths import HomeLayout
from tests.support.bundles import SCORING_TEXTS as TEXTS
from tests.support.bundles import promoted_home
from tests.support.prefect_server import home_command_environment

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
IDLE_SECONDS = 3

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads processes from /proc (Linux)"
)


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _who_answers(port: int) -> str:
    """What holds ``port`` on this host, for a failure message: each socket with its
    state, process and process group."""
    import psutil

    lines = []
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        status = probe.connect_ex(("127.0.0.1", port))
        # A connection from the port to itself (TCP simultaneous open) answers too.
        lines.append(f"a new connection: status {status}, from {probe.getsockname()}")
        connections = psutil.net_connections(kind="tcp")
    for connection in connections:
        ends = [end for end in (connection.laddr, connection.raddr) if end]
        if not any(end.port == port for end in ends):
            continue
        owner = "pid unknown"
        if connection.pid:
            try:
                process = psutil.Process(connection.pid)
                owner = (
                    f"pid {connection.pid} (pgid {os.getpgid(connection.pid)}, "
                    f"parent {process.ppid()}): {' '.join(process.cmdline())[:300]}"
                )
            except (psutil.Error, OSError) as error:
                owner = f"pid {connection.pid} ({error})"
        lines.append(f"{connection.status} {connection.laddr} -> {connection.raddr}: {owner}")
    return f"port {port} still answers; sockets on it: " + ("; ".join(lines) or "none found")


def _server_of(layout: HomeLayout, command: subprocess.Popen[str], timeout: float = 240.0):
    """The pid and API address of the home's server, once it answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert command.poll() is None, "the command ended before its server answered"
        state = home_server.read_state(layout)
        if state and home_server.healthy(state["PREFECT_API_URL"]):
            return int(state["SERVER_PGID"]), state["PREFECT_API_URL"]
        time.sleep(0.2)
    raise AssertionError("the home's server never answered")


@pytest.fixture
def command_environment(tmp_path: Path) -> dict[str, str]:
    return home_command_environment(tmp_path / "prefect-home", IDLE_SECONDS)


@pytest.fixture
def many_files(tmp_path: Path) -> Path:
    # Enough one-row files that the command is still scoring when it is stopped.
    dump = tmp_path / "dump"
    dump.mkdir()
    for index in range(3000):
        text = TEXTS[index % len(TEXTS)].replace(",", "")
        (dump / f"r{index:05d}.csv").write_text(f"id,text\n{index},{text}\n")
    return dump


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home with one small bundle, promoted to champion."""
    return promoted_home(tmp_path / "home", TEXTS)


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_the_home_server_stops_once_idle_after_a_stopped_command(
    home: Path,
    many_files: Path,
    tmp_path: Path,
    command_environment: dict[str, str],
    stop: signal.Signals,
) -> None:
    layout = HomeLayout(home)
    command = subprocess.Popen(
        [
            *(sys.executable, "-m", "cli.main", "--home", str(home)),
            *("score", str(many_files), "--output", str(tmp_path / "scored")),
        ],
        cwd=REPOSITORY_ROOT,
        env=command_environment,
        # Files, not pipes: a server holding a pipe open would block reading it.
        stdout=(tmp_path / "stdout").open("w"),
        stderr=(tmp_path / "stderr").open("w"),
        text=True,
    )
    server = None
    try:
        server, api_url = _server_of(layout, command)
        port = int(api_url.rsplit(":", 1)[1].split("/")[0])
        assert command.poll() is None
        command.send_signal(stop)
        command.wait(timeout=60)
        stopped = time.monotonic()
        stderr = (tmp_path / "stderr").read_text()
        deadline = stopped + IDLE_SECONDS + 30
        while (home_server.process_alive(server) or _listening(port)) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.2)
        assert not home_server.process_alive(server), f"the server {server} outlived its idle time"
        # Not before its idle time: it waited for a next command.
        assert time.monotonic() - stopped >= IDLE_SECONDS - 1
        assert not _listening(port)
        assert not layout.server_file.exists()
        if stop == signal.SIGTERM:
            # Stopped, not crashed: status 128 + 15 and one line saying so.
            assert command.returncode == 128 + signal.SIGTERM, stderr[-2000:]
            assert "stopped by SIGTERM" in stderr
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()
        if server is not None and home_server.process_alive(server):
            os.killpg(server, signal.SIGKILL)  # an orphan must not outlive the test either


def test_the_home_server_holds_its_port_before_it_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(home_server.IDLE_VARIABLE, "60")
    layout = HomeLayout(tmp_path / "home")
    server = home_server.connect(layout)
    try:
        port = int(server.api_url.rsplit(":", 1)[1].split("/")[0])
        # Still importing Prefect, the server must not leave its port free for another
        # process to take.
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as rival:
            with pytest.raises(OSError) as raised:
                rival.bind(("127.0.0.1", port))
            assert raised.value.errno == errno.EADDRINUSE
        server.wait()
        # A second command finds it rather than start another.
        again = home_server.connect(layout)
        assert (again.api_url, again.started) == (server.api_url, False)
    finally:
        pid = int(home_server.read_state(layout).get("SERVER_PGID") or 0)
        assert home_server.stop(layout)
    assert not home_server.process_alive(pid)
    assert not _listening(port), _who_answers(port)

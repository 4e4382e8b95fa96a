"""A ``sentiment`` command killed (SIGKILL) or stopped (SIGTERM) leaves no temporary
Prefect server behind: the real command, in a subprocess, with its own server. The
temporary server holds its port from the moment it is chosen."""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from cli.server import TemporaryServer
from tests.support.bundles import SCORING_TEXTS as TEXTS
from tests.support.bundles import promoted_home

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads processes from /proc (Linux)"
)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def _command_line(pid: int) -> list[str]:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().decode().split("\0")
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie is dead, only not yet reaped


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _listening_port(pid: int) -> int | None:
    try:
        connections = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.Error:
        return None
    for connection in connections:
        if connection.status == psutil.CONN_LISTEN:
            return int(connection.laddr.port)
    return None


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1.0):
            return True
    except OSError:
        return False


def _server_of(command: subprocess.Popen[str], timeout: float = 240.0) -> tuple[int, int]:
    """The pid and port of the command's temporary server, once it answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert command.poll() is None, "the command ended before its server answered"
        for child in _children(command.pid):
            if "uvicorn" not in _command_line(child):
                continue
            # Its command line names an inherited socket (--fd), not a port; the socket
            # listens before the server starts, so only an answer means it runs.
            port = _listening_port(child)
            if port is not None and _answers(port):
                return child, port
        time.sleep(0.2)
    raise AssertionError("the command's temporary server never answered")


@pytest.fixture
def command_environment(tmp_path: Path) -> dict[str, str]:
    # No configured server: the command needs a temporary one (its own database).
    environment = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
    environment.update(PREFECT_HOME=str(tmp_path / "prefect-home"), PYTHONPATH=str(REPOSITORY_ROOT))
    return environment


@pytest.fixture
def many_files(tmp_path: Path) -> Path:
    # Enough one-row files that the command is still scoring when it is stopped.
    dump = tmp_path / "dump"
    dump.mkdir()
    for index in range(3000):
        text = TEXTS[index % len(TEXTS)].replace(",", "")
        (dump / f"r{index:05d}.csv").write_text(f"id,text\n{index},{text}\n")
    return dump


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_stopped_command_leaves_no_temporary_server(
    home: Path,
    many_files: Path,
    tmp_path: Path,
    command_environment: dict[str, str],
    stop: signal.Signals,
) -> None:
    command = subprocess.Popen(
        [
            *(sys.executable, "-m", "cli.main", "--home", str(home)),
            *("score", str(many_files), "--output", str(tmp_path / "scored")),
        ],
        cwd=REPOSITORY_ROOT,
        env=command_environment,
        # Files, not pipes: an orphaned server holding a pipe open would block reading it.
        stdout=(tmp_path / "stdout").open("w"),
        stderr=(tmp_path / "stderr").open("w"),
        text=True,
    )
    server = None
    try:
        server, port = _server_of(command)
        assert command.poll() is None
        command.send_signal(stop)
        command.wait(timeout=60)
        stderr = (tmp_path / "stderr").read_text()
        deadline = time.monotonic() + 15
        while (_alive(server) or _listening(port)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(server), f"the temporary server {server} outlived the command"
        assert not _listening(port)
        if stop == signal.SIGTERM:
            # Stopped, not crashed: status 128 + 15 and one line saying so.
            assert command.returncode == 128 + signal.SIGTERM, stderr[-2000:]
            assert "stopped by SIGTERM" in stderr
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()
        if server is not None and _alive(server):
            os.kill(server, signal.SIGKILL)  # an orphan must not outlive the test either


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home with one small bundle, promoted to champion."""
    return promoted_home(tmp_path / "home", TEXTS)


def test_the_temporary_server_holds_its_port_before_it_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its own database, as a command's server has; not the session harness's.
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.delenv("PREFECT_SERVER_DATABASE_CONNECTION_URL", raising=False)
    server = TemporaryServer()
    try:
        assert server.api_url == f"http://127.0.0.1:{server.port}/api"
        # Still importing Prefect, the server must not leave its port free for another
        # process (or another command's temporary server) to take.
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as rival:
            with pytest.raises(OSError) as raised:
                rival.bind(("127.0.0.1", server.port))
            assert raised.value.errno == errno.EADDRINUSE
        server.wait()
        assert server.healthy()
    finally:
        server.stop()
    assert server.process.poll() is not None

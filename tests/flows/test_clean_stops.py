"""A ``sentiment`` command killed (SIGKILL) or stopped (SIGTERM) leaves no temporary
Prefect server behind: the real command, in a subprocess, with its own server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.flows.test_score_flow import TEXTS
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


def _server_of(command: subprocess.Popen[str], timeout: float = 240.0) -> tuple[int, int]:
    """The pid and port of the command's temporary server, once it listens."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert command.poll() is None, "the command ended before its server listened"
        for child in _children(command.pid):
            arguments = _command_line(child)
            if "uvicorn" in arguments and "--port" in arguments:
                port = int(arguments[arguments.index("--port") + 1])
                if _listening(port):
                    return child, port
        time.sleep(0.2)
    raise AssertionError("the command's temporary server never listened")


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

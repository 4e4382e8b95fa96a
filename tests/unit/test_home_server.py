"""The home server's process checks: a process is gone only once every thread is."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli import home_server

# The raw exit system call ends only the calling thread (no unwinding, no atexit).
_EXIT_THREAD = {"x86_64": 60, "aarch64": 93}

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.uname().machine not in _EXIT_THREAD,
    reason="reads threads from /proc and exits one thread by its system call number",
)

# A process that listens on a port, keeps a second thread running until its standard
# input closes, and ends its main thread: /proc/PID/stat then says zombie (Z) while the
# second thread still holds the listening socket open, as when a server's main thread
# has exited and its other threads are still being torn down.
_MAIN_THREAD_EXITS_FIRST = """
import ctypes, socket, sys, threading
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen()
print(listener.getsockname()[1], flush=True)
threading.Thread(target=sys.stdin.read).start()
ctypes.CDLL(None).syscall({exit_thread}, 0)
"""


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _answers(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_a_process_whose_main_thread_exited_is_alive_while_a_thread_holds_its_port() -> None:
    script = _MAIN_THREAD_EXITS_FIRST.format(exit_thread=_EXIT_THREAD[os.uname().machine])
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None and process.stdin is not None
        port = int(process.stdout.readline())
        deadline = time.monotonic() + 30
        while _state(process.pid) != "Z" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _state(process.pid) == "Z"  # the main thread has exited
        assert _answers(port)
        assert home_server.process_alive(process.pid)
        assert home_server.group_alive(process.pid)

        process.stdin.close()  # the last thread ends, and the process with it
        deadline = time.monotonic() + 30
        while home_server.process_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not home_server.process_alive(process.pid)
        assert not home_server.group_alive(process.pid)
        assert not _answers(port)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)

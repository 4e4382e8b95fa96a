"""The temporary Prefect server of one command: started by the command, dying with it.

Without a configured server (``PREFECT_API_URL``, or ``make server``'s, see
:func:`cli.main._use_local_server`) Prefect would start its own temporary server in a
subprocess and stop it at exit; a command killed by SIGKILL (or one whose exit hooks do
not run) leaves that server running, still listening. This module starts the same
server itself (Prefect's ``SubprocessASGIServer`` command: uvicorn on
``prefect.server.api.server:create_app``, UI off) on a loopback socket this process
binds and hands over, so the port is held from the moment it is chosen, and on Linux the
server asks the kernel for SIGTERM when the command's process dies, however it dies
(``prctl(PR_SET_PDEATHSIG)``); a normal exit stops it too. It starts before Prefect is
imported (:func:`load_flow`), so the server boots while the command imports its flow.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import IO, Any

from sentiment.core.errors import SentimentError

API_URL_VARIABLE = "PREFECT_API_URL"
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_STARTUP_TIMEOUT_VARIABLE = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"


class ServerStartError(SentimentError):
    """The temporary Prefect server did not start."""


def _listening_socket() -> socket.socket:
    # Bound and listening here, before the server starts, so the port is held from the
    # moment it is chosen: a port only read and released stays free while uvicorn
    # imports Prefect (seconds), for another process, or another command's temporary
    # server, to take; this command would then talk to that one.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # uvicorn wraps an inherited fd as AF_UNIX, so asyncio does not set TCP_NODELAY
        # on the connections it accepts; Linux copies it to them from the listener.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen()
    except OSError:
        sock.close()
        raise
    return sock


# Run first in the server's process: it asks the kernel for SIGTERM when its parent (this
# command) dies, checks that the parent did not die before that took effect, then
# becomes the server. Done by the child itself, so no preexec_fn runs between fork and
# exec (unsafe once threads run). os.execv keeps the listening socket: pass_fds made it
# inheritable in this process.
_DIE_WITH_PARENT = (
    "import ctypes, os, signal, sys\n"
    "if sys.platform.startswith('linux'):\n"
    "    libc = ctypes.CDLL(None, use_errno=True)\n"
    f"    libc.prctl({_PR_SET_PDEATHSIG}, int(signal.SIGTERM), 0, 0, 0)\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    os._exit(1)\n"
    "os.execv(sys.executable, [sys.executable, *sys.argv[2:]])\n"
)


def _prefect_directory() -> str:
    # Where the prefect package lies, found without importing it (that takes seconds).
    spec = importlib.util.find_spec("prefect")
    if spec is None or not spec.submodule_search_locations:
        raise ServerStartError("Prefect is not installed; install the project with 'make install'.")
    return str(Path(next(iter(spec.submodule_search_locations))).parent)


class TemporaryServer:
    """A Prefect API server on loopback owned by this process.

    Attributes:
        port: Its port.
        api_url: ``http://127.0.0.1:PORT/api``.
        process: The server's process.
    """

    def __init__(self) -> None:
        app_directory = _prefect_directory()
        listener = _listening_socket()
        self.port = int(listener.getsockname()[1])
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self._log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop)
        # This process's copy is closed once the server has its own: the port then lives
        # exactly as long as the server, so a dead server refuses connections at once
        # instead of leaving them queued on a socket nobody accepts from, and no later
        # child of this command inherits it.
        with listener:
            self.process = subprocess.Popen(
                [
                    *(sys.executable, "-c", _DIE_WITH_PARENT, str(os.getpid())),
                    "-m",
                    "uvicorn",
                    "--app-dir",
                    app_directory,
                    "--factory",
                    "prefect.server.api.server:create_app",
                    "--fd",
                    str(listener.fileno()),
                    "--log-level",
                    "error",
                    "--lifespan",
                    "on",
                ],
                env={
                    **os.environ,
                    # What Prefect's own temporary server runs with: no UI, one app.
                    "PREFECT_UI_ENABLED": "0",
                    "PREFECT__SERVER_EPHEMERAL": "1",
                    "PREFECT__SERVER_FINAL": "1",
                },
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                pass_fds=(listener.fileno(),),
            )
        atexit.register(self.stop)

    def healthy(self) -> bool:
        """Whether the API answers its health check."""
        try:
            with urllib.request.urlopen(f"{self.api_url}/health", timeout=1.0) as response:
                return response.status == 200
        except OSError:
            return False

    def wait(self, timeout: float | None = None) -> None:
        """Block until the server answers.

        Raises:
            ServerStartError: If it exits or does not answer within ``timeout`` seconds
                (default ``$PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS``, else 180).
        """
        if timeout is None:
            timeout = float(os.environ.get(_STARTUP_TIMEOUT_VARIABLE) or 180)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerStartError(
                    f"The temporary Prefect server exited with status "
                    f"{self.process.returncode} before answering ({self._tail()}); run "
                    "'make server' for a lasting one or set PREFECT_API_URL."
                )
            if self.healthy():
                return
            time.sleep(0.1)
        self.stop()
        raise ServerStartError(
            f"The temporary Prefect server did not answer on {self.api_url} within "
            f"{timeout:.0f} s; raise {_STARTUP_TIMEOUT_VARIABLE}, run 'make server' for a "
            "lasting one or set PREFECT_API_URL."
        )

    def _tail(self) -> str:
        self._log.seek(0)
        lines = self._log.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else "no output"

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout`` seconds)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(OSError):
            self._log.close()


def load_flow(module: str, name: str) -> Any:
    """Import a command's flow, with a temporary server where it needs one.

    Where no server is configured (:func:`api_configured`) and Prefect is not loaded
    yet, a :class:`TemporaryServer` is started first, so it boots while the flow's
    modules import, and is waited for before the flow is returned.

    Args:
        module: The flow's module (``flows.score``).
        name: The flow's name in it (``score_flow``).

    Raises:
        ServerStartError: If the temporary server does not start.
    """
    temporary = None
    if not api_configured() and "prefect" not in sys.modules:
        temporary = start_temporary_server()
    flow = getattr(importlib.import_module(module), name)
    if temporary is not None:
        temporary.wait()
    return flow


def start_temporary_server() -> TemporaryServer:
    """Start a temporary server and point this process (and its children) at it
    through ``PREFECT_API_URL``; it is stopped at exit, after Prefect's own exit hooks
    have sent their last logs and events (it is registered before Prefect loads).

    Returns:
        The server, already starting; call :meth:`TemporaryServer.wait` before use.
    """
    server = TemporaryServer()
    os.environ[API_URL_VARIABLE] = server.api_url
    return server


def api_configured() -> bool:
    """Whether this process already talks to a Prefect server (an API URL in the
    environment, or set in Prefect's settings by a caller that loaded Prefect)."""
    if os.environ.get(API_URL_VARIABLE):
        return True
    if "prefect.settings" not in sys.modules:
        return False
    from prefect.settings import PREFECT_API_URL

    return bool(PREFECT_API_URL.value())

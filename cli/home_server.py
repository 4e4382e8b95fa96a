"""The home's Prefect server: one per home, shared by every command and ``make server``.

Every command of a home records its runs in one database, ``<home>/prefect/prefect.db``,
so a later ``make server`` (or any server on that home) shows every earlier run with its
artifacts. Without a configured server (``PREFECT_API_URL``) the first command starts
the home's server in the background: a detached process (its own session, on
loopback, ``PREFECT_HOME=<home>/prefect``) whose address goes to
``<home>/prefect/server.env``; later commands find it there and reuse it.

No server outlives its purpose. Each command holds a shared lock on
``<home>/prefect/clients.lock`` for as long as it lives; the kernel releases it however
the command ends, SIGKILL included. The server's watchdog takes that lock exclusively
once a second: when it gets it (no command running) for ``IDLE_SECONDS`` in a row, it
removes ``server.env`` while still holding it (a command arriving then starts a new
server) and stops. ``make server`` sets ``IDLE_SECONDS=0``: a lasting server, stopped by
``make server-stop`` or ``sentiment server stop``. ``<home>/prefect/server.lock``
serialises starts, so two commands never start two servers.

This module imports neither Prefect nor the library: the command's Prefect import
overlaps the server's start, and ``python -m cli.home_server serve`` is the server.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from sentiment.core.errors import SentimentError
from sentiment.core.paths import HomeLayout

IDLE_VARIABLE = "SENTIMENT_SERVER_IDLE_SECONDS"
# How long the home's server waits, with no command running, before it stops itself.
DEFAULT_IDLE_SECONDS = 600.0
STARTUP_TIMEOUT_VARIABLE = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
DEFAULT_STARTUP_TIMEOUT_SECONDS = 180.0
_WATCH_INTERVAL_SECONDS = 1.0

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


class ServerStartError(SentimentError):
    """The home's Prefect server did not start."""


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


def healthy(api_url: str, timeout: float = 1.0) -> bool:
    """Whether the API at ``api_url`` answers its health check."""
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as response:
            return response.status == 200
    except (OSError, ValueError):
        return False


def idle_seconds() -> float:
    """``$SENTIMENT_SERVER_IDLE_SECONDS``, else :data:`DEFAULT_IDLE_SECONDS` (0: never)."""
    value = os.environ.get(IDLE_VARIABLE) or DEFAULT_IDLE_SECONDS
    try:
        seconds = float(value)
    except ValueError as error:
        raise ServerStartError(
            f"{IDLE_VARIABLE} is {value!r}; set it to a number of seconds (0: never stop)."
        ) from error
    if seconds < 0:
        raise ServerStartError(f"{IDLE_VARIABLE} is {value}; set it to 0 or more seconds.")
    return seconds


# --- the state file ---------------------------------------------------------------------


def _locks(layout: HomeLayout) -> tuple[Path, Path]:
    return layout.prefect_dir / "clients.lock", layout.prefect_dir / "server.lock"


def read_env_file(path: Path) -> dict[str, str]:
    """The ``KEY=VALUE`` lines of a state file such as ``server.env`` (empty when there is
    none)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return {}
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def write_env_file(path: Path, state: Mapping[str, str]) -> None:
    """Replace the state file ``path`` (written to a temporary name and renamed into place)."""
    temporary = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    temporary.write_text("".join(f"{key}={value}\n" for key, value in state.items()))
    os.replace(temporary, path)


def read_state(layout: HomeLayout) -> dict[str, str]:
    """The ``KEY=VALUE`` lines of ``server.env`` (empty when there is none)."""
    return read_env_file(layout.server_file)


def write_state(layout: HomeLayout, state: Mapping[str, str]) -> None:
    """Replace ``server.env``."""
    write_env_file(layout.server_file, state)


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists with a thread that has not exited.

    A process whose main thread has exited shows as a zombie in ``/proc/PID/stat`` while
    its other threads are still being torn down, and until the last of them is gone its
    files, listening socket included, stay open: it is alive until every thread is.
    """
    if not sys.platform.startswith("linux"):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    try:
        threads = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return False  # gone
    for thread in threads:
        try:
            state = (thread / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue  # exited since the listing
        if state not in ("Z", "X"):
            return True
    return False


def running_state(layout: HomeLayout) -> dict[str, str]:
    """The recorded state if its server process still lives, else empty."""
    state = read_state(layout)
    pid = state.get("SERVER_PGID", "")
    return state if pid.isdigit() and process_alive(int(pid)) else {}


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


# --- the command's side -------------------------------------------------------------------

_CLIENT_LOCKS: list[IO[str]] = []  # held until this process ends


def hold_client_lock(layout: HomeLayout) -> None:
    """Say that this process uses the home's server, until it ends (however it ends)."""
    layout.prefect_dir.mkdir(parents=True, exist_ok=True)
    handle = open(_locks(layout)[0], "a")  # noqa: SIM115 (kept open for the process's life)
    fcntl.flock(handle, fcntl.LOCK_SH)
    _CLIENT_LOCKS.append(handle)


def release_client_lock() -> None:
    """Let go of the client lock :func:`hold_client_lock` took (the home's runner, after
    each run)."""
    while _CLIENT_LOCKS:
        _CLIENT_LOCKS.pop().close()


class HomeServer:
    """The home's server as a command sees it: found running, or started by it.

    Attributes:
        layout: The home's layout.
        api_url: ``http://127.0.0.1:PORT/api``.
        started: Whether this command started it.
    """

    def __init__(self, layout: HomeLayout, api_url: str, started: bool) -> None:
        self.layout = layout
        self.api_url = api_url
        self.started = started

    def wait(self, timeout: float | None = None) -> None:
        """Block until the server answers.

        Raises:
            ServerStartError: If its process ends or it does not answer in ``timeout``
                seconds (default ``$PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS``).
        """
        if timeout is None:
            timeout = float(
                os.environ.get(STARTUP_TIMEOUT_VARIABLE) or DEFAULT_STARTUP_TIMEOUT_SECONDS
            )
        log = self.layout.prefect_dir / "logs" / "server.log"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if healthy(self.api_url):
                return
            if not running_state(self.layout):
                raise ServerStartError(
                    f"The home's Prefect server stopped before answering (see {log}); run "
                    "'sentiment server status', or set PREFECT_API_URL to another server."
                )
            time.sleep(0.1)
        raise ServerStartError(
            f"The home's Prefect server did not answer on {self.api_url} within "
            f"{timeout:.0f} s (see {log}); raise {STARTUP_TIMEOUT_VARIABLE} on a busy machine."
        )


def connect(layout: HomeLayout, idle: float | None = None, port: int = 0) -> HomeServer:
    """The home's server: the running one, else one started now (not yet answering:
    call :meth:`HomeServer.wait`). This process holds the client lock from here on.

    Args:
        layout: The home's layout.
        idle: Seconds without a command before the server stops itself (0: never);
            default :func:`idle_seconds`. A running server with an idle time takes a
            lasting one (0) from a later call, as ``make server`` asks.
        port: The port to listen on if a server is started (0: any free one; a busy
            one falls back to any).
    """
    hold_client_lock(layout)
    with _exclusive(_locks(layout)[1]):
        state = running_state(layout)
        if state:
            if idle == 0 and state.get("IDLE_SECONDS") != "0":
                write_state(layout, {**state, "IDLE_SECONDS": "0"})
            return HomeServer(layout, state["PREFECT_API_URL"], started=False)
        idle = idle_seconds() if idle is None else idle
        api_url = _spawn(layout, idle, port)
        return HomeServer(layout, api_url, started=True)


def _listening_socket(port: int) -> socket.socket:
    # Bound and listening before the server starts, so the port is held from the moment
    # it is chosen (the server takes seconds to import Prefect).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # uvicorn wraps an inherited fd as AF_UNIX, so asyncio does not set TCP_NODELAY
        # on the connections it accepts; Linux copies it to them from the listener.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            if not port:
                raise
            sock.bind(("127.0.0.1", 0))
        sock.listen()
    except OSError:
        sock.close()
        raise
    return sock


def _spawn(layout: HomeLayout, idle: float, port: int) -> str:
    logs = layout.prefect_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with _listening_socket(port) as listener, open(logs / "server.log", "ab") as log:
        port = int(listener.getsockname()[1])
        api_url = f"http://127.0.0.1:{port}/api"
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "cli.home_server", "serve"),
                *("--home", str(layout.home), "--fd", str(listener.fileno())),
            ],
            env=server_environment(layout.prefect_dir, port),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=(listener.fileno(),),
            # Detached: its own session, so the command's Ctrl-C or end does not reach
            # it; it stops itself once idle.
            start_new_session=True,
        )
    write_state(
        layout,
        {
            "PREFECT_API_URL": api_url,
            "PREFECT_UI_URL": f"http://127.0.0.1:{port}",
            "SERVER_PGID": str(process.pid),
            "IDLE_SECONDS": f"{idle:g}",
            "SENTIMENT_HOME": str(layout.home),
        },
    )
    return api_url


# --- stopping and status --------------------------------------------------------------


def stop_group(group: int, timeout: float = 15.0) -> None:
    """SIGTERM the process group, wait, then SIGKILL whatever is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(-group, os.WNOHANG)
        # The whole group, not only its leader: a child that outlives the leader (the
        # server's own subprocesses) may still hold the listening socket.
        if not group_alive(group):
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
    # Killed is not yet gone: its port is free only once its last thread has exited.
    deadline = time.monotonic() + timeout
    while group_alive(group) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(-group, os.WNOHANG)
        time.sleep(0.1)


def group_alive(group: int) -> bool:
    """Whether any process of process group ``group`` is alive (:func:`process_alive`)."""
    if not sys.platform.startswith("linux"):
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        return True
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone since the listing
        if fields[2] == str(group) and process_alive(int(stat_file.parent.name)):
            return True
    return False


def stop(layout: HomeLayout) -> bool:
    """Stop the home's server, its warm runner and ``make server``'s worker; return
    whether a server ran."""
    from cli import home_runner  # it builds on this module

    with _exclusive(_locks(layout)[1]):
        state = read_state(layout)
        for key in ("WORKER_PGID", "SERVER_PGID"):
            if state.get(key, "").isdigit():
                stop_group(int(state[key]))
        layout.server_file.unlink(missing_ok=True)
        home_runner.stop(layout)
    return bool(state)


def describe(layout: HomeLayout) -> str | None:
    """One line on the home's running server, or None when none answers."""
    state = running_state(layout)
    if not state or not healthy(state["PREFECT_API_URL"]):
        return None
    idle = float(state.get("IDLE_SECONDS") or 0)
    lifetime = f"stops after {idle:g} s without a command" if idle else "runs until stopped"
    return (
        f"UI {state['PREFECT_UI_URL']}, API {state['PREFECT_API_URL']}, pid "
        f"{state['SERVER_PGID']}, database {layout.prefect_dir / 'prefect.db'}; {lifetime}"
    )


# --- the server process ---------------------------------------------------------------


def _watch(layout: HomeLayout, server: Any) -> None:
    """Stop ``server`` once no command has held the client lock for its idle time, or
    once ``server.env`` no longer names this process (stopped, or replaced)."""
    clients = _locks(layout)[0]
    last_used = time.monotonic()
    while not server.should_exit:
        time.sleep(_WATCH_INTERVAL_SECONDS)
        state = read_state(layout)
        if state.get("SERVER_PGID") != str(os.getpid()):
            server.should_exit = True
            return
        idle = float(state.get("IDLE_SECONDS") or 0)
        with open(clients, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                last_used = time.monotonic()
                continue
            if idle > 0 and time.monotonic() - last_used >= idle:
                # Gone from server.env before the lock is let go: a command that takes
                # the lock next starts a new server rather than count on this one.
                layout.server_file.unlink(missing_ok=True)
                server.should_exit = True
                return


def serve(home: Path, fd: int) -> int:
    """Run the home's server on the inherited listening socket ``fd`` until it is idle
    for its idle time, stopped (SIGTERM) or replaced; then remove ``server.env`` if it
    still names this process."""
    import uvicorn

    from cli.server_database import serialize_sqlite_writes

    serialize_sqlite_writes()
    layout = HomeLayout(home)
    config = uvicorn.Config(
        "prefect.server.api.server:create_app",
        factory=True,
        fd=fd,
        log_level="error",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    watchdog = threading.Thread(target=_watch, args=(layout, server), daemon=True)
    watchdog.start()
    try:
        server.run()
    finally:
        # Not under server.lock: ``stop`` holds it while it waits for this process.
        if read_state(layout).get("SERVER_PGID") == str(os.getpid()):
            layout.server_file.unlink(missing_ok=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a home's Prefect server.")
    parser.add_argument("command", choices=("serve",))
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--fd", type=int, required=True)
    arguments = parser.parse_args(argv)
    return serve(arguments.home, arguments.fd)


if __name__ == "__main__":
    sys.exit(main())

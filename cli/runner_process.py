"""The home's warm runner process (``python -m cli.runner_process serve``): Prefect, the
flows and the library imported once, each command's flow run run for it.

The command's side, the fingerprints and the state file are :mod:`cli.home_runner`;
decision 0017 gives the why. The runner serves one request at a time in its main
thread, relays the run's standard streams to the command, interrupts the run when the
command's connection ends, and stops within a second once its server is gone.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import importlib
import io
import json
import os
import queue
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from cli import home_server
from cli.home_runner import (
    CONNECT_TIMEOUT_SECONDS,
    HANDLERS,
    MessageLines,
    code_fingerprint,
    environment_fingerprint,
    read_state,
    short_path,
    write_state,
)
from sentiment.core.errors import SentimentError
from sentiment.core.paths import HomeLayout

# How often the runner checks that its server still runs.
_WATCH_INTERVAL_SECONDS = 1.0


class _Relay(io.TextIOBase):
    """A standard stream of the runner: to the command whose run is in flight, else to
    the runner's log. Prefect's console handler writes to it from any thread."""

    def __init__(self, name: str, fallback: IO[str], outlet: _Outlet) -> None:
        self._name = name
        self._fallback = fallback
        self._outlet = outlet

    def write(self, text: str) -> int:
        if not self._outlet.send({"stream": self._name, "text": text}):
            self._fallback.write(text)
            self._fallback.flush()
        return len(text)

    def flush(self) -> None:
        self._fallback.flush()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"


class _Outlet:
    """The connection of the request in flight; sends are atomic across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connection: socket.socket | None = None

    def attach(self, connection: socket.socket | None) -> None:
        with self._lock:
            self._connection = connection

    def send(self, message: Mapping[str, Any]) -> bool:
        with self._lock:
            if self._connection is None:
                return False
            try:
                self._connection.sendall(json.dumps(message, default=_plain).encode() + b"\n")
            except OSError:
                # The command is gone: its run is being interrupted; keep the rest here.
                self._connection = None
                return False
            return True


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


class _Runner:
    def __init__(self, layout: HomeLayout, server_pgid: str) -> None:
        self.layout = layout
        self.server_pgid = server_pgid
        self.code = ""
        self.environment = ""
        self.outlet = _Outlet()
        self.requests: queue.Queue[tuple[socket.socket, dict[str, Any]]] = queue.Queue()
        self.busy = threading.Lock()
        self.in_flight = False
        self.current: socket.socket | None = None
        self.retiring = False

    # The watchdog: stop with the server, retire when replaced.
    def watch(self) -> None:
        while True:
            server = home_server.read_state(self.layout)
            alive = server.get("SERVER_PGID") == self.server_pgid and (
                home_server.process_alive(int(self.server_pgid))
            )
            if not alive:
                # The server is gone: nothing this process does can be recorded any more.
                self.leave()
            if read_state(self.layout).get("PID") != str(os.getpid()):
                self.retiring = True
                if self.busy.acquire(blocking=False):
                    os._exit(0)
            time.sleep(_WATCH_INTERVAL_SECONDS)

    def leave(self) -> None:
        """End the process now, removing its socket and state unless a newer runner
        took them over."""
        with contextlib.suppress(OSError), open(self.layout.runner_lock, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if read_state(self.layout).get("PID") == str(os.getpid()):
                self.layout.runner_socket.unlink(missing_ok=True)
                self.layout.runner_file.unlink(missing_ok=True)
        os._exit(0)

    def accept(self, listener: socket.socket) -> None:
        while True:
            connection, _ = listener.accept()
            threading.Thread(target=self.take, args=(connection,), daemon=True).start()

    def take(self, connection: socket.socket) -> None:
        """Read one request and answer at once: refused, or accepted and queued."""
        try:
            connection.settimeout(CONNECT_TIMEOUT_SECONDS)
            message = MessageLines(connection).next() or {}
            refusal = self.refusal(message)
            if refusal is None and not self.busy.acquire(blocking=False):
                refusal = "busy"
            if refusal is not None:
                connection.sendall(json.dumps({"refused": refusal}).encode() + b"\n")
                connection.close()
                return
            connection.settimeout(None)
            connection.sendall(b'{"accepted": true}\n')
        except (OSError, ValueError):
            connection.close()
            return
        self.requests.put((connection, message))

    def refusal(self, message: Mapping[str, Any]) -> str | None:
        if self.retiring:
            return "replaced"
        if message.get("code") != self.code or message.get("environment") != self.environment:
            return "other code or environment"
        if message.get("flow") not in HANDLERS:
            return "unknown flow"
        return None

    def watch_connection(self, connection: socket.socket) -> None:
        """Interrupt the run in flight when its command goes (Ctrl-C, SIGTERM, SIGKILL):
        the command sends nothing after its request, so a read returns only at its end."""
        with contextlib.suppress(OSError):
            connection.recv(1)
        if self.current is connection:
            os.kill(os.getpid(), signal.SIGINT)

    def interrupt(self, signum: int, frame: Any) -> None:
        # A late signal (the run already over) must not break the loop.
        if self.in_flight:
            raise KeyboardInterrupt

    def serve(self) -> None:
        while True:
            connection, message = self.requests.get()
            try:
                self.handle(connection, message)
            except KeyboardInterrupt:
                print("The command went away; its run was interrupted.", file=sys.stderr)
            finally:
                self.in_flight = False
                self.current = None
                self.outlet.attach(None)
                with contextlib.suppress(OSError):
                    # Wakes the thread watching the connection (close alone does not).
                    connection.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    connection.close()
                _flush_run_logs()
                home_server.release_client_lock()
                self.busy.release()
            if self.retiring:
                os._exit(0)

    def handle(self, connection: socket.socket, message: Mapping[str, Any]) -> None:
        # The server must not stop under the run: hold the lock a command holds.
        home_server.hold_client_lock(self.layout)
        module, name = HANDLERS[message["flow"]].split(":")
        handler = getattr(importlib.import_module(module), name)
        self.outlet.attach(connection)
        self.in_flight = True
        self.current = connection
        threading.Thread(target=self.watch_connection, args=(connection,), daemon=True).start()
        try:
            result = {"result": handler(message["request"])}
        except SentimentError as error:
            result = {
                "error": {
                    "kind": "sentiment",
                    "message": str(error),
                    "logged_by_run": bool(getattr(error, "logged_by_run", False)),
                    "failed_inputs": bool(getattr(error, "failed_inputs", False)),
                }
            }
        except Exception:  # the command prints it as an in-process run would
            result = {"error": {"kind": "unexpected", "traceback": traceback.format_exc()}}
        # Over: the command may leave as soon as it has the result.
        self.in_flight = False
        self.current = None
        self.outlet.send(result)


def _flush_run_logs() -> None:
    """Send the run's queued logs to the server now (a command's exit hooks do it)."""
    with contextlib.suppress(Exception):
        from prefect.logging.handlers import APILogHandler

        APILogHandler.flush()


def _bind(path: Path) -> socket.socket:
    path.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with short_path(path) as address:
        listener.bind(address)
    os.chmod(path, 0o600)
    listener.listen(8)
    return listener


def serve(home: Path) -> int:
    """Run the home's runner until its server goes or it is replaced."""
    layout = HomeLayout(home)
    with open(layout.runner_lock, "a") as lock:
        # Held by the command that starts this process until it has named it.
        fcntl.flock(lock, fcntl.LOCK_EX)
    server = home_server.running_state(layout)
    if not server or read_state(layout).get("PID") != str(os.getpid()):
        return 0
    runner = _Runner(layout, server["SERVER_PGID"])
    threading.Thread(target=runner.watch, daemon=True).start()
    # Fingerprinted before the imports: a file edited while they run makes the runner
    # look stale, never the reverse.
    runner.code = code_fingerprint()
    runner.environment = environment_fingerprint()
    # Before Prefect configures its console handler, which keeps the stream it finds.
    sys.stdout = _Relay("stdout", sys.__stdout__, runner.outlet)  # type: ignore[assignment]
    sys.stderr = _Relay("stderr", sys.__stderr__, runner.outlet)  # type: ignore[assignment]
    for target in HANDLERS.values():
        importlib.import_module(target.split(":")[0])
    _warm(layout)
    signal.signal(signal.SIGINT, runner.interrupt)
    with open(layout.runner_lock, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = read_state(layout)
        if state.get("PID") != str(os.getpid()):
            return 0  # replaced while it started
        listener = _bind(layout.runner_socket)
        write_state(
            layout,
            {**state, "CODE": runner.code, "ENVIRONMENT": runner.environment, "READY": "1"},
        )
    threading.Thread(target=runner.accept, args=(listener,), daemon=True).start()
    print(f"Runner {os.getpid()} ready on {layout.runner_socket}.", file=sys.__stderr__)
    runner.serve()
    return 0


def _warm(layout: HomeLayout) -> None:
    """Import what every run imports (the flows, tasks and scoring modules) and load the
    home's champion as the scoring task loads it, so the first run does not pay for it."""
    importlib.import_module("flows.score")
    importlib.import_module("sentiment.scoring.scorer")
    from sentiment.release.champion import resolve_bundle
    from tasks.score import loaded_bundle

    try:
        loaded_bundle(str(resolve_bundle(layout.home)[1]))
    except SentimentError as error:  # no champion yet, or a bad one: the run will say so
        print(f"No champion loaded ahead: {error}", file=sys.__stderr__)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a home's warm runner.")
    parser.add_argument("command", choices=("serve",))
    parser.add_argument("--home", type=Path, required=True)
    arguments = parser.parse_args(argv)
    return serve(arguments.home)


if __name__ == "__main__":
    sys.exit(main())

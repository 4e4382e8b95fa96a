"""The home's warm runner: a long-lived process with Prefect, the flows and the library
imported, which runs a command's flow run for it (``sentiment score``).

A command pays about 3 s to import Prefect and its flow on 2 cores, more than the
scoring it orders. The runner pays that once per home's server: it lives beside the
home's Prefect server (:mod:`cli.home_server`), listens on ``HomeLayout.runner_socket``
and runs each request as an ordinary flow run on that server, in its own main thread,
the same code the command would run (``cli.scoring.run_score``). The command streams the
run's log lines to its terminal and ends with the same exit status and sentence as an
in-process run; it never imports Prefect on that path.

Used only when it is the same program: the runner records at start a fingerprint of the
code it imported (:func:`code_fingerprint`: the source of ``cli``, ``flows``, ``tasks``
and ``sentiment``, the interpreter, the installed distributions) and of the relevant
environment (:func:`environment_fingerprint`: ``SENTIMENT_*``, ``PREFECT_*`` and the
other variables the library or its dependencies read); a command whose own fingerprints
differ, or that has ``PREFECT_API_URL`` set, runs in-process as before. The environment
is the process's, never switched per request.

Requests run one at a time (the run uses the process's standard streams, signal
handling and the machine's cores); a command that finds the runner busy runs
in-process. A command that finds the home's server running but no usable runner runs
in-process and starts one as it ends; a runner of other code or environment is replaced
(it finishes its request, then stops).

No runner outlives its server: it stops within a second once ``server.env`` no longer
names the server it started beside (idle stop, ``sentiment server stop``, a new
server), and ``home_server.stop`` stops it too. While it runs a request it holds the
home's client lock, so the server does not stop under a run. A command that ends while
its run is in flight (Ctrl-C, SIGTERM, SIGKILL) closes its socket; the runner then
interrupts the run as Ctrl-C interrupts an in-process one (the run ends Crashed, a
started output is finished or left as a temporary, never partial) and serves the next.

This module imports neither Prefect nor the library's heavy modules: the command's side
must stay light; the runner process is :mod:`cli.runner_process`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import importlib.util
import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from cli import home_server
from sentiment.core.errors import SentimentError
from sentiment.core.paths import HomeLayout

# SENTIMENT_RUNNER=0: never use or start the runner (every command runs in-process).
SWITCH_VARIABLE = "SENTIMENT_RUNNER"
# What the runner runs: a request's "flow" names one of these, a function of one mapping.
HANDLERS = {"score": "cli.scoring:run_score"}
# The packages whose source is the runner's code.
CODE_PACKAGES = ("cli", "flows", "tasks", "sentiment")
# Variables that change what a run does: the product's and Prefect's settings, object
# store credentials, and those read by TensorFlow, numba, Dask and the BLAS libraries.
ENVIRONMENT_PREFIXES = (
    "SENTIMENT_",
    "PREFECT_",
    "AWS_",
    "TF_",
    "KERAS_",
    "NUMBA_",
    "DASK_",
    "OMP_",
    "MKL_",
    "OPENBLAS_",
    "CUDA_",
    "PYTHON",
)
ENVIRONMENT_NAMES = ("HOME", "PATH", "TZ", "LANG", "LC_ALL")
# Set in the runner only (the home server's address); a command using the runner has none.
_NOT_COMPARED = ("PREFECT_API_URL",)
CONNECT_TIMEOUT_SECONDS = 5.0


class RunnerLostError(SentimentError):
    """The runner stopped while it ran the command's flow."""


# --- fingerprints -----------------------------------------------------------------------


def code_fingerprint() -> str:
    """A hash of the code a process of this interpreter and path would run: the Python
    source of :data:`CODE_PACKAGES` where they import from, the interpreter, and the
    distributions installed in its site directories."""
    digest = hashlib.sha256()
    digest.update(f"{sys.executable}\0{sys.version}\0".encode())
    for package in CODE_PACKAGES:
        spec = importlib.util.find_spec(package)
        locations = list(spec.submodule_search_locations or []) if spec else []
        for location in sorted(locations):
            digest.update(f"{package}\0{location}\0".encode())
            for source in sorted(Path(location).rglob("*.py")):
                digest.update(str(source.relative_to(location)).encode() + b"\0")
                digest.update(source.read_bytes())
    for entry in sys.path:
        if entry.endswith("site-packages") and os.path.isdir(entry):
            digest.update(entry.encode() + b"\0")
            digest.update("\0".join(sorted(os.listdir(entry))).encode())
    return digest.hexdigest()[:32]


def environment_fingerprint(environment: Mapping[str, str] | None = None) -> str:
    """A hash of the relevant variables of ``environment`` (default: this process's)."""
    environment = os.environ if environment is None else environment
    relevant = sorted(
        (key, value)
        for key, value in environment.items()
        if (key.startswith(ENVIRONMENT_PREFIXES) or key in ENVIRONMENT_NAMES)
        and key not in _NOT_COMPARED
    )
    return hashlib.sha256(json.dumps(relevant).encode()).hexdigest()[:32]


# --- the runner's state file --------------------------------------------------------------


def read_state(layout: HomeLayout) -> dict[str, str]:
    """The ``KEY=VALUE`` lines of ``runner.env`` (empty when there is none)."""
    return home_server.read_env_file(layout.runner_file)


def write_state(layout: HomeLayout, state: Mapping[str, str]) -> None:
    """Replace ``runner.env``."""
    home_server.write_env_file(layout.runner_file, state)


def usable(
    state: Mapping[str, str], server: Mapping[str, str], code: str, environment: str
) -> str | None:
    """Why the runner in ``state`` must not run this command's flow, or None if it may.

    Args:
        state: The runner's state (``runner.env``).
        server: The home server's state (``server.env``) as the command found it running.
        code: The command's :func:`code_fingerprint`.
        environment: The command's :func:`environment_fingerprint`.
    """
    pid = state.get("PID", "")
    if not pid.isdigit() or not home_server.process_alive(int(pid)):
        return "no runner"
    if state.get("SERVER_PGID") != server.get("SERVER_PGID"):
        return "a runner of another server"
    if state.get("CODE") != code:
        return "a runner of other code"
    if state.get("ENVIRONMENT") != environment:
        return "a runner of another environment"
    if state.get("READY") != "1":
        return "a runner still starting"
    return None


# --- the command's side -------------------------------------------------------------------


def enabled() -> bool:
    """Whether a command may use the runner: the home's server is the one it would use
    (no ``PREFECT_API_URL`` and Prefect not loaded) and ``$SENTIMENT_RUNNER`` is not 0."""
    if os.environ.get(SWITCH_VARIABLE, "1") == "0":
        return False
    from cli.server import api_configured

    return not api_configured()


def _connect(path: Path, timeout: float) -> socket.socket:
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.settimeout(timeout)
    try:
        with short_path(path) as address:
            connection.connect(address)
    except OSError:
        connection.close()
        raise
    return connection


@contextlib.contextmanager
def short_path(path: Path) -> Iterator[str]:
    """``path``, or the same file through ``/proc/self/fd`` when it exceeds a socket
    address's 107 bytes (a deep temporary home)."""
    if len(os.fsencode(str(path))) < 100 or not os.path.isdir("/proc/self/fd"):
        yield str(path)
        return
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{directory}/{path.name}"
    finally:
        os.close(directory)


class MessageLines:
    """JSON messages, one per line, read from a socket."""

    def __init__(self, connection: socket.socket) -> None:
        self._file = connection.makefile("rb")

    def next(self) -> dict[str, Any] | None:
        line = self._file.readline()
        return json.loads(line) if line else None


def run(layout: HomeLayout, flow: str, request: Mapping[str, Any]) -> Any:
    """Run ``flow`` on the home's runner if one may run it, else return :data:`LOCAL`.

    The runner's log lines go to this process's stdout and stderr as they come. Once
    the runner has taken the request the command's outcome is the run's: its result,
    its expected error (a :class:`SentimentError` with the run's sentence), or an
    unexpected one (the runner's traceback printed, :class:`RunnerLostError`).

    Args:
        layout: The home.
        flow: A key of :data:`HANDLERS`.
        request: The handler's argument: JSON values only, paths absolute.

    Returns:
        The handler's result, or :data:`LOCAL` when the command runs the flow itself
        (no runner, another code or environment, busy, or refused before starting).
    """
    from cli.server import home_connection

    server = home_connection(layout)
    if server.started:
        return LOCAL
    server_state = home_server.running_state(layout)
    code, environment = code_fingerprint(), environment_fingerprint()
    if usable(read_state(layout), server_state, code, environment) is not None:
        # The environment as fingerprinted, not as the run and its imports leave it.
        variables = dict(os.environ)
        _AFTER_LOCAL_RUN.append(lambda: start(layout, server_state, code, variables))
        return LOCAL
    message = {"flow": flow, "request": request, "code": code, "environment": environment}
    try:
        connection = _connect(layout.runner_socket, CONNECT_TIMEOUT_SECONDS)
        connection.sendall(json.dumps(message).encode() + b"\n")
        lines = MessageLines(connection)
        answer = lines.next()
    except (OSError, ValueError):
        return LOCAL
    if not answer or "accepted" not in answer:
        connection.close()
        return LOCAL
    connection.settimeout(None)
    with connection:
        return _follow(lines)


def _follow(lines: MessageLines) -> Any:
    while True:
        message = lines.next()
        if message is None:
            raise RunnerLostError(
                "The home's runner stopped during the run (see its log under "
                "<home>/prefect/logs/runner.log); run the command again."
            )
        if "text" in message:
            stream = sys.stdout if message.get("stream") == "stdout" else sys.stderr
            stream.write(message["text"])
            stream.flush()
        elif "result" in message:
            return message["result"]
        elif "error" in message:
            _raise(message["error"])


def _raise(error: Mapping[str, Any]) -> None:
    if error.get("kind") == "sentiment":
        raised = SentimentError(error["message"])
        raised.logged_by_run = error.get("logged_by_run", False)  # type: ignore[attr-defined]
        raised.failed_inputs = error.get("failed_inputs", False)  # type: ignore[attr-defined]
        raise raised
    sys.stderr.write(error.get("traceback", ""))
    raise RunnerLostError("The run ended on an unexpected error (traceback above).")


class _Local:
    def __repr__(self) -> str:
        return "LOCAL"


LOCAL: Any = _Local()
_AFTER_LOCAL_RUN: list[Callable[[], None]] = []


def after_local_run() -> None:
    """Start the runner a local run found missing (called as the command ends, so its
    imports do not compete with the command's own work)."""
    while _AFTER_LOCAL_RUN:
        with contextlib.suppress(OSError):
            _AFTER_LOCAL_RUN.pop()()


def start(
    layout: HomeLayout, server_state: Mapping[str, str], code: str, variables: Mapping[str, str]
) -> None:
    """Start a runner for the server in ``server_state`` with the environment
    ``variables``, unless a usable one runs or starts (under ``runner.lock``)."""
    environment = environment_fingerprint(variables)
    with open(layout.runner_lock, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = read_state(layout)
        reason = usable(state, server_state, code, environment)
        if reason in (None, "a runner still starting"):
            return
        logs = layout.prefect_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        with open(logs / "runner.log", "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "cli.runner_process", "serve", "--home", str(layout.home)],
                env={**variables, "PREFECT_API_URL": server_state["PREFECT_API_URL"]},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Detached like the server: the command's end or Ctrl-C does not reach it.
                start_new_session=True,
            )
        # Named now, so that a runner of other code stops and no second one starts.
        write_state(
            layout,
            {
                "PID": str(process.pid),
                "SERVER_PGID": server_state["SERVER_PGID"],
                "CODE": code,
                "ENVIRONMENT": environment,
                "READY": "0",
            },
        )


def stop(layout: HomeLayout) -> bool:
    """Stop the home's runner (its process group); return whether one was named."""
    with open(layout.runner_lock, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = read_state(layout)
        if state.get("PID", "").isdigit():
            home_server.stop_group(int(state["PID"]))
        layout.runner_file.unlink(missing_ok=True)
        layout.runner_socket.unlink(missing_ok=True)
    return bool(state)

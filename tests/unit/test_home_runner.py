"""The home's warm runner, the command's side: when it may be used, what the protocol
carries back, and when the command runs its flow itself (``cli/home_runner.py``). The
runner process itself runs under a real server in ``tests/flows/test_home_runner.py``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cli import home_runner, home_server
from cli import server as cli_server
from sentiment.core.errors import SentimentError
from sentiment.core.paths import HomeLayout

SERVER = {"SERVER_PGID": str(os.getpid()), "PREFECT_API_URL": "http://127.0.0.1:1/api"}
CODE, ENVIRONMENT = "code-1", "environment-1"


def _state(**changes: str) -> dict[str, str]:
    state = {
        "PID": str(os.getpid()),
        "SERVER_PGID": SERVER["SERVER_PGID"],
        "CODE": CODE,
        "ENVIRONMENT": ENVIRONMENT,
        "READY": "1",
    }
    return {**state, **changes}


def test_a_runner_is_used_only_for_the_same_server_code_and_environment() -> None:
    assert home_runner.usable(_state(), SERVER, CODE, ENVIRONMENT) is None
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    refusals = {
        "no runner": _state(PID=str(dead.pid)),
        "a runner of another server": _state(SERVER_PGID="1"),
        "a runner of other code": _state(CODE="code-0"),
        "a runner of another environment": _state(ENVIRONMENT="environment-0"),
        "a runner still starting": _state(READY="0"),
    }
    for reason, state in refusals.items():
        assert home_runner.usable(state, SERVER, CODE, ENVIRONMENT) == reason
    assert home_runner.usable({}, SERVER, CODE, ENVIRONMENT) == "no runner"


def test_the_environment_fingerprint_covers_the_settings_and_not_the_server_address() -> None:
    base = {"SENTIMENT_HOME": "/h", "PREFECT_LOGGING_LEVEL": "INFO", "TERM": "xterm"}
    fingerprint = home_runner.environment_fingerprint(base)
    # The runner has the home server's address; a command using it has none.
    assert home_runner.environment_fingerprint({**base, "PREFECT_API_URL": "x"}) == fingerprint
    assert home_runner.environment_fingerprint({**base, "TERM": "dumb"}) == fingerprint
    for key in ("SENTIMENT_HOME", "PREFECT_LOGGING_LEVEL", "AWS_ENDPOINT_URL", "NUMBA_X"):
        assert home_runner.environment_fingerprint({**base, key: "other"}) != fingerprint


def test_the_code_fingerprint_changes_with_a_source_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "runner_fingerprint_package"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "module.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(home_runner, "CODE_PACKAGES", ("runner_fingerprint_package",))
    before = home_runner.code_fingerprint()
    assert home_runner.code_fingerprint() == before
    (package / "module.py").write_text("VALUE = 2\n")
    assert home_runner.code_fingerprint() != before


class _FakeRunner:
    """A socket at the home's runner path answering each request with ``answer``."""

    def __init__(self, layout: HomeLayout, answer: Callable[[socket.socket], None]) -> None:
        self.requests: list[dict] = []
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with home_runner.short_path(layout.runner_socket) as address:
            self._listener.bind(address)
        self._listener.listen()
        self._answer = answer
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        connection, _ = self._listener.accept()
        with connection:
            self.requests.append(json.loads(connection.makefile("rb").readline()))
            self._answer(connection)

    def close(self) -> None:
        self._thread.join(timeout=10)
        self._listener.close()


def _send(connection: socket.socket, *messages: dict) -> None:
    connection.sendall(b"".join(json.dumps(message).encode() + b"\n" for message in messages))


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HomeLayout]:
    """A home whose server 'runs' (this process) and whose runner's state names this
    process with this code and environment; no real server is started."""
    layout = HomeLayout(tmp_path / "h")
    layout.prefect_dir.mkdir(parents=True)
    server = home_server.HomeServer(layout, SERVER["PREFECT_API_URL"], started=False)
    monkeypatch.setattr(cli_server, "home_connection", lambda _layout: server)
    monkeypatch.setattr(home_server, "running_state", lambda _layout: dict(SERVER))
    monkeypatch.setattr(home_runner, "code_fingerprint", lambda: CODE)
    monkeypatch.setattr(home_runner, "environment_fingerprint", lambda: ENVIRONMENT)
    started: list[object] = []
    monkeypatch.setattr(home_runner, "start", lambda *arguments: started.append(arguments))
    home_runner.write_state(layout, _state())
    yield layout
    home_runner._AFTER_LOCAL_RUN.clear()


def test_the_command_streams_the_runs_lines_and_returns_its_result(
    layout: HomeLayout, capsys: pytest.CaptureFixture[str]
) -> None:
    def answer(connection: socket.socket) -> None:
        _send(
            connection,
            {"accepted": True},
            {"stream": "stderr", "text": "12:00 | INFO | Flow run 'score-1-input' - begun\n"},
            {"stream": "stdout", "text": "printed\n"},
            {"result": {"rows": 3}},
        )

    runner = _FakeRunner(layout, answer)
    try:
        result = home_runner.run(layout, "score", {"inputs": ["/in.csv"]})
    finally:
        runner.close()
    assert result == {"rows": 3}
    assert runner.requests == [
        {
            "flow": "score",
            "request": {"inputs": ["/in.csv"]},
            "code": CODE,
            "environment": ENVIRONMENT,
        }
    ]
    out, err = capsys.readouterr()
    assert (out, err) == ("printed\n", "12:00 | INFO | Flow run 'score-1-input' - begun\n")


def test_the_runs_expected_failure_is_the_commands_one_sentence(layout: HomeLayout) -> None:
    message = "1 of 2 input(s) failed to score; the other 1 were scored."
    error = {"kind": "sentiment", "message": message, "logged_by_run": True, "failed_inputs": True}

    runner = _FakeRunner(
        layout, lambda connection: _send(connection, {"accepted": True}, {"error": error})
    )
    try:
        with pytest.raises(SentimentError) as raised:
            home_runner.run(layout, "score", {})
    finally:
        runner.close()
    assert str(raised.value) == message
    assert raised.value.logged_by_run and raised.value.failed_inputs  # type: ignore[attr-defined]


def test_a_runner_lost_after_taking_the_run_is_an_error_not_a_second_run(
    layout: HomeLayout,
) -> None:
    runner = _FakeRunner(layout, lambda connection: _send(connection, {"accepted": True}))
    try:
        with pytest.raises(home_runner.RunnerLostError):
            home_runner.run(layout, "score", {})
    finally:
        runner.close()


@pytest.mark.parametrize(
    "answer",
    [
        lambda connection: _send(connection, {"refused": "busy"}),
        lambda connection: None,  # closed before answering
    ],
    ids=["refused", "closed"],
)
def test_the_command_runs_its_flow_itself_when_the_runner_does_not_take_it(
    layout: HomeLayout, answer: Callable[[socket.socket], None]
) -> None:
    runner = _FakeRunner(layout, answer)
    try:
        assert home_runner.run(layout, "score", {}) is home_runner.LOCAL
    finally:
        runner.close()


def test_without_a_usable_runner_the_command_runs_itself_then_starts_one(
    layout: HomeLayout,
) -> None:
    # No socket at all: the state names a runner of other code.
    home_runner.write_state(layout, _state(CODE="code-0"))
    assert home_runner.run(layout, "score", {}) is home_runner.LOCAL
    # Nothing started before the command's own run ends.
    assert home_runner._AFTER_LOCAL_RUN
    layout.runner_socket.unlink(missing_ok=True)


def test_a_server_this_command_started_has_no_runner_to_use(
    layout: HomeLayout, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = home_server.HomeServer(layout, SERVER["PREFECT_API_URL"], started=True)
    monkeypatch.setattr(cli_server, "home_connection", lambda _layout: started)
    assert home_runner.run(layout, "score", {}) is home_runner.LOCAL
    assert not home_runner._AFTER_LOCAL_RUN


def test_a_configured_server_or_the_switch_keeps_the_command_in_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli_server, "api_configured", lambda: False)
    monkeypatch.delenv(home_runner.SWITCH_VARIABLE, raising=False)
    assert home_runner.enabled()
    monkeypatch.setenv(home_runner.SWITCH_VARIABLE, "0")
    assert not home_runner.enabled()
    monkeypatch.delenv(home_runner.SWITCH_VARIABLE)
    monkeypatch.setattr(cli_server, "api_configured", lambda: True)
    assert not home_runner.enabled()


def test_stopping_the_home_server_stops_its_runner(tmp_path: Path) -> None:
    layout = HomeLayout(tmp_path / "h")
    layout.prefect_dir.mkdir(parents=True)
    runner = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True
    )
    try:
        home_runner.write_state(layout, _state(PID=str(runner.pid)))
        layout.runner_socket.write_text("")
        home_server.stop(layout)
        # Reaped by stop() itself (this process is its parent): gone, whatever its status.
        assert not home_server.process_alive(runner.pid)
        assert not layout.runner_file.exists() and not layout.runner_socket.exists()
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()

"""Errors before orchestration: a command that cannot run says why in one sentence,
naming the file and the fix, without loading Prefect or starting a server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.bundles import SCORING_TEXTS, promoted_home

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
# Set in the command by the test only: Prefect must not be imported at all.
NO_PREFECT = (
    "import sys; sys.modules['prefect'] = None; from cli.main import main; sys.exit(main())"
)


def _sentiment(home: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
    environment["PYTHONPATH"] = str(REPOSITORY_ROOT)
    return subprocess.run(
        [sys.executable, "-c", NO_PREFECT, "--home", str(home), *arguments],
        cwd=REPOSITORY_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return promoted_home(tmp_path_factory.mktemp("preflight") / "home", SCORING_TEXTS)


def _one_sentence(command: subprocess.CompletedProcess[str], *names: str) -> None:
    assert command.returncode == 1, command.stderr[-2000:]
    lines = command.stderr.strip().splitlines()
    assert len(lines) == 1, command.stderr[-2000:]
    assert lines[0].startswith("sentiment score: ")
    for name in names:
        assert name in lines[0]


def test_a_missing_input_fails_before_any_server(home: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing.csv"
    command = _sentiment(home, "score", str(missing), "--output", str(tmp_path / "out"))
    _one_sentence(command, str(missing), "does not exist")
    assert not (home / "prefect").exists()
    assert not (tmp_path / "out").exists()


def test_an_output_that_is_a_file_fails_before_any_server(home: Path, tmp_path: Path) -> None:
    reviews = tmp_path / "reviews.csv"
    reviews.write_text("id,text\n1,a great film\n")
    taken = tmp_path / "taken"
    taken.write_text("not a directory")
    command = _sentiment(home, "score", str(reviews), "--output", str(taken))
    _one_sentence(command, str(taken), "--output a directory")
    assert not (home / "prefect").exists()


def test_a_home_without_champion_fails_before_any_server(tmp_path: Path) -> None:
    reviews = tmp_path / "reviews.csv"
    reviews.write_text("id,text\n1,a great film\n")
    empty = tmp_path / "empty-home"
    command = _sentiment(empty, "score", str(reviews), "--output", str(tmp_path / "out"))
    _one_sentence(command, "No champion model", "sentiment train")
    assert not (empty / "prefect").exists()

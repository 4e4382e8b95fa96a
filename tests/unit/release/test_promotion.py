"""Gating and recording, forced promotion, rollback and their commands."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cli.main import main
from sentiment.release.champion import champion_version
from sentiment.release.errors import EvaluationError, RegistryError
from sentiment.release.evaluation import EVALUATION_FILE
from sentiment.release.ledger import new_event, read_ledger, registry_state
from sentiment.release.promotion import gate_and_record, promote, rollback
from tests.support.registry import LENIENT, events, ledger_bytes, make_evaluated


def test_gating_promotes_the_first_and_better_models_and_rejects_a_worse_one(
    tmp_path: Path,
) -> None:
    make_evaluated(tmp_path, "v1", range(40))
    assert gate_and_record(tmp_path, "v1", LENIENT).promoted
    make_evaluated(tmp_path, "v2", range(20))
    assert gate_and_record(tmp_path, "v2", LENIENT).promoted
    make_evaluated(tmp_path, "v3", range(100))
    decision = gate_and_record(tmp_path, "v3", LENIENT)
    assert not decision.promoted
    assert champion_version(tmp_path) == "v2"
    assert events(tmp_path) == [
        ("registered", "v1"),
        ("evaluated", "v1"),
        ("promoted", "v1"),
        ("registered", "v2"),
        ("evaluated", "v2"),
        ("promoted", "v2"),
        ("registered", "v3"),
        ("evaluated", "v3"),
        ("rejected", "v3"),
    ]
    rejected = read_ledger(tmp_path)[-1]
    assert rejected["champion"] == "v2"
    assert rejected["reasons"] == decision.reasons
    assert "significantly worse" in rejected["reasons"][0]
    assert {verdict["rule"] for verdict in rejected["verdicts"]} >= {"non_regression"}
    assert all(event["timestamp"].endswith("Z") for event in read_ledger(tmp_path))


def test_rollback_and_forced_promotion_are_recorded(tmp_path: Path) -> None:
    make_evaluated(tmp_path, "v1", range(40))
    gate_and_record(tmp_path, "v1", LENIENT)
    make_evaluated(tmp_path, "v2", range(100))
    assert not gate_and_record(tmp_path, "v2", LENIENT).promoted
    forced = promote(tmp_path, "v2", reason="needed for the demo", user="alice")
    assert champion_version(tmp_path) == "v2"
    assert forced["event"] == "forced"
    assert forced["reason"] == "needed for the demo"
    assert forced["user"] == "alice"
    assert forced["previous_champion"] == "v1"
    rolled = rollback(tmp_path, reason="demo over", user="bob")
    assert (rolled["event"], rolled["version"], rolled["to_version"]) == (
        "rolled_back",
        "v2",
        "v1",
    )
    assert champion_version(tmp_path) == "v1"
    assert registry_state(tmp_path).status("v2") == "rolled back"


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (lambda home: promote(home, "v9", reason="x"), "Unknown model version 'v9'"),
        (lambda home: promote(home, "v1", reason=""), "needs a reason"),
        (lambda home: promote(home, "v1", reason=None), "needs a reason"),
        (lambda home: promote(home, "v1", reason="x", force=False), "--force"),
        (lambda home: promote(home, "v1", reason="x"), "already the champion"),
        (lambda home: promote(home, "fresh", reason="x"), "has not been evaluated"),
        (lambda home: gate_and_record(home, "fresh"), "has not been evaluated"),
        (lambda home: rollback(home), "no earlier champion"),
        (lambda home: new_event("deleted", "v1", {}), "Cannot record a 'deleted' event"),
    ],
)
def test_bad_requests_leave_the_ledger_unchanged(tmp_path: Path, action, message: str) -> None:
    make_evaluated(tmp_path, "v1", range(40))
    gate_and_record(tmp_path, "v1", LENIENT)
    (tmp_path / "models" / "fresh").mkdir()
    before = ledger_bytes(tmp_path)
    with pytest.raises((RegistryError, EvaluationError), match=message):
        action(tmp_path)
    assert ledger_bytes(tmp_path) == before


def test_rollback_without_any_champion_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="no champion"):
        rollback(tmp_path)
    assert ledger_bytes(tmp_path) == b""


def test_corrupt_evaluation_is_refused_without_ledger_change(tmp_path: Path) -> None:
    directory = make_evaluated(tmp_path, "v1", range(40))
    (directory / EVALUATION_FILE).write_text('{"metrics": ')
    before = ledger_bytes(tmp_path)
    with pytest.raises(EvaluationError, match="corrupt"):
        promote(tmp_path, "v1", reason="x")
    with pytest.raises(EvaluationError, match="corrupt"):
        gate_and_record(tmp_path, "v1")
    assert ledger_bytes(tmp_path) == before


def test_missing_champion_bundle_fails_closed(tmp_path: Path) -> None:
    make_evaluated(tmp_path, "v1", range(40))
    gate_and_record(tmp_path, "v1", LENIENT)
    make_evaluated(tmp_path, "v2", range(10))
    shutil.rmtree(tmp_path / "models" / "v1")
    decision = gate_and_record(tmp_path, "v2", LENIENT)
    assert not decision.promoted
    assert "champion v1 cannot be read" in decision.summary
    assert champion_version(tmp_path) == "v1"


def test_champion_evaluated_on_other_test_data_is_not_compared(tmp_path: Path) -> None:
    make_evaluated(tmp_path, "v1", range(40))
    gate_and_record(tmp_path, "v1", LENIENT)
    evaluation_path = tmp_path / "models" / "v1" / EVALUATION_FILE
    evaluation = json.loads(evaluation_path.read_text())
    evaluation["test_data"]["rows_sha256"] = "sha256:older-test-data"
    evaluation_path.write_text(json.dumps(evaluation))
    make_evaluated(tmp_path, "v2", range(10))
    decision = gate_and_record(tmp_path, "v2", LENIENT)
    assert not decision.promoted
    assert "refusing to compare" in decision.summary


def test_promote_and_rollback_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_evaluated(tmp_path, "v1", range(40))
    gate_and_record(tmp_path, "v1", LENIENT)
    make_evaluated(tmp_path, "v2", range(100))
    home = ["--home", str(tmp_path)]
    before = ledger_bytes(tmp_path)
    assert main([*home, "promote", "v2", "--force"]) == 1
    assert "needs a reason" in capsys.readouterr().err
    assert main([*home, "promote", "v2", "--reason", "why"]) == 1
    assert "--force" in capsys.readouterr().err
    assert ledger_bytes(tmp_path) == before
    assert main([*home, "promote", "v2", "--force", "--reason", "hotfix"]) == 0
    assert "v2" in capsys.readouterr().out
    assert champion_version(tmp_path) == "v2"
    assert main([*home, "rollback", "--reason", "hotfix reverted"]) == 0
    assert champion_version(tmp_path) == "v1"
    assert main([*home, "rollback"]) == 1
    assert "no earlier champion" in capsys.readouterr().err


def test_evaluate_command_refuses_bad_input_before_starting_a_flow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = ["--home", str(tmp_path)]
    assert main([*home, "evaluate", "latest"]) == 1
    assert "sentiment train" in capsys.readouterr().err
    (tmp_path / "models" / "v1").mkdir(parents=True)
    assert main([*home, "evaluate", "v9"]) == 1
    assert "Unknown model version 'v9'" in capsys.readouterr().err
    assert main([*home, "evaluate", "v1", "--minimum-accuracy", "2"]) == 1
    assert "minimum_accuracy=2.0 is out of range" in capsys.readouterr().err
    assert not (tmp_path / "models" / "ledger.jsonl").exists()

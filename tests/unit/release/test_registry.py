"""The ledger, champion replay, promotion, rollback, listing and the registry commands."""

from __future__ import annotations

import json
import multiprocessing
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cli.main import main
from sentiment.release.config import GatePolicy
from sentiment.release.evaluation import (
    EVALUATION_FILE,
    EvaluationError,
    evaluate_scorer,
    load_test_split,
)
from sentiment.release.registry import (
    LedgerCorruptError,
    RegistryError,
    champion_version,
    gate_and_record,
    list_models,
    promote,
    read_ledger,
    record_evaluation,
    record_event,
    registry_state,
    replay,
    rollback,
)

ROWS = 400
LENIENT = GatePolicy(minimum_accuracy=0.5, minimum_roc_auc=0.5)


class TableScorer:
    def __init__(self, scores: dict[str, float]) -> None:
        self.scores = scores

    def predict_texts(self, texts: Sequence[str | None], batch_size: int = 1024) -> np.ndarray:
        return np.array([self.scores[text or ""] for text in texts], dtype=np.float32)


def texts_and_labels() -> tuple[list[str], np.ndarray]:
    return [f"review {index}" for index in range(ROWS)], (np.arange(ROWS) % 2).astype(np.int8)


def write_raw_test(home: Path) -> None:
    texts, labels = texts_and_labels()
    path = home / "raw" / "imdb" / "test.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "review_id": [f"test/{index}" for index in range(ROWS)],
            "text": texts,
            "label": pa.array(labels, pa.int8()),
        }
    )
    pq.write_table(table, path)


def make_evaluated(home: Path, version: str, wrong: Sequence[int], model: str = "fake") -> Path:
    """A bundle directory evaluated on the home's test split, wrong on ``wrong``."""
    if not (home / "raw" / "imdb" / "test.parquet").exists():
        write_raw_test(home)
    texts, labels = texts_and_labels()
    scores = np.where(labels == 1, 0.9, 0.1)
    scores[list(wrong)] = np.where(labels[list(wrong)] == 1, 0.4, 0.6)
    directory = home / "models" / version
    directory.mkdir(parents=True)
    (directory / "metadata.json").write_text(json.dumps({"model": {"name": model}}))
    evaluate_scorer(
        TableScorer(dict(zip(texts, scores.tolist(), strict=True))),
        load_test_split(home),
        directory,
        version=version,
        model_name=model,
        bootstrap_resamples=200,
    )
    record_evaluation(home, version)
    return directory


def ledger_bytes(home: Path) -> bytes:
    path = home / "models" / "ledger.jsonl"
    return path.read_bytes() if path.exists() else b""


def events(home: Path) -> list[tuple[str, str]]:
    return [(event["event"], event["version"]) for event in read_ledger(home)]


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


def test_replaying_the_ledger_gives_the_same_champion(tmp_path: Path) -> None:
    make_evaluated(tmp_path, "v1", range(40))
    gate_and_record(tmp_path, "v1", LENIENT)
    make_evaluated(tmp_path, "v2", range(30))
    gate_and_record(tmp_path, "v2", LENIENT)
    rollback(tmp_path, reason="v2 misbehaves", user="tester")
    copy = tmp_path / "copy"
    (copy / "models").mkdir(parents=True)
    shutil.copy(tmp_path / "models" / "ledger.jsonl", copy / "models" / "ledger.jsonl")
    assert champion_version(copy) == champion_version(tmp_path) == "v1"
    assert replay(read_ledger(tmp_path)).champion_history == ["v1"]


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
        (lambda home: record_event(home, "deleted", "v1"), "Unknown ledger event"),
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


def test_corrupt_ledger_line_is_reported_by_number_and_never_rewritten(tmp_path: Path) -> None:
    make_evaluated(tmp_path, "v1", range(40))
    ledger = tmp_path / "models" / "ledger.jsonl"
    lines = ledger.read_bytes().splitlines(keepends=True)
    corrupted = lines[0] + b'{"event": "promoted", "vers\n' + b"".join(lines[1:])
    ledger.write_bytes(corrupted)
    with pytest.raises(LedgerCorruptError, match="Line 2 of the ledger"):
        champion_version(tmp_path)
    with pytest.raises(LedgerCorruptError, match="Line 2"):
        gate_and_record(tmp_path, "v1", LENIENT)
    with pytest.raises(LedgerCorruptError, match="Line 2"):
        record_event(tmp_path, "registered", "v2")
    assert ledger.read_bytes() == corrupted
    ledger.write_bytes(b"".join(lines) + b'{"event": "promoted"')
    with pytest.raises(LedgerCorruptError, match=f"Line {len(lines) + 1} .* incomplete"):
        read_ledger(tmp_path)


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


def _append_many(home: str, writer: int, count: int) -> None:
    for index in range(count):
        record_event(Path(home), "registered", f"w{writer}-{index}", writer=writer, index=index)


def test_concurrent_appends_from_two_processes_lose_no_event(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    count = 150
    processes = [
        context.Process(target=_append_many, args=(str(tmp_path), writer, count))
        for writer in (1, 2)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    recorded = read_ledger(tmp_path)
    assert len(recorded) == 2 * count
    assert {(event["writer"], event["index"]) for event in recorded} == {
        (writer, index) for writer in (1, 2) for index in range(count)
    }
    for writer in (1, 2):
        indices = [event["index"] for event in recorded if event["writer"] == writer]
        assert indices == list(range(count))


def test_list_models_merges_bundles_and_ledger(tmp_path: Path) -> None:
    make_evaluated(tmp_path, "v1", range(40), model="mlp")
    gate_and_record(tmp_path, "v1", LENIENT)
    make_evaluated(tmp_path, "v2", range(100), model="cnn")
    gate_and_record(tmp_path, "v2", LENIENT)
    (tmp_path / "models" / "v3").mkdir()
    (tmp_path / "models" / "v3" / "metadata.json").write_text('{"model": {"name": "nbsvm"}}')
    entries = {entry["version"]: entry for entry in list_models(tmp_path)}
    assert list(entries) == ["v1", "v2", "v3"]
    assert entries["v1"]["champion"] and entries["v1"]["status"] == "promoted"
    assert entries["v1"]["metrics"]["accuracy"] == pytest.approx(0.9)
    assert entries["v2"]["status"] == "rejected" and not entries["v2"]["champion"]
    assert entries["v3"]["status"] == "unregistered"
    assert entries["v3"]["model"] == "nbsvm"
    assert entries["v3"]["metrics"] is None


# --- the commands ----------------------------------------------------------------------


def test_models_command_prints_a_table_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_evaluated(tmp_path, "v1", range(40), model="mlp")
    gate_and_record(tmp_path, "v1", LENIENT)
    assert main(["--home", str(tmp_path), "models"]) == 0
    table = capsys.readouterr().out
    assert "v1" in table and "mlp" in table and "*" in table and "0.9000" in table
    assert main(["--home", str(tmp_path), "models", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["version"] == "v1"
    assert listed[0]["model"] == "mlp"
    assert listed[0]["status"] == "promoted"
    assert listed[0]["champion"] is True
    assert listed[0]["metrics"]["accuracy"] == pytest.approx(0.9)


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

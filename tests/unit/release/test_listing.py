"""The registry listing and the ``models`` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import main
from sentiment.release.listing import list_models
from sentiment.release.promotion import gate_and_record
from tests.support.registry import LENIENT, make_evaluated


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
    # Every headline metric evaluation.json holds, calibration included.
    recorded = json.loads((tmp_path / "models" / "v1" / "evaluation.json").read_text())["metrics"]
    for name in ("ece", "brier", "roc_auc", "log_loss"):
        assert listed[0]["metrics"][name] == pytest.approx(recorded[name]), name

"""Gating on the real data: train mlp then cnn, evaluate both, check the ledger's decisions.

The expected decisions are recomputed here from the written evaluations and per-review
predictions (floors, then an exact McNemar mid-p with ``math.comb``), never hard-coded:
whichever way the 2-epoch models land, the ledger must agree with their metrics.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from sentiment.release.config import GatePolicy

TEST_ROWS = 25_000


@pytest.fixture
def gate_home(tmp_path: Path, imdb_home: Path, trained_mlp: Any, trained_cnn: Any) -> Path:
    """A home of its own (so no other test's ledger interferes) with both bundles copied."""
    home = tmp_path / "gate-home"
    (home / "raw").mkdir(parents=True)
    # Raw data is only read, so a link suffices.
    (home / "raw" / "imdb").symlink_to(imdb_home / "raw" / "imdb", target_is_directory=True)
    for result in (trained_mlp, trained_cnn):
        shutil.copytree(result.directory, home / "models" / result.version)
    return home


def _correct(bundle: Path, threshold: float) -> tuple[list[str], np.ndarray]:
    table = pq.read_table(bundle / "test_predictions.parquet")
    labels = table.column("label").to_numpy()
    scores = table.column("score").to_numpy()
    predicted = (scores >= threshold).astype(np.int8)
    return table.column("review_id").to_pylist(), predicted == labels


def _exact_mid_p(champion_only: int, challenger_only: int) -> float:
    trials = champion_only + challenger_only
    if trials == 0:
        return 1.0
    upper = sum(math.comb(trials, k) for k in range(champion_only + 1, trials + 1))
    # Integers throughout: a float of comb(trials, k) overflows for large trials.
    return (2 * upper + math.comb(trials, champion_only)) / 2 ** (trials + 1)


def _passes_floors(evaluation: dict[str, Any], policy: GatePolicy) -> bool:
    metrics = evaluation["metrics"]
    return (
        metrics["accuracy"] >= policy.minimum_accuracy
        and metrics["roc_auc"] >= policy.minimum_roc_auc
    )


def test_ledger_decisions_match_the_metrics(
    gate_home: Path, trained_mlp: Any, trained_cnn: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli.main import main
    from sentiment.release.champion import champion_version
    from sentiment.release.evaluation import evaluate_version
    from sentiment.release.ledger import read_ledger
    from sentiment.release.promotion import gate_and_record, record_evaluation

    policy = GatePolicy()
    evaluations = {}
    decisions = {}
    for result in (trained_mlp, trained_cnn):
        evaluations[result.version] = evaluate_version(gate_home, result.version)
        record_evaluation(gate_home, result.version)
        decisions[result.version] = gate_and_record(gate_home, result.version, policy)

    mlp, cnn = evaluations[trained_mlp.version], evaluations[trained_cnn.version]
    for evaluation, name in ((mlp, "mlp"), (cnn, "cnn")):
        metrics = evaluation["metrics"]
        matrix = metrics["confusion_matrix"]
        assert evaluation["model"] == name
        assert evaluation["test_data"]["rows"] == TEST_ROWS
        assert sum(matrix.values()) == TEST_ROWS
        assert metrics["accuracy"] == pytest.approx(
            (matrix["true_positive"] + matrix["true_negative"]) / TEST_ROWS
        )
        interval = metrics["accuracy_interval"]
        assert interval["lower"] < metrics["accuracy"] < interval["upper"]
        assert interval["upper"] - interval["lower"] < 0.02
        # Two tutorial epochs land well above chance (published: 86.9% and 87.8%).
        assert metrics["accuracy"] > 0.84
        assert metrics["roc_auc"] > 0.9
    assert mlp["test_data"]["rows_sha256"] == cnn["test_data"]["rows_sha256"]

    # The first model has no champion: floors only.
    mlp_promoted = _passes_floors(mlp, policy)
    assert decisions[trained_mlp.version].promoted is mlp_promoted
    # The second is compared with the mlp only if the mlp became champion.
    cnn_expected = _passes_floors(cnn, policy)
    if mlp_promoted:
        # Each model labels at its own threshold, the one chosen on validation.
        ids_mlp, correct_mlp = _correct(
            gate_home / "models" / trained_mlp.version, mlp["metrics"]["threshold"]
        )
        ids_cnn, correct_cnn = _correct(
            gate_home / "models" / trained_cnn.version, cnn["metrics"]["threshold"]
        )
        assert ids_mlp == ids_cnn
        champion_only = int(np.count_nonzero(correct_mlp & ~correct_cnn))
        challenger_only = int(np.count_nonzero(correct_cnn & ~correct_mlp))
        p_value = _exact_mid_p(champion_only, challenger_only)
        assert decisions[trained_cnn.version].comparison.p_value_worse == pytest.approx(
            p_value, rel=1e-6, abs=1e-12
        )
        cnn_expected = cnn_expected and p_value >= policy.significance
        # Both were trained on the same data snapshot, so the challenger must moreover
        # be significantly better (no churn on unchanged data).
        assert trained_mlp.metadata["data_snapshot"] == trained_cnn.metadata["data_snapshot"]
        p_better = _exact_mid_p(challenger_only, champion_only)
        cnn_expected = cnn_expected and p_better < policy.significance
    assert decisions[trained_cnn.version].promoted is cnn_expected

    decided = [
        (event["event"], event["version"])
        for event in read_ledger(gate_home)
        if event["event"] in ("promoted", "rejected")
    ]
    assert decided == [
        ("promoted" if mlp_promoted else "rejected", trained_mlp.version),
        ("promoted" if cnn_expected else "rejected", trained_cnn.version),
    ]
    expected_champion = (
        trained_cnn.version if cnn_expected else (trained_mlp.version if mlp_promoted else None)
    )
    assert champion_version(gate_home) == expected_champion
    for event in read_ledger(gate_home):
        if event["event"] == "rejected":
            assert event["reasons"], "a rejection must say why"

    # `sentiment models --json` shows the history with the champion marked.
    assert main(["--home", str(gate_home), "models", "--json"]) == 0
    listed = {entry["version"]: entry for entry in json.loads(capsys.readouterr().out)}
    for result, evaluation in ((trained_mlp, mlp), (trained_cnn, cnn)):
        entry = listed[result.version]
        assert entry["metrics"]["accuracy"] == evaluation["metrics"]["accuracy"]
        assert entry["champion"] is (result.version == expected_champion)
        assert entry["status"] == ("promoted" if decisions[result.version].promoted else "rejected")

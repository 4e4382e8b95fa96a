"""The main job on a tiny synthetic archive: ingest, train, gate, score."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from flows.retrain import retrain_flow
from sentiment.core.atomic import file_sha256
from sentiment.data.config import ArchiveConfig
from sentiment.modeling.config import TrainConfig
from sentiment.release.champion import champion_version
from sentiment.release.config import GatePolicy
from sentiment.release.ledger import read_ledger
from tests.support.imdb_tarball import build_archive
from tests.support.reviews import archive_reviews


def test_main_job_promotes_the_first_model_and_scores_the_dump(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "aclImdb_v1.tar.gz", reviews=archive_reviews(40, 25))
    home = tmp_path / "home"

    state = retrain_flow(
        home=str(home),
        archive=ArchiveConfig(source=str(archive), sha256=file_sha256(archive)),
        training=TrainConfig(model="mlp", epochs=2),
        # A tiny synthetic set cannot meet the real floors; the chain is under test here.
        gate=GatePolicy(minimum_accuracy=0.0, minimum_roc_auc=0.0),
        return_state=True,
    )

    summary = state.result()
    version = summary["training"]["version"]
    # A standard state name, so the UI's default filter lists the run; the decision is
    # in the message.
    assert state.name == "Completed" and state.message.startswith("Promoted")
    assert summary["promoted"] is True
    assert champion_version(home) == version
    assert [event["event"] for event in read_ledger(home)][-1] == "promoted"
    scored = pq.read_table(home / "scores" / "unsup.parquet")
    assert scored.num_rows == 25
    assert set(scored.column("model_version").to_pylist()) == {version}
    assert scored.column("sentiment_score").null_count == 0


def test_the_main_job_can_retrain_a_fold_ensemble(tmp_path: Path) -> None:
    from sentiment.modeling.bundle import load_bundle

    archive = build_archive(tmp_path / "aclImdb_v1.tar.gz", reviews=archive_reviews(40, 10))
    home = tmp_path / "home"
    summary = retrain_flow(
        home=str(home),
        archive=ArchiveConfig(source=str(archive), sha256=file_sha256(archive)),
        training=TrainConfig(model="nbsvm", epochs=1, folds=2),
        gate=GatePolicy(minimum_accuracy=0.0, minimum_roc_auc=0.0),
    )

    assert summary["training"]["folds"] == 2
    bundle = load_bundle(Path(summary["training"]["bundle"]))
    assert [fold["fold"] for fold in bundle.metadata["folds"]] == [1, 2]
    assert bundle.metadata["calibration"]["fitted_on"].startswith("out-of-fold")
    assert pq.read_table(home / "scores" / "unsup.parquet").num_rows == 10

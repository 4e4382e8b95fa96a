"""The evaluate flow: a Completed state whose message is the decision, ledger events, artifact."""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

TEXTS = [
    "a great film, great acting",
    "an awful film, awful plot",
    "great plot and a fine cast",
    "boring and awful",
] * 10


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home with a raw test split and two untrained bundles, v1 and v2."""
    from sentiment.encoding.config import VectorizerConfig
    from sentiment.encoding.vocabulary import fit_vectorizer
    from sentiment.modeling.bundle import save_bundle
    from sentiment.modeling.zoo import build_model

    labels = np.array([1, 0, 1, 0] * 10, dtype=np.int8)
    raw = tmp_path / "raw" / "imdb" / "test.parquet"
    raw.parent.mkdir(parents=True)
    pq.write_table(
        pa.table(
            {
                "review_id": [f"test/{index}" for index in range(len(TEXTS))],
                "text": TEXTS,
                "label": pa.array(labels, pa.int8()),
            }
        ),
        raw,
    )
    vectorizer = fit_vectorizer(TEXTS, VectorizerConfig(num_words=30, max_length=8))
    first = save_bundle(
        tmp_path / "models" / "20260101-000000-mlp-0001",
        # Seeded: an untrained model of random weights could by chance score every review
        # right and pass the 1.0 floor below.
        build_model("mlp", vectorizer.config, seed=1),
        vectorizer,
        {"model": {"name": "mlp"}},
    )
    shutil.copytree(first, tmp_path / "models" / "20260101-000001-mlp-0002")
    return tmp_path


def test_evaluate_flow_promotes_then_rejects_and_publishes(home: Path) -> None:
    from prefect.artifacts import Artifact

    from cli.main import main
    from flows.evaluate import evaluate_flow
    from sentiment.release.champion import champion_version
    from sentiment.release.config import GatePolicy
    from sentiment.release.ledger import read_ledger

    state = evaluate_flow(
        home=str(home),
        version="20260101-000000-mlp-0001",
        gate=GatePolicy(minimum_accuracy=0.0, minimum_roc_auc=0.0),
        return_state=True,
    )
    assert state.is_completed()
    # A standard state name, so the UI's default filter lists the run; the decision is
    # in the message.
    assert state.name == "Completed" and state.message.startswith("Promoted")
    result = state.result()
    assert result["decision"] == "promoted"
    assert result["summary"] == state.message
    assert result["evaluation"]["model"] == "mlp"
    assert champion_version(home) == "20260101-000000-mlp-0001"
    assert (home / "models" / "20260101-000000-mlp-0001" / "evaluation.json").exists()

    # The CLI runs the same flow; an unreachable floor rejects the newest bundle.
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = main(["--home", str(home), "evaluate", "latest", "--minimum-accuracy", "1.0"])
    assert status == 0
    assert "Rejected 20260101-000001-mlp-0002: accuracy" in printed.getvalue()
    assert champion_version(home) == "20260101-000000-mlp-0001"
    assert [(event["event"], event["version"][-4:]) for event in read_ledger(home)] == [
        ("registered", "0001"),
        ("evaluated", "0001"),
        ("promoted", "0001"),
        ("registered", "0002"),
        ("evaluated", "0002"),
        ("rejected", "0002"),
    ]
    artifact = Artifact.get("model-evaluation")
    assert artifact is not None
    assert "Rejected 20260101-000001-mlp-0002" in artifact.data
    assert "| minimum_accuracy | **fail** |" in artifact.data
    assert "challenger `20260101-000001-mlp-0002`" in artifact.data
    assert "champion `20260101-000000-mlp-0001`" in artifact.data


def test_bad_gate_setting_fails_before_any_work(home: Path) -> None:
    from flows.evaluate import evaluate_flow
    from sentiment.core.errors import ConfigError

    with pytest.raises(ConfigError, match="significance"):
        # As a deployment run passes it: the flow's parameter validation builds the policy.
        evaluate_flow(home=str(home), version="latest", gate={"significance": 2.0})
    assert not (home / "models" / "ledger.jsonl").exists()

"""Scoring options: reasons from linear bundles, the abstain band, the bundle's threshold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sentiment.core.errors import ConfigError
from sentiment.modeling.bundle import load_bundle
from sentiment.modeling.linear import REASONS_TYPE
from sentiment.scoring.config import ScoringConfig
from sentiment.scoring.outputs import (
    LABEL_COLUMN,
    REASONS_COLUMN,
    SCORE_COLUMN,
    read_scoring_metadata,
)
from sentiment.scoring.results import FileResult
from sentiment.scoring.summary import ScoringSummary
from tests.support.bundles import save_nbsvm
from tests.support.scoring import FakeModel, dump, inputs_of, score_files

SMALL = ScoringConfig(batch_size=4, read_rows=7)


@pytest.fixture(scope="module")
def nbsvm_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_nbsvm(tmp_path_factory.mktemp("models") / "v-nbsvm", "pre", True)[0]


def test_explain_adds_reasons_to_scores_equal_to_keras(
    nbsvm_directory: Path, tmp_path: Path
) -> None:
    source = tmp_path / "in.parquet"
    texts = ["good great film", None, "awful bad plot !", "   ", "not very good"] * 3
    pq.write_table(pa.table({"id": list(range(len(texts))), "text": texts}), source)
    bundle = load_bundle(nbsvm_directory)
    config = ScoringConfig(batch_size=4, read_rows=4, explain=2)
    (result,) = score_files(inputs_of(source), tmp_path / "out", bundle, config)
    assert result.status == "scored", result.reason
    table = pq.read_table(result.output_path)
    assert table.schema.field(REASONS_COLUMN).type == REASONS_TYPE
    reasons = table.column(REASONS_COLUMN).to_pylist()
    assert [value is None for value in reasons] == [
        text is None or not text.strip() for text in texts
    ]
    assert all(1 <= len(value) <= 4 for value in reasons if value is not None)
    scores = table.column(SCORE_COLUMN).to_numpy(zero_copy_only=False)
    reference = load_bundle(nbsvm_directory, compiled=False).predict_texts(texts)
    np.testing.assert_allclose(scores, reference, atol=1e-6, equal_nan=True)
    # Reasons are part of how an output was made: turning them off rescores.
    (again,) = score_files(inputs_of(source), tmp_path / "out", bundle, SMALL)
    assert again.status == "scored"
    assert REASONS_COLUMN not in pq.read_table(again.output_path).schema.names


def test_reasons_of_a_model_that_is_not_linear_are_a_config_error(tmp_path: Path) -> None:
    source = dump(tmp_path / "in.parquet")
    with pytest.raises(ConfigError, match=r"reasons are not available for model .* \(not linear\)"):
        score_files(inputs_of(source), tmp_path / "out", FakeModel(), ScoringConfig(explain=3))
    assert not (tmp_path / "out" / "in.parquet").exists()


def test_scores_inside_the_band_are_uncertain_and_counted(tmp_path: Path) -> None:
    source = dump(tmp_path / "in.parquet")
    band = (0.3, 0.7)
    config = ScoringConfig(batch_size=4, read_rows=7, uncertain=band)
    (result,) = score_files(inputs_of(source), tmp_path / "out", FakeModel(), config)
    table = pq.read_table(result.output_path)
    scores = table.column(SCORE_COLUMN).to_numpy(zero_copy_only=False)
    labels = np.array(table.column(LABEL_COLUMN).to_pylist(), dtype=object)
    inside = (scores >= band[0]) & (scores <= band[1])
    assert inside.any() and (~inside).any()
    assert (labels[inside] == "uncertain").all()
    valid = ~np.isnan(scores)
    assert set(labels[valid & ~inside]) == {"positive", "negative"}
    assert (labels[~valid] == None).all()  # noqa: E711  (no text, no label)
    assert result.profile.uncertain_rows == int(inside.sum())
    assert result.profile.positive_rows == int(((scores >= 0.5) & ~inside).sum())
    summary = ScoringSummary("v", 0.5, str(tmp_path / "out"), (result,), 1.0)
    assert summary.to_dict()["uncertain_rows"] == int(inside.sum())
    assert "uncertain" in summary.to_markdown()
    # The profile stored in the output keeps the count, so a skipped rerun reports it.
    (skipped,) = score_files(inputs_of(source), tmp_path / "out", FakeModel(), config)
    assert skipped.status == "skipped"
    assert FileResult.from_dict(skipped.to_dict()).profile.uncertain_rows == int(inside.sum())
    with pytest.raises(ConfigError, match="uncertain"):
        ScoringConfig(uncertain=(0.7, 0.3))


def test_the_default_threshold_is_the_bundles(tmp_path: Path) -> None:
    source = dump(tmp_path / "in.parquet")
    model = FakeModel()
    model.threshold = 0.8  # type: ignore[attr-defined]
    (result,) = score_files(inputs_of(source), tmp_path / "out", model, SMALL)
    table = pq.read_table(result.output_path)
    scores = table.column(SCORE_COLUMN).to_numpy(zero_copy_only=False)
    labels = np.array(table.column(LABEL_COLUMN).to_pylist(), dtype=object)
    valid = ~np.isnan(scores)
    assert ((scores[valid] >= 0.8) == (labels[valid] == "positive")).all()
    assert ((scores[valid] >= 0.5) & (scores[valid] < 0.8)).any()
    assert read_scoring_metadata(Path(result.output_path))["threshold"] == "0.8"
    # An explicit threshold overrides it, and the old output is not reused.
    config = ScoringConfig(batch_size=4, read_rows=7, threshold=0.5)
    (rescored,) = score_files(inputs_of(source), tmp_path / "out", model, config)
    assert rescored.status == "scored"


@pytest.mark.parametrize("explain", [0, 2])
def test_an_input_holding_a_column_scoring_adds_is_refused_naming_it(
    nbsvm_directory: Path, tmp_path: Path, explain: int
) -> None:
    # Never two columns of one name in an output: whichever the scorer would add.
    source = tmp_path / "in.csv"
    column = REASONS_COLUMN if explain else "sentiment_note"
    source.write_text(f"id,text,{column}\n1,a good film,earlier\n")
    bundle = load_bundle(nbsvm_directory)
    config = ScoringConfig(explain=explain)
    (result,) = score_files(inputs_of(source), tmp_path / "out", bundle, config)
    assert result.status == "failed"
    assert result.reason == (
        f"Input {source} already has the column {column}, which scoring adds; rename that "
        "column or drop it, or score the original file if this is scored output."
    )
    assert not (tmp_path / "out" / "in.csv.parquet").exists()


@pytest.mark.parametrize("workers", [-1, True, 1.5])
def test_a_bad_worker_count_is_refused_in_one_sentence_naming_the_option(workers: object) -> None:
    from sentiment.scoring.config import ClusterConfig

    with pytest.raises(ConfigError, match=r"^workers is .*; set --dask-workers to 0 or more\.$"):
        ClusterConfig(workers=workers)  # type: ignore[arg-type]


def test_a_cluster_runs_in_parallel_only_when_dask_is_asked_for() -> None:
    from sentiment.scoring.config import ClusterConfig

    assert not ClusterConfig().parallel
    assert ClusterConfig(workers=2).parallel
    assert ClusterConfig(address="tcp://127.0.0.1:8786").parallel

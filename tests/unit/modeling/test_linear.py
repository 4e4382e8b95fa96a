"""The compiled linear scorer of nbsvm bundles against their Keras model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from sentiment.core.atomic import file_sha256
from sentiment.core.errors import DataError
from sentiment.encoding.vectorizer import Vectorizer
from sentiment.modeling.bundle import load_bundle
from sentiment.modeling.bundle_files import BUNDLE_FILES, CHECKSUMS_FILE, METADATA_FILE
from sentiment.modeling.linear import (
    LINEAR_WEIGHTS_FILE,
    REASONS_TYPE,
)
from tests.support.bundles import nbsvm_texts, save_nbsvm

REPOSITORY = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Vectorizer]:
    return save_nbsvm(tmp_path_factory.mktemp("models") / "v-nbsvm", "pre", True)


@pytest.mark.parametrize("truncating", ["pre", "post"])
@pytest.mark.parametrize("with_weights", [True, False])
def test_compiled_scores_equal_keras(tmp_path: Path, truncating: str, with_weights: bool) -> None:
    directory, vectorizer = save_nbsvm(tmp_path / "v", truncating, with_weights)
    texts = [*nbsvm_texts(300, 9), "zzz unknown words only", "!"]
    bundle = load_bundle(directory)
    assert bundle.text_scorer is not None
    compiled = bundle.text_scorer.score_texts(pa.array(texts), calibrated=False)
    reference = bundle.predict_token_ids(vectorizer.encode(texts), calibrated=False)
    assert compiled.scores.dtype == np.float32
    np.testing.assert_allclose(compiled.scores, reference, rtol=0, atol=1e-6)
    assert reference.std() > 0.1  # the scores differ, so equality means something
    # The same counts the vectorizer reports.
    _, stats = vectorizer.encode_with_stats(texts)
    assert int(compiled.oov_counts.sum()) == stats.oov_tokens
    assert int(compiled.token_counts.sum()) == stats.tokens


def test_a_bundle_with_saved_weights_loads_no_keras_model(saved: tuple[Path, Vectorizer]) -> None:
    bundle = load_bundle(saved[0])
    assert bundle.text_scorer is not None and bundle._model is None
    # The reference path is still there on demand.
    assert bundle.model.name == "nbsvm"


def test_altered_weights_fall_back_to_the_keras_model(
    saved: tuple[Path, Vectorizer], tmp_path: Path
) -> None:
    directory = tmp_path / "copy"
    directory.mkdir()
    for path in saved[0].iterdir():
        (directory / path.name).write_bytes(path.read_bytes())
    weights = np.load(directory / LINEAR_WEIGHTS_FILE)
    np.save(directory / LINEAR_WEIGHTS_FILE, weights * 2)
    # The bundle's checksums cover the weights: an altered file is refused outright.
    with pytest.raises(DataError, match=rf"{LINEAR_WEIGHTS_FILE}.*does not match the checksum"):
        load_bundle(directory)
    # A bundle whose checksums do not record its weights (saved before they covered every
    # file) still checks them by their fingerprint in the metadata, and folds them anew.
    checksums = {name: file_sha256(directory / name) for name in BUNDLE_FILES}
    (directory / CHECKSUMS_FILE).write_text(json.dumps({"algorithm": "sha256", "files": checksums}))
    bundle = load_bundle(directory)
    assert bundle._model is not None  # folded from Keras, not read from the altered file
    texts = nbsvm_texts(50, 4)
    np.testing.assert_allclose(
        bundle.text_scorer.score_texts(pa.array(texts), calibrated=False).scores,
        bundle.predict_token_ids(saved[1].encode(texts), calibrated=False),
        atol=1e-6,
    )


def test_reasons_are_the_largest_contributions_with_their_ngrams(
    saved: tuple[Path, Vectorizer],
) -> None:
    bundle = load_bundle(saved[0])
    scorer = bundle.text_scorer
    texts = nbsvm_texts(40, 8)
    result = scorer.score_texts(pa.array(texts), explain=2)
    assert result.reasons.type == REASONS_TYPE and len(result.reasons) == len(texts)
    vocabulary = saved[1].vocabulary
    index = {entry: position for position, entry in enumerate(vocabulary)}
    for row, reasons in enumerate(result.reasons.to_pylist()):
        contributions = [reason["contribution"] for reason in reasons]
        positives = [value for value in contributions if value > 0]
        negatives = [value for value in contributions if value < 0]
        assert positives == sorted(positives, reverse=True) and len(positives) <= 2
        assert negatives == sorted(negatives) and len(negatives) <= 2
        assert contributions == positives + negatives
        for reason in reasons:
            assert reason["contribution"] == pytest.approx(
                float(scorer.weights[index[reason["ngram"]]]), abs=1e-7
            )
            assert reason["ngram"] in texts[row] or " " not in reason["ngram"]
        ids = np.unique(saved[1].encode([texts[row]])[0])
        kept = scorer.weights[ids[ids > 1]]
        if (kept > 0).any():
            assert positives[0] == pytest.approx(float(kept.max()), abs=1e-7)
        if (kept < 0).any():
            assert negatives[0] == pytest.approx(float(kept.min()), abs=1e-7)


def test_calibration_and_threshold_come_from_the_metadata(
    saved: tuple[Path, Vectorizer], tmp_path: Path
) -> None:
    directory = tmp_path / "calibrated"
    directory.mkdir()
    for path in saved[0].iterdir():
        (directory / path.name).write_bytes(path.read_bytes())
    metadata = json.loads((directory / METADATA_FILE).read_text())
    metadata["calibration"] = {"method": "platt", "slope": 0.5, "intercept": -0.25}
    metadata["decision_threshold"] = {"value": 0.42}
    (directory / METADATA_FILE).write_text(json.dumps(metadata))
    # Re-recorded as training would have: verification refuses an edited file otherwise.
    checksums = {name: file_sha256(directory / name) for name in BUNDLE_FILES}
    (directory / CHECKSUMS_FILE).write_text(json.dumps({"algorithm": "sha256", "files": checksums}))
    bundle = load_bundle(directory)
    assert bundle.verified and bundle.threshold == 0.42
    texts = nbsvm_texts(20, 2)
    result = bundle.text_scorer.score_texts(pa.array(texts))
    expected = 1 / (1 + np.exp(-(0.5 * result.logits - 0.25)))
    np.testing.assert_allclose(result.scores, expected, atol=1e-6)
    np.testing.assert_allclose(bundle.predict_texts(texts), expected, atol=1e-6)


def test_scoring_a_linear_bundle_imports_no_tensorflow(
    saved: tuple[Path, Vectorizer], tmp_path: Path
) -> None:
    source = tmp_path / "in.parquet"
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"text": nbsvm_texts(30, 6)}), source)
    script = f"""
import sys
from pathlib import Path
from sentiment.modeling.bundle import load_bundle
from sentiment.scoring.config import ScoringConfig
from sentiment.scoring.discovery import discover_inputs
from tests.support.scoring import score_files
bundle = load_bundle(Path({str(saved[0])!r}))
inputs = discover_inputs([{str(source)!r}], output_dir=Path({str(tmp_path / "out")!r})).inputs
(result,) = score_files(inputs, Path({str(tmp_path / "out")!r}), bundle, ScoringConfig(explain=2))
assert result.status == "scored", result.reason
heavy = sorted(name for name in ("tensorflow", "keras") if name in sys.modules)
print("HEAVY", heavy)
"""
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPOSITORY,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "HEAVY []" in completed.stdout

"""read_bundle: a bundle as a scoring run sees it, read once without its model."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from sentiment.encoding.vectorizer import Vectorizer
from sentiment.modeling.bundle import load_bundle
from sentiment.modeling.profile import PROFILE_FILE, profile_texts
from sentiment.modeling.resolved_bundle import read_bundle
from tests.support.bundles import CNN_TEXTS, copy_bundle


def test_read_bundle_gives_identity_threshold_calibration_and_the_training_profile(
    profiled_cnn_bundle: Path, cnn_vectorizer: Vectorizer
) -> None:
    resolved = read_bundle(profiled_cnn_bundle, "path")
    assert (resolved.version, resolved.directory, resolved.source) == (
        profiled_cnn_bundle.name,
        profiled_cnn_bundle,
        "path",
    )
    assert resolved.location == str(profiled_cnn_bundle)
    assert resolved.threshold == 0.42 == resolved.identity.threshold
    assert (resolved.calibration.slope, resolved.calibration.intercept) == (0.5, -0.25)
    # The profile of the texts the model was fitted on, as saved.
    assert resolved.profile == profile_texts([pa.array(CNN_TEXTS)], cnn_vectorizer)
    assert resolved.profile.rows == len(CNN_TEXTS)
    assert resolved.profile.word_tokens == sum(len(text.split()) for text in CNN_TEXTS)
    assert resolved.metadata["model"] == {"name": "cnn"}
    # The same bundle, loaded: the same threshold and calibration.
    bundle = load_bundle(profiled_cnn_bundle)
    assert bundle.verified and bundle.threshold == resolved.threshold
    assert bundle.calibration == resolved.calibration


def test_a_bundle_without_a_profile_has_no_reference(
    cnn_bundle: Path, profiled_cnn_bundle: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert read_bundle(cnn_bundle).profile is None
    # A profile its checksums do not record (dropped in later) is not the bundle's.
    copy = copy_bundle(cnn_bundle, tmp_path / cnn_bundle.name)
    (copy / PROFILE_FILE).write_bytes((profiled_cnn_bundle / PROFILE_FILE).read_bytes())
    with caplog.at_level("WARNING"):
        assert read_bundle(copy).profile is None
    assert PROFILE_FILE in caplog.text
    assert load_bundle(copy).verified

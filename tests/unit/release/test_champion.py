"""``--bundle PATH``: a bundle outside the registry, verified as registry bundles are."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sentiment.core.errors import DataError
from sentiment.modeling.bundle import CHECKSUMS_FILE, VECTORIZER_FILE, new_version, save_bundle
from sentiment.release.champion import explicit_bundle

TEXTS = ["a great film", "an awful film", "fine cast", "boring plot"] * 3


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sentiment.encoding.config import VectorizerConfig
    from sentiment.encoding.vocabulary import fit_vectorizer
    from sentiment.modeling.zoo import build_model

    vectorizer = fit_vectorizer(TEXTS, VectorizerConfig(num_words=30, max_length=8))
    directory = tmp_path_factory.mktemp("elsewhere") / new_version("mlp")
    model = build_model("mlp", vectorizer.config)
    return save_bundle(directory, model, vectorizer, {"model": {"name": "mlp"}})


def test_a_verified_bundle_outside_any_home_is_accepted(saved: Path) -> None:
    version, directory = explicit_bundle(saved)
    assert (version, directory) == (saved.name, saved.resolve())


def test_a_tampered_bundle_is_refused_naming_the_file(saved: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(saved, tmp_path / saved.name)
    payload = json.loads((copy / VECTORIZER_FILE).read_text())
    (copy / VECTORIZER_FILE).write_text(json.dumps(payload, indent=1))
    with pytest.raises(DataError, match=r"vectorizer\.json does not match the checksum"):
        explicit_bundle(copy)


def test_a_bundle_without_checksums_or_a_missing_one_is_refused(
    saved: Path, tmp_path: Path
) -> None:
    copy = shutil.copytree(saved, tmp_path / saved.name)
    (copy / CHECKSUMS_FILE).unlink()
    with pytest.raises(DataError, match=r"has no checksums\.json, so its files cannot be verified"):
        explicit_bundle(copy)
    with pytest.raises(DataError, match="does not exist"):
        explicit_bundle(tmp_path / "nowhere")
    with pytest.raises(DataError, match=r"is missing, so .* is not a complete bundle"):
        explicit_bundle(tmp_path)

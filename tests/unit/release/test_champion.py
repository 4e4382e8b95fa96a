"""``--bundle PATH``: a bundle outside the registry, verified as registry bundles are."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from sentiment.core.atomic import file_sha256
from sentiment.core.errors import DataError
from sentiment.encoding.vectorizer_file import VECTORIZER_FILE
from sentiment.modeling.bundle import new_version, save_bundle
from sentiment.modeling.bundle_cache import BUNDLE_CACHE_VARIABLE, local_bundle
from sentiment.modeling.bundle_files import CHECKSUMS_FILE, MODEL_FILE, verify_bundle
from sentiment.release.champion import explicit_bundle
from tests.support.s3_server import BUCKET, s3  # noqa: F401 - the real S3 server fixture

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


def _upload(s3: pafs.S3FileSystem, saved: Path, prefix: str) -> str:  # noqa: F811 - fixture
    for path in saved.iterdir():
        with s3.open_output_stream(f"{BUCKET}/{prefix}/{saved.name}/{path.name}") as stream:
            stream.write(path.read_bytes())
    return f"s3://{BUCKET}/{prefix}/{saved.name}"


def test_a_bundle_url_is_cached_where_only_this_user_can_write(
    s3: pafs.S3FileSystem,  # noqa: F811
    saved: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(BUNDLE_CACHE_VARIABLE, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    url = _upload(s3, saved, "private")
    version, where = explicit_bundle(url)
    assert (version, where) == (saved.name, url)
    copy = local_bundle(url)
    cache = tmp_path / "cache" / "sentiment" / "bundles"
    assert copy.is_relative_to(cache)
    assert cache.stat().st_mode & 0o777 == 0o700
    # A cache others can write is refused in one sentence, not used.
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv(BUNDLE_CACHE_VARIABLE, str(shared))
    with pytest.raises(DataError, match=rf"{shared} .*is not a directory only you can write"):
        local_bundle(url)


def test_a_planted_copy_of_a_bundle_url_is_replaced_by_the_source(
    s3: pafs.S3FileSystem,  # noqa: F811
    saved: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(BUNDLE_CACHE_VARIABLE, str(tmp_path / "cache"))
    url = _upload(s3, saved, "planted")
    copy = local_bundle(url)
    # Altered weights with checksums.json rewritten to match them: the copy verifies
    # against its own checksums, but not against the object store's.
    (copy / MODEL_FILE).write_bytes((copy / MODEL_FILE).read_bytes() + b"\0")
    payload = json.loads((copy / CHECKSUMS_FILE).read_text())
    payload["files"][MODEL_FILE] = file_sha256(copy / MODEL_FILE)
    (copy / CHECKSUMS_FILE).write_text(json.dumps(payload))
    copy = local_bundle(url)
    assert (copy / MODEL_FILE).read_bytes() == (saved / MODEL_FILE).read_bytes()
    assert verify_bundle(copy)
    # A source without checksums is refused, whatever a cached copy holds.
    s3.delete_file(f"{url.removeprefix('s3://')}/{CHECKSUMS_FILE}")
    with pytest.raises(DataError, match=r"has no checksums\.json, so its files cannot be"):
        explicit_bundle(url)

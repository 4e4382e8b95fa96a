"""The IMDB archive's sources and accepted hashes."""

from __future__ import annotations

import pytest

from sentiment.core.errors import ConfigError
from sentiment.data.archive import (
    OFFICIAL_SHA256,
    REPACKED_MIRROR_SHA256,
    accepted_hashes,
    resolve_sha256,
    resolve_source,
)


def test_known_hashes_are_accepted_without_a_demand() -> None:
    assert accepted_hashes(None) == {OFFICIAL_SHA256, REPACKED_MIRROR_SHA256}
    assert accepted_hashes(OFFICIAL_SHA256.upper()) == {OFFICIAL_SHA256}
    with pytest.raises(ConfigError, match="64 hexadecimal"):
        accepted_hashes("abc123")


def test_environment_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SENTIMENT_IMDB_SOURCE", raising=False)
    monkeypatch.delenv("SENTIMENT_IMDB_SHA256", raising=False)
    assert resolve_source(None).startswith("https://ai.stanford.edu/")
    assert resolve_sha256(None) is None
    monkeypatch.setenv("SENTIMENT_IMDB_SOURCE", "/data/a.tar.gz")
    monkeypatch.setenv("SENTIMENT_IMDB_SHA256", OFFICIAL_SHA256)
    assert resolve_source(None) == "/data/a.tar.gz"
    assert resolve_source("b.tar.gz") == "b.tar.gz"
    assert resolve_sha256(None) == OFFICIAL_SHA256

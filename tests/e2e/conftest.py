"""End-to-end tests run on the real IMDB archive (tests/support/imdb.py)."""

from __future__ import annotations

from tests.support.imdb import (
    imdb_home,
    imdb_source,
    processed_default,
    trained_cnn,
    trained_default,
    trained_mlp,
)

__all__ = [
    "imdb_home",
    "imdb_source",
    "processed_default",
    "trained_cnn",
    "trained_default",
    "trained_mlp",
]

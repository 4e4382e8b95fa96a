"""End-to-end tests run on the real IMDB archive (tests/support/imdb.py) and the short-text
development set (tests/support/short_texts.py)."""

from __future__ import annotations

from tests.support.imdb import (
    imdb_home,
    imdb_source,
    processed_default,
    trained_cnn,
    trained_default,
    trained_mlp,
)
from tests.support.short_texts import short_texts_source

__all__ = [
    "imdb_home",
    "imdb_source",
    "processed_default",
    "short_texts_source",
    "trained_cnn",
    "trained_default",
    "trained_mlp",
]

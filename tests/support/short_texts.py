"""The real short-text development set for end-to-end tests.

Reached only through the product's download step (``sentiment.data.short_texts``), with
the source taken from ``$SENTIMENT_SHORT_TEXTS_SOURCE`` or the shared copy beside the
repository, as the IMDB archive is (``tests/support/imdb.py``). A test that needs it
skips with a clear reason where neither exists.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.imdb import REPOSITORY_ROOT

SHARED_SHORT_TEXTS = REPOSITORY_ROOT.parent / "shared" / "data" / "short-texts" / "sst2_dev.parquet"


@pytest.fixture(scope="session")
def short_texts_source() -> str:
    """The development set's source the download step should read, or skip."""
    source = os.environ.get("SENTIMENT_SHORT_TEXTS_SOURCE")
    local = source and not source.startswith(("http://", "https://"))
    if local and Path(source.removeprefix("file://")).exists():
        return source
    if SHARED_SHORT_TEXTS.exists():
        return str(SHARED_SHORT_TEXTS)
    pytest.skip(
        "the short-text development set is absent: set SENTIMENT_SHORT_TEXTS_SOURCE to a "
        f"local copy of sst2_dev.parquet (looked for {SHARED_SHORT_TEXTS})"
    )

"""Every flow test runs against the session's temporary Prefect server."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _use_prefect_harness(prefect_harness: None) -> None:
    """Request the session-scoped harness for every test in this folder."""

"""Fixtures shared by every test layer."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# TensorFlow's start-up chatter is noise in test output. The same oneDNN setting in
# this process and in every process a test starts (Dask workers, Prefect workers), as
# the product's quiet import sets it: oneDNN's kernels round differently, so scores
# compared bit for bit across processes would differ in the last float32 bit.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
# The temporary server's telemetry write races its own start-up and prints a
# "database is locked" traceback; nothing in the tests needs it or the UI.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_UI_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
# Library functions also run outside flow runs here; their logs then stay local.
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect server and database for the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield

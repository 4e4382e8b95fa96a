"""Settings and fixtures shared by every test layer; the fixtures live in tests/support."""

from __future__ import annotations

import os

import pytest

from tests.support.bundles import (
    champion_home,
    cnn_bundle,
    cnn_model,
    cnn_vectorizer,
    profiled_cnn_bundle,
    trained_bundle,
)
from tests.support.dask_cluster import cluster
from tests.support.prefect_harness import prefect_harness
from tests.support.s3_server import s3
from tests.support.tiers import mark_tiers

# Fixtures every test can request, by name.
__all__ = [
    "champion_home",
    "cluster",
    "cnn_bundle",
    "cnn_model",
    "cnn_vectorizer",
    "prefect_harness",
    "profiled_cnn_bundle",
    "s3",
    "trained_bundle",
]

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
# A command run without a configured server starts its home's server; a test's home is
# gone after the test, so its server stops soon after the test's last command.
os.environ.setdefault("SENTIMENT_SERVER_IDLE_SECONDS", "10")
# Library functions also run outside flow runs here; their logs then stay local.
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
# The library's logs go to the terminal and the run logs, as the CLI and make set it.
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "sentiment")


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_tiers(items)

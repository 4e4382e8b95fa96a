"""The test tiers: markers given by folder and by the real components a test starts.

``pyproject.toml`` registers the markers; ``tests/conftest.py`` applies them. A test
carries ``slow`` explicitly (``@pytest.mark.slow``): a tier of its own (``make test-slow``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
# The marker every test under a folder of tests/ carries.
FOLDER_MARKERS = {"flows": "server", "e2e": "e2e"}
# The marker of a test that requests a fixture starting a real component.
FIXTURE_MARKERS = {
    "prefect_harness": "server",
    "cluster": "cluster",
    "s3": "s3",
}


def mark_tiers(items: list[pytest.Item]) -> None:
    """Give each collected test the markers of its folder and of the components it starts."""
    for item in items:
        path = Path(str(item.path)).resolve()
        names = set()
        if path.is_relative_to(TESTS):
            folder = path.relative_to(TESTS).parts[0]
            names.add(FOLDER_MARKERS.get(folder, ""))
        names.update(FIXTURE_MARKERS.get(name, "") for name in getattr(item, "fixturenames", ()))
        for name in sorted(names - {""}):
            item.add_marker(name)

"""How preprocessing's worker processes start."""

from __future__ import annotations

import sys
import types

import pytest

import sentiment.data.workers as workers_module


def test_workers_are_forked_only_without_a_threaded_framework(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in workers_module._FORK_UNSAFE_MODULES:
        monkeypatch.delitem(sys.modules, name, raising=False)
    assert workers_module._start_method() == "fork"
    monkeypatch.setitem(sys.modules, "tensorflow", types.ModuleType("tensorflow"))
    assert workers_module._start_method() == "forkserver"

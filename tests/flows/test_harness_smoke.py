from __future__ import annotations

from prefect import flow, task


@task
def _double(value: int) -> int:
    return value * 2


@flow
def _tiny_flow(value: int) -> int:
    return _double(value)


def test_tiny_flow_runs_under_the_harness() -> None:
    assert _tiny_flow(21) == 42

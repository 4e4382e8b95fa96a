"""prefect.yaml must point at real flows with parameters those flows accept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect.flows import load_flow_from_entrypoint

PREFECT_YAML = Path(__file__).resolve().parents[2] / "prefect.yaml"


def _deployments() -> list[dict[str, Any]]:
    return yaml.safe_load(PREFECT_YAML.read_text())["deployments"]


def test_prefect_yaml_declares_a_scheduled_retrain() -> None:
    scheduled = [d for d in _deployments() if d.get("schedules")]
    assert any(d["entrypoint"].endswith(":retrain_flow") for d in scheduled)


@pytest.mark.parametrize("deployment", _deployments(), ids=lambda d: d["name"])
def test_deployment_parameters_validate_against_its_flow(deployment: dict[str, Any]) -> None:
    flow = load_flow_from_entrypoint(deployment["entrypoint"])
    parameters = dict(deployment.get("parameters") or {})
    if "version" in flow.parameters.properties and "version" not in parameters:
        parameters["version"] = "latest"
    validated = flow.validate_parameters(parameters)
    assert set(parameters) <= set(validated)

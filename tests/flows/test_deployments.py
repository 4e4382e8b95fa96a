"""prefect.yaml must point at real flows, repeat no default and never prompt."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect.flows import load_flow_from_entrypoint

from sentiment.data.config import ArchiveConfig
from sentiment.encoding.config import VectorizerConfig
from sentiment.modeling.config import TrainConfig
from sentiment.release.config import GatePolicy
from sentiment.scoring.config import DriftThresholds, ScoringConfig

PREFECT_YAML = Path(__file__).resolve().parents[2] / "prefect.yaml"


def _config() -> dict[str, Any]:
    return yaml.safe_load(PREFECT_YAML.read_text())


def _deployments() -> list[dict[str, Any]]:
    return _config()["deployments"]


def test_the_four_deployments_and_their_schedules() -> None:
    deployments = {d["name"]: d for d in _deployments()}
    assert sorted(deployments) == ["evaluate", "retrain", "score", "score-inbox"]
    assert deployments["retrain"]["entrypoint"].endswith(":retrain_flow")
    assert [s.get("cron") for s in deployments["retrain"]["schedules"]] == ["0 3 * * 1"]
    assert [s.get("interval") for s in deployments["score-inbox"]["schedules"]] == [600]
    assert deployments["retrain"]["concurrency_limit"] == 1


@pytest.mark.parametrize("deployment", _deployments(), ids=lambda d: d["name"])
def test_deploy_asks_no_question(deployment: dict[str, Any]) -> None:
    # A missing schedules key or work pool makes `prefect deploy` prompt.
    assert "schedules" in deployment
    assert deployment["work_pool"]["name"]
    assert deployment["concurrency_limit"] >= 1


def test_code_and_home_never_follow_the_deploy_directory() -> None:
    config = _config()
    (step,) = config["pull"]
    directory = step["prefect.deployments.steps.set_working_directory"]["directory"]
    assert directory == "{{ $SENTIMENT_CODE_DIR }}"
    for deployment in config["deployments"]:
        env = deployment["work_pool"]["job_variables"]["env"]
        assert env["SENTIMENT_HOME"] == "{{ $SENTIMENT_HOME }}"


@pytest.mark.parametrize("deployment", _deployments(), ids=lambda d: d["name"])
def test_parameters_are_typed_described_and_repeat_no_default(
    deployment: dict[str, Any],
) -> None:
    flow = load_flow_from_entrypoint(deployment["entrypoint"])
    schema = flow.parameters.model_dump()
    for name, spec in schema["properties"].items():
        assert spec.get("description"), f"{deployment['name']}: {name} has no description"
        assert "type" in spec or "anyOf" in spec or "$ref" in spec or "allOf" in spec, name
    # A value set in prefect.yaml must equal the flow's default, or it hides a change.
    for name, value in (deployment.get("parameters") or {}).items():
        assert schema["properties"][name].get("default") == value, name


def test_settings_objects_are_forms_whose_fields_carry_the_configs_help() -> None:
    entrypoints = {d["name"]: d["entrypoint"] for d in _deployments()}
    definitions = {
        name: definition
        for deployment in ("retrain", "evaluate", "score", "score-inbox")
        for name, definition in load_flow_from_entrypoint(entrypoints[deployment])
        .parameters.model_dump()["definitions"]
        .items()
    }
    configs = (TrainConfig, VectorizerConfig, GatePolicy, ArchiveConfig)
    for config in (*configs, ScoringConfig, DriftThresholds):
        properties = definitions[config.__name__]["properties"]
        for field in dataclasses.fields(config):
            if "help" in field.metadata:
                described = properties[field.name].get("description")
                assert described == field.metadata["help"], f"{config.__name__}.{field.name}"

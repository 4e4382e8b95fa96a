"""``sentiment deployment run NAME``: start a deployment's run on the home's server.

The home's server is found (or started) as every command finds it
(:func:`cli.server.load_flow`), so no ``PREFECT_API_URL`` is set by hand; its
deployments are those ``make server`` deployed.
"""

from __future__ import annotations

import argparse
import json
import os

from cli.server import load_flow
from sentiment.core.errors import SentimentError


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``deployment run``."""
    deployment = subparsers.add_parser(
        "deployment",
        help="Start a deployment's run on the home's Prefect server.",
        description="Act on the deployments of prefect.yaml on the home's Prefect server "
        "(deployed by `make server`); no environment needs setting.",
    )
    actions = deployment.add_subparsers(dest="action", required=True)
    run = actions.add_parser(
        "run",
        help="Start a run of a deployment now (retrain, score-inbox, score, evaluate).",
        description="Start a run of the named deployment now, as its schedule or the UI's "
        "Run button would, and print its name and address in the UI; with --wait, wait "
        "for it to end and exit 1 unless it completed.",
    )
    run.add_argument("name", help="The deployment: retrain, score-inbox, score or evaluate.")
    run.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=JSON",
        help="A parameter of the run (JSON value, or text): --param version='\"latest\"'.",
    )
    run.add_argument("--wait", action="store_true", help="Wait for the run to end.")
    run.set_defaults(handler=_run)


def _parameters(pairs: list[str]) -> dict[str, object]:
    parameters: dict[str, object] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise SentimentError(f"--param {pair!r} is not KEY=VALUE; write it as key=value.")
        try:
            parameters[key] = json.loads(value)
        except json.JSONDecodeError:
            parameters[key] = value
    return parameters


def _run(arguments: argparse.Namespace) -> int:
    parameters = _parameters(arguments.param)
    run_deployment = load_flow("prefect.deployments", "run_deployment")
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    api_url = os.environ.get("PREFECT_API_URL", "")

    name = arguments.name if "/" in arguments.name else f"{arguments.name}/{arguments.name}"
    try:
        run = run_deployment(
            name, parameters=parameters, timeout=None if arguments.wait else 0, poll_interval=2
        )
    except ObjectNotFound:
        with get_client(sync_client=True) as client:
            known = sorted(deployment.name for deployment in client.read_deployments())
        raise SentimentError(
            f"There is no deployment {arguments.name!r} on the server at {api_url}; its "
            f"deployments are: {', '.join(known) or 'none (run `make server` to deploy)'}."
        ) from None
    ui_url = api_url.removesuffix("/").removesuffix("/api")
    print(f"Started {run.name} of deployment {name}: {ui_url}/runs/flow-run/{run.id}")
    if not arguments.wait:
        return 0
    state = run.state
    print(f"{run.name}: {state.name if state else 'unknown'}: {state.message if state else ''}")
    return 0 if state is not None and state.is_completed() else 1

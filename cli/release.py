"""``sentiment evaluate``, ``models``, ``promote``, ``rollback`` and ``history``: the registry
and how the champion and the inbox fared over time."""

from __future__ import annotations

import argparse
import json

from cli.options import add_config_options, config_from
from cli.server import load_flow
from sentiment.release.config import GatePolicy


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register the registry commands."""
    evaluate = subparsers.add_parser(
        "evaluate",
        help="Evaluate a bundle on the test split, gate it against the champion, record it.",
        description="Score the IMDB test split with models/VERSION, write its evaluation "
        "(accuracy with a 95% confidence interval, ROC AUC, calibration, per-source slices), "
        "then gate it against the champion: promoted if it passes every rule, else "
        "rejected, recorded in the ledger either way. Exits 0 on a rejection too.",
    )
    evaluate.add_argument(
        "version", help="Model version (see `sentiment models`), or 'latest' for the newest."
    )
    add_config_options(evaluate.add_argument_group("gate"), GatePolicy)
    evaluate.set_defaults(handler=_evaluate)

    models = subparsers.add_parser(
        "models",
        help="List model versions: metrics, gate status, champion (read-only).",
        description="List every bundle under <home>/models/ with its model, test accuracy "
        "(95% confidence interval), ROC AUC and gate status (promoted, rejected, not "
        "evaluated); * marks the champion, the model `sentiment score` uses by default. "
        "Changes nothing.",
    )
    models.add_argument("--json", action="store_true", help="Print JSON instead of a table.")
    models.set_defaults(handler=_models)

    promote = subparsers.add_parser(
        "promote",
        help="Make a version the champion past the gate (audited override).",
        description="Make an evaluated version the champion although the gate did not promote "
        "it: --force and a --reason are required, and the override is recorded in the "
        "ledger with your user name. Emits sentiment.model.promoted, so the automation "
        "rescores the inbox with the new champion.",
    )
    promote.add_argument("version", help="An evaluated model version.")
    promote.add_argument(
        "--force", action="store_true", help="Override the gate; requires --reason."
    )
    promote.add_argument("--reason", default=None, help="Why the gate is overridden (recorded).")
    promote.set_defaults(handler=_promote)

    rollback = subparsers.add_parser(
        "rollback",
        help="Return the champion to the previously promoted version.",
        description="Make the champion before the current one the champion again, recorded "
        "in the ledger with --reason. Emits sentiment.model.promoted for the restored "
        "version, so the automation rescores the inbox with it.",
    )
    rollback.add_argument("--reason", default=None, help="Why (recorded in the ledger).")
    rollback.set_defaults(handler=_rollback)

    history = subparsers.add_parser(
        "history",
        help="The champion and the inbox run by run: accuracy, positive share, drift.",
        description="Print one row per retrain and inbox run, oldest first: the champion "
        "and its test accuracy (95% confidence interval), the inbox rows scored, their "
        "positive share, out-of-vocabulary rate, uncertain share and drift verdict. The "
        "same as the sentiment-trends artifact. Changes nothing.",
    )
    history.add_argument("--json", action="store_true", help="Print JSON lines instead.")
    history.set_defaults(handler=_history)


def _evaluate(arguments: argparse.Namespace) -> int:
    from sentiment.release.champion import bundle_directory, resolve_version

    # Bad input fails here in one line, before a Prefect server and flow run start.
    gate = config_from(arguments, GatePolicy)
    version = resolve_version(arguments.home, arguments.version)
    bundle_directory(arguments.home, version)
    evaluate_flow = load_flow("flows.evaluate", "evaluate_flow")

    result = evaluate_flow(home=str(arguments.home), version=version, gate=gate)
    # A rejection is the gate working, not a failure of the command: exit 0 either way.
    print(result["summary"])
    return 0


def _format_accuracy(entry: dict) -> str:
    metrics = entry.get("metrics") or {}
    accuracy = metrics.get("accuracy")
    if accuracy is None:
        return "-"
    lower, upper = metrics.get("accuracy_lower"), metrics.get("accuracy_upper")
    if lower is None or upper is None:
        return f"{accuracy:.4f}"
    return f"{accuracy:.4f} [{lower:.4f}, {upper:.4f}]"


def _models(arguments: argparse.Namespace) -> int:
    from sentiment.release.listing import list_models

    entries = list_models(arguments.home)
    if arguments.json:
        print(json.dumps(entries, indent=2))
        return 0
    if not entries:
        print(f"No models under {arguments.home}; run `sentiment train` first.")
        return 0
    header = ("", "version", "model", "accuracy [95% CI]", "ROC AUC", "status")
    rows = [header]
    for entry in entries:
        roc_auc = (entry.get("metrics") or {}).get("roc_auc")
        status = entry["status"] + (f" ({entry['problem']})" if entry.get("problem") else "")
        rows.append(
            (
                "*" if entry["champion"] else "",
                entry["version"],
                entry.get("model") or "-",
                _format_accuracy(entry),
                "-" if roc_auc is None else f"{roc_auc:.4f}",
                status,
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())
    if any(entry["champion"] for entry in entries):
        print("* = champion (the model `sentiment score` uses by default)")
    else:
        print("No champion yet: `sentiment evaluate VERSION` promotes one that passes the gate.")
    return 0


def _promote(arguments: argparse.Namespace) -> int:
    from sentiment.release.promotion import promote

    event = promote(
        arguments.home, arguments.version, reason=arguments.reason, force=arguments.force
    )
    previous = event.get("previous_champion") or "none"
    print(
        f"{arguments.version} is now the champion (forced by {event['user']}; previous "
        f"champion: {previous}; reason: {event['reason']})."
    )
    _announce(
        arguments,
        arguments.version,
        f"forced by {event['user']}",
        event["reason"],
        event.get("previous_champion"),
    )
    return 0


def _rollback(arguments: argparse.Namespace) -> int:
    from sentiment.release.promotion import rollback

    event = rollback(arguments.home, reason=arguments.reason)
    print(f"Rolled back: {event['to_version']} is the champion again (was {event['version']}).")
    _announce(
        arguments,
        event["to_version"],
        f"rollback by {event['user']}",
        event.get("reason"),
        event["version"],
    )
    return 0


def _announce(
    arguments: argparse.Namespace,
    version: str,
    cause: str,
    reason: str | None,
    previous: str | None,
) -> None:
    """Tell the home's Prefect server (the one every command records its runs on) of the
    new champion: emit ``sentiment.model.promoted``, so its automation rescores the inbox
    as after a gated promotion, and republish the ``sentiment-champion`` card, so the UI
    shows the new champion. None is started for it: with no server running, no
    automation or schedule runs either, and ``make server`` publishes the card as it
    starts."""
    from cli import home_server
    from cli.server import api_configured
    from sentiment.core.paths import HomeLayout

    if not api_configured():
        state = home_server.running_state(HomeLayout(arguments.home))
        if not state or not home_server.healthy(state["PREFECT_API_URL"]):
            print(
                "No Prefect server runs for this home, so no sentiment.model.promoted event "
                "was sent; the inbox's next run scores with the new champion."
            )
            return
    emit_champion_change = load_flow("tasks.events", "emit_champion_change")
    # A task run of its own: Prefect deprecates artifacts made outside a run.
    publish_champion = load_flow("tasks.evaluate", "publish_champion_task")
    home = str(arguments.home)
    if emit_champion_change(version, cause=cause, reason=reason, previous=previous, home=home):
        print(f"Emitted sentiment.model.promoted for {version}: the inbox is rescored with it.")
    publish_champion(home)
    print(f"The sentiment-champion artifact now shows {version}.")


def _history(arguments: argparse.Namespace) -> int:
    from sentiment.scoring.trends import read_trends, trends_text

    rows = read_trends(arguments.home)
    if arguments.json:
        for row in rows:
            print(json.dumps(row, sort_keys=True))
        return 0
    if not rows:
        print(f"No runs recorded under {arguments.home} yet: a retrain or inbox run adds one.")
        return 0
    print(trends_text(rows))
    return 0

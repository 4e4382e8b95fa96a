"""``sentiment add-labels`` and ``sentiment snapshots``: labelled data and data snapshots."""

from __future__ import annotations

import argparse
import json

from cli.options import add_config_options, given
from sentiment.data.config import LabelsConfig


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``add-labels`` and ``snapshots``."""
    add = subparsers.add_parser(
        "add-labels",
        help="Take labelled review files in as new batches of the training data.",
        description="Read each file (Parquet, CSV or JSON lines, optionally gzipped), refuse "
        "rows without text or a readable label (into <home>/labelled/rejected/), leave out "
        "texts already in IMDB or an earlier batch, and add the rest as an immutable batch "
        "of a new data snapshot; the next `sentiment run` trains on it. Exits 0 if any row "
        "was accepted (or the file was taken in before), 1 if none.",
    )
    add.add_argument("files", nargs="+", metavar="FILE", help="Labelled review files.")
    names = add_config_options(add, LabelsConfig)
    add.add_argument("--json", action="store_true", help="Print the counts as JSON.")
    add.set_defaults(handler=_add_labels, options=names)

    snapshots = subparsers.add_parser(
        "snapshots", help="List the data snapshots and the batches each holds (read-only)."
    )
    snapshots.add_argument("--json", action="store_true", help="Print JSON instead of a table.")
    snapshots.set_defaults(handler=_snapshots)


def _add_labels(arguments: argparse.Namespace) -> int:
    from sentiment.data.labels import add_labels

    config = LabelsConfig(**given(arguments, arguments.options))
    results = [add_labels(arguments.home, path, config) for path in arguments.files]
    if arguments.json:
        print(json.dumps([result.to_dict() for result in results], indent=2))
    else:
        for result in results:
            print(result.summary())
    taken = any(result.accepted or result.already_taken_in for result in results)
    if not taken:
        print("No row was accepted: every valid row is already in the training or test data.")
    return 0 if taken else 1


def _snapshots(arguments: argparse.Namespace) -> int:
    from sentiment.data.snapshot import describe_snapshots

    entries = describe_snapshots(arguments.home)
    if arguments.json:
        print(json.dumps(entries, indent=2))
        return 0
    for entry in entries:
        marker = "*" if entry["current"] else " "
        rows = entry["rows"]
        print(
            f"{marker} {entry['sequence']:>3}  {entry['id']}  train {rows['train']:,}  "
            f"test {rows['test']:,}  {entry['created_at'] or 'IMDB only'}"
        )
        for batch in entry["batches"]:
            print(
                f"        {batch['batch']}  {batch['source']}: {batch['train']:,} train, "
                f"{batch['test']:,} test"
            )
    print("* = current (what the next `sentiment run` trains on)")
    return 0

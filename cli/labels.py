"""``sentiment label-queue``, ``sentiment add-labels`` and ``sentiment snapshots``: what to
label next, labelled data and data snapshots."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cli.options import add_config_options, config_from, given
from sentiment.data.config import LabelsConfig
from sentiment.labelling.config import QueueConfig


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``label-queue``, ``add-labels`` and ``snapshots``."""
    queue = subparsers.add_parser(
        "label-queue",
        help="Write the scored reviews the champion is least sure of as a CSV to label.",
        description="Pick the scored reviews closest to the champion's decision threshold, "
        "in turn from each scored file, leaving out reviews already labelled or queued and "
        "near-duplicates; write them with an empty 'label' column (default: "
        "<home>/to-label/queue-<time>.csv). Fill it (positive/negative), even partly, and "
        "give it back with `sentiment add-labels FILE --source NAME`.",
    )
    add_config_options(queue, QueueConfig)
    queue.add_argument(
        "--from",
        dest="inputs",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="Scored files or directories (default: <home>/scored and <home>/scores).",
    )
    queue.add_argument("--output", type=Path, help="The queue file to write (CSV).")
    queue.add_argument("--json", action="store_true", help="Print the result as JSON.")
    queue.set_defaults(handler=_label_queue)

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
        "snapshots",
        help="List the data snapshots and the batches each holds (read-only).",
        description="List every data snapshot under <home>/labelled/snapshots/: its id, when "
        "it was made, the labelled batches it holds on top of IMDB and their row counts. The "
        "newest is what the next `sentiment retrain` trains on. Changes nothing.",
    )
    snapshots.add_argument("--json", action="store_true", help="Print JSON instead of a table.")
    snapshots.set_defaults(handler=_snapshots)


def _label_queue(arguments: argparse.Namespace) -> int:
    from sentiment.labelling.queue import build_queue

    result = build_queue(
        arguments.home, config_from(arguments, QueueConfig), arguments.inputs, arguments.output
    )
    if arguments.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        for path, reason in result.skipped_files.items():
            print(f"Left out {path}: {reason}.")
        print(result.summary())
    return 0


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

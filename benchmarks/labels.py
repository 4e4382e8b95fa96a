"""Benchmark labelled-data intake and retraining.

Measures, on the real IMDB data:

* ``add-labels`` throughput (rows/s) on a 10,000-row labelled Parquet file (first halves
  of IMDB train reviews, so they are new texts), each round in a fresh home sharing the
  ingested raw files (the first round also builds the IMDB text index);
* a retrain with nothing new, inside the flow (``retrain_flow`` in this process) and
  through the CLI (``sentiment run`` in a fresh process, Prefect server start included);
* with ``--batch-retrain``, a retrain after adding the 10,000-row batch (it trains).

Usage::

    SENTIMENT_IMDB_SOURCE=/work/shared/data/aclImdb_v1.tar.gz \\
        python -m benchmarks.labels --home /tmp/labels-bench --model mlp --epochs 1

Prints one JSON object with every figure; medians over ``--rounds``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq


def _labelled_file(home: Path, path: Path, rows: int) -> Path:
    raw = pq.read_table(home / "raw" / "imdb" / "train.parquet").slice(0, rows)
    texts = [text[: len(text) // 2] for text in raw.column("text").to_pylist()]
    labels = ["pos" if label else "neg" for label in raw.column("label").to_pylist()]
    pq.write_table(pa.table({"text": texts, "label": labels}), path)
    return path


def _fresh_home(base: Path, name: str) -> Path:
    home = base.parent / f"{base.name}-{name}"
    shutil.rmtree(home, ignore_errors=True)
    (home / "raw").mkdir(parents=True)
    (home / "raw" / "imdb").symlink_to(base / "raw" / "imdb", target_is_directory=True)
    return home


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--model", default="mlp")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-retrain", action="store_true")
    arguments = parser.parse_args()
    home = arguments.home.resolve()
    source = os.environ.get("SENTIMENT_IMDB_SOURCE", "/work/shared/data/aclImdb_v1.tar.gz")
    from sentiment.data.config import ArchiveConfig
    from sentiment.modeling.config import TrainConfig

    settings: dict[str, Any] = {
        "home": str(home),
        "archive": ArchiveConfig(source=source),
        "training": TrainConfig(model=arguments.model, epochs=arguments.epochs),
        "score_inputs": [],
    }
    figures: dict[str, Any] = {"rows": arguments.rows, "model": arguments.model}

    from sentiment.data.ingest import ingest_imdb
    from sentiment.data.labels import add_labels

    ingest_imdb(source=source, home=home)
    labelled = _labelled_file(home, home.parent / f"{home.name}-labels.parquet", arguments.rows)

    intake_seconds, first = [], None
    for index in range(arguments.rounds):
        fresh = _fresh_home(home, f"intake{index}")
        started = time.perf_counter()
        result = add_labels(fresh, labelled)
        intake_seconds.append(time.perf_counter() - started)
        first = first or result
        shutil.rmtree(fresh)
    figures["add_labels_seconds"] = [round(value, 3) for value in intake_seconds]
    figures["add_labels_rows_per_second"] = round(
        arguments.rows / statistics.median(intake_seconds)
    )
    figures["accepted"] = first.accepted if first else None

    from flows.retrain import retrain_flow
    from sentiment.release.config import GatePolicy

    lenient = GatePolicy(minimum_accuracy=0.0, minimum_roc_auc=0.0)

    # A champion trained on the current snapshot (trains once, not timed).
    retrain_flow(**settings, gate=lenient)
    flow_seconds = []
    for _ in range(arguments.rounds):
        started = time.perf_counter()
        summary = retrain_flow(**settings)
        flow_seconds.append(time.perf_counter() - started)
        assert summary["up_to_date"], summary
    figures["retrain_nothing_new_flow_seconds"] = [round(value, 2) for value in flow_seconds]
    cli_seconds = []
    for _ in range(arguments.rounds):
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "cli.main",
                "--home",
                str(home),
                "run",
                "--model",
                arguments.model,
                "--epochs",
                str(arguments.epochs),
                "--score",
            ],
            check=True,
            capture_output=True,
            env={**os.environ, "SENTIMENT_IMDB_SOURCE": source},
        )
        cli_seconds.append(time.perf_counter() - started)
    figures["retrain_nothing_new_cli_seconds"] = [round(value, 2) for value in cli_seconds]

    if arguments.batch_retrain:
        add_labels(home, labelled)
        started = time.perf_counter()
        summary = retrain_flow(**settings, gate=lenient)
        figures["retrain_with_batch_seconds"] = round(time.perf_counter() - started, 1)
        figures["retrain_with_batch_decision"] = summary["decision"]
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()

"""Benchmark of the evaluation and registry stage; prints figures, asserts nothing.

Usage::

    nice -n 10 .venv/bin/python -m benchmarks.evaluation --home HOME \\
        [--version V ...] [--appends 2000]

Each named bundle (default: every bundle under ``home/models``) is copied into a
temporary home beside a link to the raw data, so the real home is never written. For
each: seconds to load the test split, load the bundle, score 25k raw reviews and write
the evaluation; then the gate's decision time, ``list_models`` time, and ledger append
throughput with two concurrent writer processes.
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import tempfile
import time
from pathlib import Path

from sentiment.modeling.bundle import load_bundle
from sentiment.release.evaluation import bundle_model_name, evaluate_scorer
from sentiment.release.ledger import REGISTERED, locked_ledger, new_event, read_ledger
from sentiment.release.listing import list_models
from sentiment.release.promotion import gate_and_record, record_evaluation
from sentiment.release.test_split import load_test_split


def _append(home: str, writer: int, count: int) -> None:
    for index in range(count):
        with locked_ledger(Path(home)) as ledger:
            ledger.append(new_event(REGISTERED, f"w{writer}-{index}", {"writer": writer}))


def _ledger_throughput(appends: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        context = multiprocessing.get_context("spawn")
        processes = [
            context.Process(target=_append, args=(directory, writer, appends // 2))
            for writer in (1, 2)
        ]
        started = time.perf_counter()
        for process in processes:
            process.start()
        for process in processes:
            process.join()
        seconds = time.perf_counter() - started
        events = len(read_ledger(Path(directory)))
        print(
            f"ledger: {events} events from 2 processes in {seconds:.2f} s "
            f"(including process start; {events / seconds:.0f} events/s, fsync each)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--version", action="append", default=None)
    parser.add_argument("--appends", type=int, default=2000)
    arguments = parser.parse_args()
    source = arguments.home
    versions = arguments.version or sorted(
        entry.name
        for entry in (source / "models").iterdir()
        if entry.is_dir() and not entry.name.startswith(".")
    )
    with tempfile.TemporaryDirectory() as directory:
        home = Path(directory)
        (home / "raw").mkdir()
        (home / "raw" / "imdb").symlink_to((source / "raw" / "imdb").resolve())
        for version in versions:
            shutil.copytree(
                source / "models" / version,
                home / "models" / version,
                ignore=shutil.ignore_patterns("evaluation.json", "test_predictions.parquet"),
            )
        started = time.perf_counter()
        split = load_test_split(home)
        print(
            f"test split: {len(split.review_ids)} rows read and fingerprinted in "
            f"{time.perf_counter() - started:.2f} s"
        )
        for version in versions:
            started = time.perf_counter()
            bundle = load_bundle(home / "models" / version)
            loaded = time.perf_counter() - started
            evaluation = evaluate_scorer(
                bundle,
                split,
                bundle.directory,
                version=version,
                model_name=bundle_model_name(bundle.metadata),
            )
            record_evaluation(home, version)
            metrics = evaluation["metrics"]
            interval = metrics["accuracy_interval"]
            started = time.perf_counter()
            decision = gate_and_record(home, version)
            gated = time.perf_counter() - started
            predicting = evaluation["seconds"]["predicting"]
            print(
                f"{version}: load {loaded:.2f} s, score {predicting:.2f} s "
                f"({len(split.review_ids) / predicting:.0f} reviews/s), evaluation total "
                f"{evaluation['seconds']['total']:.2f} s, gate {gated:.3f} s; accuracy "
                f"{metrics['accuracy']:.4f} [{interval['lower']:.4f}, {interval['upper']:.4f}]"
                f", ROC AUC {metrics['roc_auc']:.4f}, F1 {metrics['f1']:.4f}, log loss "
                f"{metrics['log_loss']:.4f} -> {decision.decision}"
            )
            print(f"  {decision.summary}")
        started = time.perf_counter()
        entries = list_models(home)
        print(f"list_models: {len(entries)} entries in {time.perf_counter() - started:.3f} s")
    _ledger_throughput(arguments.appends)


if __name__ == "__main__":
    main()

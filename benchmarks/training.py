"""Training benchmark: test accuracy, epoch times, scoring speed and peak memory per model.

Usage (on a home with the IMDB archive ingested, e.g. after ``sentiment ingest``)::

    nice -n 10 .venv/bin/python -m benchmarks.training --home HOME
    nice -n 10 .venv/bin/python -m benchmarks.training --home H --models cnn --skip-flow
    nice -n 10 .venv/bin/python -m benchmarks.training --home H --flow-check-only

Each model trains in a child process (so its peak RSS is its own), from the library's
``train()`` with the model's defaults, and writes a normal bundle under ``home/models``.
Test accuracy is measured once, after training, on the processed test split. The
``cnn`` row is also trained inside the Prefect ``train`` flow and, in the same child
process, with a bare ``model.fit`` on the same arrays (before and after the flow, as the
machine may be shared), to compare seconds per epoch.
Prints one JSON object per measurement and a Markdown table at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]


def _ensure_processed(home: Path, model: str) -> Any:
    from sentiment.data.preprocess import preprocess
    from sentiment.modeling.config import TrainConfig

    return preprocess(home, TrainConfig(model=model).preprocess_config)


def _scoring_speed(bundle: Any, token_ids: Any, repeats: int = 3) -> dict[str, float]:
    """Reviews per second of the bundle's scorer vs Keras' predict on the same ids."""
    bundle.predict_token_ids(token_ids[:2048])  # trace once
    bundle_times, predict_times = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        bundle.predict_token_ids(token_ids, batch_size=1024)
        bundle_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        bundle.model.predict(token_ids, batch_size=1024, verbose=0)
        predict_times.append(time.perf_counter() - started)
    count = len(token_ids)
    return {
        "bundle_reviews_per_second": count / statistics.median(bundle_times),
        "keras_predict_reviews_per_second": count / statistics.median(predict_times),
    }


def run_one(home: Path, model: str, compare_flow: bool) -> dict[str, Any]:
    """Train one model with its defaults, measure test accuracy and scoring speed."""
    import numpy as np

    from sentiment.modeling import dataset
    from sentiment.modeling.bundle import load_bundle
    from sentiment.modeling.config import TrainConfig
    from sentiment.modeling.training import train

    processed = _ensure_processed(home, model)
    config = TrainConfig(model=model)
    result = train(home, config)
    # ru_maxrss is a high-water mark (KiB on Linux): read it before anything else runs.
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    bundle = load_bundle(result.directory)
    test_ids, test_labels = dataset.load_arrays(processed.split_path("test"))
    scores = bundle.predict_token_ids(test_ids)
    row: dict[str, Any] = {
        "model": model,
        "version": result.version,
        "epochs_run": len(result.history),
        "best_epoch": result.best_epoch,
        "train_seconds": round(result.seconds, 1),
        "seconds_per_epoch": [round(r["seconds"], 2) for r in result.history],
        "validation_accuracy": round(result.validation_metrics["accuracy"], 4),
        "test_accuracy": round(float(np.mean((scores >= 0.5) == (test_labels == 1))), 4),
        "parameters": result.parameter_count["total"],
        "peak_rss_mib": round(peak_rss_mib),
    }
    row.update({k: round(v) for k, v in _scoring_speed(bundle, test_ids).items()})
    if compare_flow:
        row.update(_flow_versus_bare_fit(home, config, processed.directory))
    return row


def _flow_versus_bare_fit(home: Path, config: Any, directory: Path) -> dict[str, Any]:
    """Seconds per epoch: the Prefect train flow vs a bare model.fit on the same arrays.

    The machine is shared, so the bare fit runs before and after the flow and the flow
    is compared with the mean of both.
    """
    from flows.train import train_flow
    from sentiment.modeling.bundle import load_bundle

    bare_before = _bare_fit_epochs(config, directory)
    manifest = train_flow(home=str(home), training=config)
    flow_history = load_bundle(Path(manifest["bundle"])).metadata["history"]
    flow_epochs = [row["seconds"] for row in flow_history]
    bare_after = _bare_fit_epochs(config, directory)
    bare_epochs = bare_before + bare_after
    return {
        "flow_seconds_per_epoch": [round(s, 2) for s in flow_epochs],
        "bare_fit_seconds_per_epoch": [round(s, 2) for s in bare_epochs],
        "flow_over_bare_fit": round(statistics.mean(flow_epochs) / statistics.mean(bare_epochs), 3),
    }


def _bare_fit_epochs(config: Any, directory: Path) -> list[float]:
    """Seconds per epoch of a plain ``model.fit`` on in-memory arrays of the same data."""
    import keras

    from sentiment.modeling import dataset
    from sentiment.modeling.fitting import set_reproducible
    from sentiment.modeling.zoo import build_model

    train_ids, train_labels = dataset.load_arrays(directory / "train.parquet")
    validation_ids, validation_labels = dataset.load_arrays(directory / "validation.parquet")
    set_reproducible(config.seed)
    model = build_model(
        config.model, config.resolved_vectorizer, config.resolved_learning_rate, config.seed
    )
    epochs: list[float] = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            epochs.append(time.perf_counter() - self.started)

    model.fit(
        train_ids,
        train_labels.astype("float32"),
        batch_size=config.resolved_batch_size,
        epochs=config.resolved_epochs,
        validation_data=(validation_ids, validation_labels.astype("float32")),
        callbacks=[Timer()],
        verbose=0,
    )
    return epochs


def flow_check(home: Path, model: str) -> dict[str, Any]:
    """Only the flow vs bare-fit comparison (no accuracy or scoring figures)."""
    from sentiment.modeling.config import TrainConfig

    processed = _ensure_processed(home, model)
    return {
        "model": model,
        **_flow_versus_bare_fit(home, TrainConfig(model=model), processed.directory),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path(os.environ.get("SENTIMENT_HOME", "data")))
    parser.add_argument("--models", nargs="+", default=None, help="Default: every zoo model.")
    parser.add_argument("--skip-flow", action="store_true", help="Skip the flow vs fit check.")
    parser.add_argument(
        "--flow-check-only", action="store_true", help="Only time the cnn flow vs model.fit."
    )
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    if arguments.flow_check_only:
        print(json.dumps(flow_check(arguments.home, "cnn")), flush=True)
        return 0
    if arguments.one:
        row = run_one(arguments.home, arguments.one, compare_flow=not arguments.skip_flow)
        print("RESULT " + json.dumps(row), flush=True)
        return 0

    from sentiment.modeling.config import MODEL_NAMES

    rows = []
    for model in arguments.models or list(MODEL_NAMES):
        command = [
            *(sys.executable, "-m", "benchmarks.training"),
            *("--home", str(arguments.home), "--one", model),
        ]
        if arguments.skip_flow or model != "cnn":
            command.append("--skip-flow")
        completed = subprocess.run(
            command, capture_output=True, text=True, check=False, cwd=REPOSITORY_ROOT
        )
        results = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
        if completed.returncode or not results:
            print(completed.stdout[-3000:], completed.stderr[-3000:], file=sys.stderr)
            return 1
        row = json.loads(results[-1].removeprefix("RESULT "))
        print(json.dumps(row), flush=True)
        rows.append(row)

    print()
    print(
        "| model | epochs (best) | s/epoch | train s | val acc | test acc | "
        "scoring reviews/s (bundle / keras predict) | peak RSS MiB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['model']} | {row['epochs_run']} ({row['best_epoch']}) | "
            f"{statistics.mean(row['seconds_per_epoch']):.1f} | {row['train_seconds']} | "
            f"{row['validation_accuracy']:.4f} | {row['test_accuracy']:.4f} | "
            f"{row['bundle_reviews_per_second']:,} / {row['keras_predict_reviews_per_second']:,} | "
            f"{row['peak_rss_mib']} |"
        )
    for row in rows:
        if "flow_over_bare_fit" in row:
            print(
                f"\n{row['model']}: seconds per epoch in the flow {row['flow_seconds_per_epoch']} "
                f"vs bare model.fit {row['bare_fit_seconds_per_epoch']}: "
                f"ratio {row['flow_over_bare_fit']}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

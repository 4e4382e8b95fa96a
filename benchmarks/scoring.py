"""Batch-scoring benchmark: streaming `score_file` against the naive pandas peer.

For each model bundle it prints, as a Markdown table:

* model-only speed: ``bundle.predict_token_ids`` on the 25k test reviews, pre-tokenized;
* end-to-end speed (raw Parquet -> scored Parquet) and peak memory of the streaming
  scorer on the 25k test reviews and on synthetic dumps (default 100k and 1M rows, built
  from the real train/test/unlabeled reviews in a temporary directory);
* the same for the naive peer: ``pandas.read_parquet`` of the whole file -> encode all
  -> ``model.predict`` -> ``to_parquet``.

Every measured run is a fresh subprocess; its peak memory is the maximum RSS sampled
every 20 ms by psutil, its time covers reading to the closed output file (model loading
and imports excluded, equally for both). On the 25k test split, model-only and
end-to-end runs alternate round by round and the ratio is the median of the per-round
ratios; figures are medians over ``--repeats`` rounds (``--dump-repeats`` runs on the
synthetic dumps, whose ratio is against the median model-only speed).

    nice -n 10 .venv/bin/python -m benchmarks.scoring --home HOME \
        --models VERSION[,VERSION] --rows 100000,1000000 --repeats 3 --dump-repeats 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# --- child processes ------------------------------------------------------------------


def _child(mode: str, bundle_dir: str, source: str, output: str, batch_size: int) -> None:
    from sentiment.modeling.bundle import load_bundle

    bundle = load_bundle(Path(bundle_dir))
    # Warm the traced graph on a tiny batch so neither side pays tracing in the timing.
    import numpy as np

    bundle.predict_token_ids(np.zeros((2, bundle.vectorizer.config.max_length), np.int32))
    started = time.perf_counter()
    if mode.startswith("ours") or mode == "sequential":
        from sentiment.scoring.config import ScoringConfig
        from sentiment.scoring.discovery import discover_inputs
        from sentiment.scoring.scorer import score_file

        (item,) = discover_inputs([source]).inputs
        threads = 0 if mode == "sequential" else ScoringConfig.encode_threads
        if mode.startswith("ours:"):
            threads = int(mode.removeprefix("ours:"))
        config = ScoringConfig(batch_size=batch_size, force=True, encode_threads=threads)
        result = score_file(item, Path(output), bundle, config)
        assert result.status == "scored", result.reason
        rows = result.rows
    elif mode == "peer":
        import pandas as pd

        frame = pd.read_parquet(source)
        token_ids = bundle.vectorizer.encode(frame["text"].tolist())
        scores = bundle.model.predict(token_ids, batch_size=batch_size, verbose=0).reshape(-1)
        frame["sentiment_score"] = scores.astype("float32")
        frame["sentiment_label"] = np.where(scores >= 0.5, "positive", "negative")
        frame["model_version"] = bundle.version
        Path(output).mkdir(parents=True, exist_ok=True)
        frame.to_parquet(Path(output) / "peer.parquet")
        rows = len(frame)
    else:  # model-only on pre-tokenized input
        import pyarrow.parquet as pq

        texts = pq.read_table(source, columns=["text"]).column("text").to_pylist()
        token_ids = bundle.vectorizer.encode(texts)
        started = time.perf_counter()
        bundle.predict_token_ids(token_ids, batch_size=batch_size)
        rows = len(texts)
    seconds = time.perf_counter() - started
    print(json.dumps({"rows": rows, "seconds": seconds}))


class RunFailedError(RuntimeError):
    """A measured run exited with an error or was killed (e.g. out of memory)."""

    def __init__(self, mode: str, returncode: int, peak_mib: float, stderr: str) -> None:
        self.reason = (
            f"killed by signal {-returncode}" + (" (out of memory)" if returncode == -9 else "")
            if returncode < 0
            else f"exit status {returncode}"
        )
        self.peak_mib = peak_mib
        super().__init__(f"{mode} run failed, {self.reason}:\n{stderr[-3000:]}")


def _measure(mode: str, bundle_dir: Path, source: Path, batch_size: int) -> dict[str, float]:
    import psutil

    with tempfile.TemporaryDirectory(prefix="score-bench-") as output:
        command = [
            sys.executable,
            "-m",
            "benchmarks.scoring",
            "--child",
            mode,
            str(bundle_dir),
            str(source),
            output,
            str(batch_size),
        ]
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPOSITORY_ROOT
        )
        watched = psutil.Process(process.pid)
        peak = 0
        while process.poll() is None:
            try:
                peak = max(peak, watched.memory_info().rss)
            except psutil.Error:
                break
            time.sleep(0.02)
        stdout, stderr = process.communicate()
        if process.returncode != 0:
            raise RunFailedError(mode, process.returncode, peak / (1 << 20), stderr.decode())
        figures = json.loads(stdout.decode().strip().splitlines()[-1])
    return {
        "rows": figures["rows"],
        "seconds": figures["seconds"],
        "reviews_per_second": figures["rows"] / figures["seconds"],
        "peak_mib": peak / (1 << 20),
    }


def _median(runs: Iterable[dict[str, float]]) -> dict[str, float]:
    runs = list(runs)
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def _median_runs(
    mode: str, bundle_dir: Path, source: Path, batch_size: int, repeats: int
) -> dict[str, float]:
    return _median(_measure(mode, bundle_dir, source, batch_size) for _ in range(repeats))


# --- synthetic dumps -------------------------------------------------------------------


def build_dump(raw_dir: Path, rows: int, destination: Path, chunk_rows: int = 50_000) -> Path:
    """Write ``rows`` reviews cycled from the real splits, in row groups, never all in memory."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts: list[str] = []
    for split in ("train", "test", "unsup"):
        path = raw_dir / f"{split}.parquet"
        if path.exists():
            texts += pq.read_table(path, columns=["text"]).column("text").to_pylist()
    schema = pa.schema([("review_id", pa.string()), ("text", pa.string())])
    with pq.ParquetWriter(destination, schema) as writer:
        for start in range(0, rows, chunk_rows):
            stop = min(start + chunk_rows, rows)
            writer.write_table(
                pa.table(
                    {
                        "review_id": [f"dump-{index}" for index in range(start, stop)],
                        "text": [texts[index % len(texts)] for index in range(start, stop)],
                    },
                    schema=schema,
                )
            )
    return destination


# --- main ------------------------------------------------------------------------------


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path(os.environ.get("SENTIMENT_HOME", "data")))
    parser.add_argument(
        "--models", default="", help="Comma-separated bundle versions (default: all bundles)."
    )
    parser.add_argument("--rows", default="100000,1000000", help="Synthetic dump sizes.")
    parser.add_argument("--repeats", type=int, default=3, help="Runs per figure (median).")
    parser.add_argument(
        "--dump-repeats", type=int, default=1, help="Runs per figure on the synthetic dumps."
    )
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument(
        "--modes",
        default="ours,peer",
        help="Scorers to run: ours (the default encoding threads), ours:N (N encoding "
        "threads), sequential (ours encoding in the calling thread), peer (pandas).",
    )
    arguments = parser.parse_args()

    models_dir = arguments.home / "models"
    versions = [v for v in arguments.models.split(",") if v] or sorted(
        path.name for path in models_dir.iterdir() if (path / "model.keras").exists()
    )
    test_split = arguments.home / "raw" / "imdb" / "test.parquet"
    sizes = [int(size) for size in arguments.rows.split(",") if size]
    rows_out: list[str] = [
        "| model | input | rows | scorer | reviews/s | × model-only | peak RSS MiB |",
        "|---|---|---:|---|---:|---:|---:|",
    ]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="score-dumps-") as temporary:
        dumps = [("test split", test_split)]
        for size in sizes:
            dumps.append(
                (
                    f"synthetic {size:,}",
                    build_dump(test_split.parent, size, Path(temporary) / f"dump-{size}.parquet"),
                )
            )
        modes = arguments.modes.split(",")
        names = {
            mode: f"streaming score_file, {mode.removeprefix('ours:')} encoding threads"
            for mode in modes
            if mode.startswith("ours:")
        } | {
            "ours": "streaming score_file",
            "sequential": "streaming, encoding in the calling thread",
            "peer": "pandas peer",
        }

        def record(
            version: str, label: str, mode: str, figures: dict[str, float], ratio: float
        ) -> None:
            results[version][f"{label} {mode}"] = figures | {"ratio": ratio}
            rows_out.append(
                f"| {version} | {label} | {figures['rows']:,.0f} | {names[mode]} | "
                f"{figures['reviews_per_second']:,.0f} | {ratio:.2f} | "
                f"{figures['peak_mib']:,.0f} |"
            )
            print(f"{version} {label} {mode}: {figures}", file=sys.stderr, flush=True)

        for version in versions:
            bundle_dir = models_dir / version
            # Model-only and end-to-end runs alternate, round by round, so a change of
            # load on the shared machine hits both; ratios are per round, then median.
            rounds: list[dict[str, dict[str, float]]] = []
            for _ in range(arguments.repeats):
                one_round = {
                    "model": _measure("model", bundle_dir, test_split, arguments.batch_size)
                }
                for mode in modes:
                    one_round[mode] = _measure(mode, bundle_dir, test_split, arguments.batch_size)
                rounds.append(one_round)
                print(f"{version} round: {one_round}", file=sys.stderr, flush=True)
            model_only = _median(run["model"] for run in rounds)
            speed = model_only["reviews_per_second"]
            results[version] = {"model_only": model_only}
            rows_out.append(
                f"| {version} | test split, pre-tokenized | {model_only['rows']:,.0f} | "
                f"model only | {speed:,.0f} | 1.00 | — |"
            )
            for mode in modes:
                record(
                    version,
                    "test split",
                    mode,
                    _median(run[mode] for run in rounds),
                    statistics.median(
                        run[mode]["reviews_per_second"] / run["model"]["reviews_per_second"]
                        for run in rounds
                    ),
                )
            for (label, source), size in zip(dumps[1:], sizes, strict=True):
                for mode in modes:
                    try:
                        figures = _median_runs(
                            mode, bundle_dir, source, arguments.batch_size, arguments.dump_repeats
                        )
                    except RunFailedError as failure:
                        # A peer that runs out of memory is a result, not a broken benchmark.
                        results[version][f"{label} {mode}"] = {
                            "failed": failure.reason,
                            "peak_mib": failure.peak_mib,
                        }
                        rows_out.append(
                            f"| {version} | {label} | {size:,} | {names[mode]} | "
                            f"failed: {failure.reason} | — | {failure.peak_mib:,.0f} before |"
                        )
                        print(f"{version} {label} {mode}: {failure}", file=sys.stderr, flush=True)
                        continue
                    record(version, label, mode, figures, figures["reviews_per_second"] / speed)
    print("\n".join(rows_out))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

"""Where the CPU of batch scoring goes: each stage of the streaming path, one at a time.

For each bundle it runs the steps of ``score_file`` one after another in this process,
on the 25k test reviews in the scorer's record batches, and prints the wall and CPU
seconds of each (median over ``--runs``), plus the CPU budget that end-to-end scoring
at ``--target`` x model-only speed leaves for everything but the model on this
machine's cores. It explains the scoring ratios of ``benchmarks.scoring``; it does
not replace them (no threads overlap here).

    nice -n 10 .venv/bin/python -m benchmarks.scoring_stages --home HOME \
        --models VERSION[,VERSION] --runs 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

STAGES = ("read", "select texts", "tokenize", "encode ids", "predict", "write")


def _one_run(bundle: Any, source: Path, output: Path, read_rows: int) -> dict[str, list[float]]:
    import numpy as np
    import pyarrow.parquet as pq

    from sentiment.core.arrays import arrow_array
    from sentiment.encoding.tokens import has_text, string_column, token_lists
    from sentiment.scoring.outputs import output_schema, scored_batch

    seconds = {stage: [0.0, 0.0] for stage in STAGES}

    def timed(stage: str, function: Callable[..., Any], *arguments: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        result = function(*arguments)
        seconds[stage][0] += time.perf_counter() - wall
        seconds[stage][1] += time.process_time() - cpu
        return result

    parquet = pq.ParquetFile(source)
    writer = pq.ParquetWriter(output, output_schema(parquet.schema_arrow), compression="snappy")
    batches = parquet.iter_batches(batch_size=read_rows)
    while (batch := timed("read", next, batches, None)) is not None:

        def select(batch: Any = batch) -> tuple[Any, Any]:
            column = batch.column("text")
            valid = has_text(column)
            return valid, string_column(column).filter(arrow_array(valid))

        valid, texts = timed("select texts", select)
        lists = timed("tokenize", token_lists, texts)
        token_ids, _ = timed("encode ids", bundle.vectorizer.encode_token_lists, lists)
        valid_scores = timed("predict", bundle.predict_token_ids, token_ids)
        scores = np.full(valid.size, np.nan, np.float32)
        scores[valid] = valid_scores
        timed(
            "write",
            writer.write_batch,
            scored_batch(batch, scores, valid, 0.5, bundle.version),
        )
    writer.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path(os.environ.get("SENTIMENT_HOME", "data")))
    parser.add_argument("--models", required=True, help="Comma-separated bundle versions.")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--read-rows", type=int, default=8192)
    parser.add_argument("--target", type=float, default=0.8, help="Ratio to budget for.")
    arguments = parser.parse_args()

    import pyarrow.parquet as pq

    from sentiment.modeling.bundle import load_bundle

    source = arguments.home / "raw" / "imdb" / "test.parquet"
    cores = len(os.sched_getaffinity(0))
    for version in arguments.models.split(","):
        bundle = load_bundle(arguments.home / "models" / version)
        texts = pq.read_table(source, columns=["text"]).column("text").to_pylist()
        token_ids = bundle.vectorizer.encode(texts)
        bundle.predict_token_ids(token_ids[:2])
        runs: list[dict[str, list[float]]] = []
        model_only: list[tuple[float, float]] = []
        with tempfile.TemporaryDirectory(prefix="score-stages-") as temporary:
            for _ in range(arguments.runs):
                wall, cpu = time.perf_counter(), time.process_time()
                bundle.predict_token_ids(token_ids)
                model_only.append((time.perf_counter() - wall, time.process_time() - cpu))
                runs.append(
                    _one_run(bundle, source, Path(temporary) / "out.parquet", arguments.read_rows)
                )
        model_wall = statistics.median(wall for wall, _ in model_only)
        model_cpu = statistics.median(cpu for _, cpu in model_only)
        print(f"\n{version}: {len(texts):,} reviews, median of {arguments.runs} runs\n")
        print("| stage | wall s | CPU s |")
        print("|---|---:|---:|")
        others = 0.0
        for stage in STAGES:
            wall = statistics.median(run[stage][0] for run in runs)
            cpu = statistics.median(run[stage][1] for run in runs)
            others += cpu if stage != "predict" else 0.0
            print(f"| {stage} | {wall:.3f} | {cpu:.3f} |")
        print(f"| model only (`predict_token_ids`) | {model_wall:.3f} | {model_cpu:.3f} |")
        allowed = model_wall / arguments.target
        budget = cores * allowed - model_cpu
        print(
            f"\nAt {arguments.target}x model-only speed on {cores} cores the run may take "
            f"{allowed:.3f} s, i.e. {cores * allowed:.2f} CPU-s; the model takes "
            f"{model_cpu:.2f}, leaving {budget:.2f} CPU-s for the other stages, which took "
            f"{others:.2f} CPU-s here ({others / max(budget, 1e-9):.1f}x the budget)."
        )


if __name__ == "__main__":
    main()

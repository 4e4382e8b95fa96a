"""Where the time of scoring one Parquet file with a linear bundle goes, step by step.

Runs the steps of ``score_file`` for a compiled linear bundle (nbsvm) one after another
in this process, with no threads overlapping, on one Parquet file in the scorer's
record batches, and prints each step's wall and CPU seconds (median over ``--runs``)
next to the floor's two steps (read, write with one extra column). It explains the
ratios of ``benchmarks.scoring_floor``; it does not replace them.

    nice -n 10 .venv/bin/python -m benchmarks.scoring_breakdown --home HOME \
        --input FILE.parquet --runs 3
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


def _one_run(bundle: Any, source: Path, output: Path, explain: int) -> dict[str, list[float]]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sentiment.modeling.profile import TextProfile
    from sentiment.scoring import outputs
    from sentiment.scoring import scorer as scoring
    from sentiment.scoring.config import ScoringConfig
    from sentiment.scoring.fingerprint import content_fingerprint

    seconds: dict[str, list[float]] = {}

    def timed(step: str, function: Callable[..., Any], *arguments: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        result = function(*arguments)
        entry = seconds.setdefault(step, [0.0, 0.0])
        entry[0] += time.perf_counter() - wall
        entry[1] += time.process_time() - cpu
        return result

    config = ScoringConfig(explain=explain)
    encoder = bundle.text_scorer
    threshold = outputs.resolved_threshold(bundle, config)
    timed("fingerprint before reading (sha256)", content_fingerprint, source)
    parquet = pq.ParquetFile(source, buffer_size=1 << 20, pre_buffer=False)
    schema = outputs.output_schema(parquet.schema_arrow, explain=explain > 0)
    writer = pq.ParquetWriter(output, schema, compression="snappy")
    profile = TextProfile()
    batches = parquet.iter_batches(batch_size=config.read_rows)
    while (batch := timed("read (Parquet record batches)", next, batches, None)) is not None:
        prepared = timed(
            "prepare (select texts, tokenize, look up, sum, calibrate)",
            scoring._prepare,
            batch,
            "text",
            encoder,
            explain,
        )

        def assemble(prepared: Any = prepared) -> pa.RecordBatch:
            scores = np.full(prepared.valid.size, np.nan, dtype=np.float32)
            scored = np.zeros(prepared.valid.size, dtype=bool)
            known = prepared.known
            scored[np.flatnonzero(prepared.valid)[known]] = True
            valid_scores = prepared.scores[known]
            scores[scored] = valid_scores
            profile.add_scores(valid_scores, threshold, config.uncertain)
            profile.add_texts(
                prepared.valid, prepared.lengths, prepared.tokens, prepared.oov_tokens
            )
            return outputs.scored_batch(
                prepared.batch,
                scores,
                prepared.valid,
                threshold,
                bundle.version,
                scored,
                config.uncertain,
                prepared.reasons if explain else None,
            )

        out = timed("label, note, version columns; profile", assemble)
        timed("write (Parquet, snappy)", writer.write_batch, out)
    timed("write (Parquet, snappy)", writer.close)
    timed("fingerprint after scoring (sha256)", content_fingerprint, source)
    return seconds


def _floor(source: Path, output: Path) -> dict[str, list[float]]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    seconds: dict[str, list[float]] = {}

    def timed(step: str, function: Callable[..., Any], *arguments: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        result = function(*arguments)
        entry = seconds.setdefault(step, [0.0, 0.0])
        entry[0] += time.perf_counter() - wall
        entry[1] += time.process_time() - cpu
        return result

    parquet = pq.ParquetFile(source)
    schema = parquet.schema_arrow.append(pa.field("extra", pa.float32()))
    writer = pq.ParquetWriter(output, schema, compression="snappy")
    batches = parquet.iter_batches(batch_size=8192)
    while (batch := timed("floor: read", next, batches, None)) is not None:
        extra = pa.array(np.zeros(batch.num_rows, np.float32))
        out = pa.RecordBatch.from_arrays([*batch.columns, extra], schema=schema)
        timed("floor: write", writer.write_batch, out)
    timed("floor: write", writer.close)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--version", help="Bundle version (default: the newest nbsvm bundle).")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--explain", type=int, default=0)
    arguments = parser.parse_args()

    from sentiment.modeling.bundle import load_bundle

    models = arguments.home / "models"
    version = (
        arguments.version or sorted(p.name for p in models.iterdir() if "-nbsvm-" in p.name)[-1]
    )
    bundle = load_bundle(models / version)
    if bundle.text_scorer is None:
        raise SystemExit(f"{version} has no compiled linear scorer")
    runs: list[dict[str, list[float]]] = []
    with tempfile.TemporaryDirectory(prefix="scoring-breakdown-") as scratch:
        for _ in range(arguments.runs):
            seconds = _floor(arguments.input, Path(scratch) / "floor.parquet")
            seconds.update(_one_run(bundle, arguments.input, Path(scratch) / "out.parquet", 0))
            runs.append(seconds)
    print(f"bundle {version}; {arguments.input}; load {os.getloadavg()[0]:.1f}")
    print(f"| step | wall s | CPU s |  (median of {arguments.runs})")
    totals = [0.0, 0.0]
    for step in runs[0]:
        wall = statistics.median(run[step][0] for run in runs)
        cpu = statistics.median(run[step][1] for run in runs)
        if not step.startswith("floor"):
            totals[0] += wall
            totals[1] += cpu
        print(f"| {step} | {wall:.3f} | {cpu:.3f} |")
    print(f"| scoring, all steps | {totals[0]:.3f} | {totals[1]:.3f} |")


if __name__ == "__main__":
    main()

"""The reviews/s a scoring run reports, for tiny and larger inputs.

``sentiment score`` prints ``rows / seconds`` over its files, each file's seconds as
``score_file`` counts them. This loads a bundle (and sets its model up, as the scoring
task does), scores each input ``--repeats`` times in this process and prints the first
file's rate (what a command that scores one file reports) and the median of the others.
Run it with a checkout's code on the path to compare before and after a change, and with
``NUMBA_CACHE_DIR`` pointing at an empty folder for a fresh install's first run.

    PYTHONPATH=TREE nice -n 10 .venv/bin/python -m benchmarks.scoring_rate \
        --bundle HOME/models/VERSION five.csv thousand.parquet
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from sentiment.modeling.bundle import load_bundle
from sentiment.scoring.config import ScoringConfig
from sentiment.scoring.discovery import discover_inputs
from sentiment.scoring.scorer import score_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, required=True, help="A bundle directory.")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("inputs", nargs="+", help="Review files to score.")
    arguments = parser.parse_args()
    bundle = load_bundle(arguments.bundle)
    bundle.predict_texts(["a first review, scored once to set the model up"])
    config = ScoringConfig(force=True)
    with tempfile.TemporaryDirectory(prefix="scoring-rate-") as output:
        for name in arguments.inputs:
            (item,) = discover_inputs([name]).inputs
            rates = []
            for _ in range(arguments.repeats):
                result = score_file(item, Path(output), bundle, config)
                rates.append(result.rows / result.seconds)
            print(
                f"{Path(name).name}: {result.rows} rows, first {rates[0]:,.0f}/s, "
                f"median of the next {len(rates) - 1} {statistics.median(rates[1:]):,.0f}/s"
            )


if __name__ == "__main__":
    main()

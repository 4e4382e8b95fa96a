"""What the short-text prior costs the compiled scorer: one bundle scored with its prior and
without it (the same weights), in alternating rounds, on three sets of texts:

- ``reviews``: the 25,000 IMDB test reviews (few are short: the prior is rarely added);
- ``sentences``: 100,000 sentences cut from them (most are short: the prior is added to
  nearly every one, the worst case);
- ``snippets``: the short-text development set, repeated to 100,000 rows, when the home
  holds it (``sentiment ingest`` with ``$SENTIMENT_SHORT_TEXTS_SOURCE``), else skipped.

Each figure is :meth:`LinearScorer.score_column` on an Arrow column, in this process, after
one warm-up pass; prints the median texts/s with and without the prior and the median of
the per-round ratios. ``--against OTHER`` compares the bundle (its prior on) with another
bundle as it is instead (a bundle from before the prior: the whole change's cost).

    nice -n 10 .venv/bin/python -m benchmarks.short_text_prior --home HOME --version VERSION \
        --rounds 5 [--against OTHER]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sentiment.core.paths import HomeLayout
from sentiment.encoding.text import split_sentences
from sentiment.modeling.bundle import load_bundle

ROWS = 100_000


def _sets(home: Path) -> dict[str, pa.Array]:
    layout = HomeLayout(home)
    reviews = pq.read_table(layout.raw_split("test"), columns=["text"]).column("text")
    sentences: list[str] = []
    for review in reviews.to_pylist():
        sentences.extend(split_sentences(review))
        if len(sentences) >= ROWS:
            break
    sets = {
        "reviews": reviews.combine_chunks(),
        "sentences": pa.array(sentences[:ROWS], pa.string()),
    }
    if layout.short_texts.exists():
        snippets = pq.read_table(layout.short_texts, columns=["text"]).column("text").to_pylist()
        sets["snippets"] = pa.array((snippets * (ROWS // len(snippets) + 1))[:ROWS], pa.string())
    return sets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--version", required=True, help="A bundle trained with a prior.")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--against", help="Another bundle, scored as it is, as 'without'.")
    arguments = parser.parse_args()

    layout = HomeLayout(arguments.home)
    scorer = load_bundle(layout.bundle(arguments.version)).text_scorer
    if scorer is None or scorer.prior is None:
        raise SystemExit(f"Bundle {arguments.version} has no short-text prior.")
    prior = scorer.prior
    other = load_bundle(layout.bundle(arguments.against)).text_scorer if arguments.against else None
    results = {}
    for name, texts in _sets(arguments.home).items():
        rates: dict[str, list[float]] = {"with": [], "without": []}
        for warm in (scorer, other):  # compiled kernels and tables warm
            if warm is not None:
                warm.score_column(texts.slice(0, 1000))
        for _ in range(arguments.rounds):
            for label in ("without", "with"):
                measured = other if other is not None and label == "without" else scorer
                if other is None:
                    scorer.prior = prior if label == "with" else None
                started = time.perf_counter()
                measured.score_column(texts)
                rates[label].append(len(texts) / (time.perf_counter() - started))
        scorer.prior = prior
        ratios = [w / o for w, o in zip(rates["with"], rates["without"], strict=True)]
        results[name] = {
            "rows": len(texts),
            "without_per_second": round(statistics.median(rates["without"])),
            "with_per_second": round(statistics.median(rates["with"])),
            "ratio": round(statistics.median(ratios), 3),
            "ratios": [round(ratio, 3) for ratio in ratios],
        }
        print(json.dumps({name: results[name]}), flush=True)


if __name__ == "__main__":
    main()

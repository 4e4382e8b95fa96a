"""How full the n-gram hash tables should be: the bag kernel's time at several loads.

Builds a bundle's vectorizer once per maximum load (``sentiment.encoding.lookup._MAX_LOAD``,
patched for the comparison), encodes the 25k test reviews' n-gram bags with each in
alternating rounds, checks the ids are identical, and prints the median time per load
and the median per-round ratio against the first load.

    nice -n 10 .venv/bin/python -m benchmarks.ngram_tables --home HOME --model NBSVM \
        --loads 0.8,0.4,0.25 --rounds 7
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path(os.environ.get("SENTIMENT_HOME", "data")))
    parser.add_argument(
        "--model", required=True, help="A bundle version with an n-gram vectorizer."
    )
    parser.add_argument("--loads", default="0.8,0.4,0.25")
    parser.add_argument("--rounds", type=int, default=7)
    arguments = parser.parse_args()

    import numpy as np
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    import sentiment.encoding.lookup as lookup_module
    import sentiment.encoding.vectorizer as vectorizer_module
    from sentiment.core.arrays import numpy_values
    from sentiment.encoding import kernels
    from sentiment.encoding.tokens import list_lengths, token_lists

    payload = (arguments.home / "models" / arguments.model / "vectorizer.json").read_text()
    texts = pq.read_table(arguments.home / "raw" / "imdb" / "test.parquet", columns=["text"])
    lists = token_lists(texts.column("text"))
    lengths = list_lengths(lists)
    loads = [float(load) for load in arguments.loads.split(",")]
    vectorizers = {}
    for load in loads:
        lookup_module._MAX_LOAD = load
        vectorizers[load] = vectorizer_module.Vectorizer.from_dict(json.loads(payload))
    first = vectorizers[loads[0]]
    # The word indices the vectorizer's encode_token_lists computes before the kernel.
    found = pc.index_in(lists.flatten(), value_set=first._words)
    word_index = (numpy_values(found, fill=-1) + 1).astype(np.int64)
    config = first.config
    ids = np.zeros((len(lengths), config.max_length), np.int32)
    reference: np.ndarray | None = None
    seconds: dict[float, list[float]] = {load: [] for load in loads}
    for _ in range(arguments.rounds):
        for load, vectorizer in vectorizers.items():
            bigrams, trigrams = (vectorizer._ngram_lookup[order].arrays for order in (2, 3))
            started = time.perf_counter()
            kernels.ngram_bags(
                word_index,
                lengths,
                vectorizer._unigram_ids,
                bigrams,
                trigrams,
                vectorizer_module.WORD_BITS,
                config.num_words,
                ids,
                config.padding == "pre",
                config.truncating == "pre",
            )
            seconds[load].append(time.perf_counter() - started)
            if reference is None:
                reference = ids.copy()
            elif not np.array_equal(reference, ids):
                raise AssertionError(f"load {load} encoded different ids")
    print(
        "| maximum load | slots per table | MiB per table | bag kernel s (median) | "
        f"× load {loads[0]} |"
    )
    print("|---:|---:|---:|---:|---:|")
    for load, vectorizer in vectorizers.items():
        table = vectorizer._ngram_lookup[3].arrays[0]
        ratio = statistics.median(
            mine / base for mine, base in zip(seconds[load], seconds[loads[0]], strict=True)
        )
        print(
            f"| {load} | {len(table) // 2:,} | {table.nbytes / (1 << 20):.0f} | "
            f"{statistics.median(seconds[load]):.3f} | {ratio:.2f} |"
        )


if __name__ == "__main__":
    main()

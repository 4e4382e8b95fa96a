"""Labelling-queue simulation: do labels chosen by the queue teach nbsvm more than random ones?

Usage (on a home with IMDB ingested)::

    nice -n 10 .venv/bin/python -m benchmarks.labelling_queue --home HOME

Starts from nbsvm trained on ``--start`` (2,000) random labelled training reviews; in
``--rounds`` (5) rounds adds ``--batch`` (500) labels picked from the rest of the
training split, retrains from scratch and measures accuracy on the whole IMDB test
split. The queue picks exactly as ``sentiment label-queue`` does
(:func:`sentiment.labelling.selection.select_uncertain`: closest to the threshold,
near-duplicates left out); ``random`` picks uniformly. True labels stand in for a person.
Each strategy runs with ``--seeds`` (3) seeds; a seed fixes the start set and the
training, so both strategies of one seed start from the same model.

The product's nbsvm is trained through the library (``build_model``, ``naive_bayes_ratios``,
``folded_weights``) with the model's own vectorizer settings. For speed, the vocabulary
is fitted once on the whole training split's texts (no labels: the product fits it on its
training texts too) and every review encoded once; each round trains a fixed
``--epochs`` (3, no early stopping: there is no validation split to stop on) and scores
with the folded linear weights (score = sigmoid(logit), threshold 0.5; the product's
Platt calibration is monotone and is left out). Prints one JSON line per measurement
and a Markdown table at the end.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq


def _encode(
    home: Path, work: Path
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Train texts, train ids and labels, test ids and labels (cached under ``work``)."""
    from sentiment.core.paths import HomeLayout
    from sentiment.encoding.vocabulary import fit_vectorizer
    from sentiment.modeling.config import get_model_spec

    layout = HomeLayout(home)
    train = pq.read_table(layout.raw_split("train"), columns=["text", "label"])
    test = pq.read_table(layout.raw_split("test"), columns=["text", "label"])
    texts = train.column("text").to_pylist()
    config = get_model_spec("nbsvm").vectorizer
    cached = work / "ids.npz"
    if cached.is_file():
        arrays = np.load(cached)
        train_ids, test_ids = arrays["train"], arrays["test"]
    else:
        vectorizer = fit_vectorizer(texts, config)
        train_ids = vectorizer.encode(texts)
        test_ids = vectorizer.encode(test.column("text").to_pylist())
        work.mkdir(parents=True, exist_ok=True)
        np.savez(cached, train=train_ids, test=test_ids)
    return (
        texts,
        train_ids,
        train.column("label").to_numpy().astype(np.int8),
        test_ids,
        test.column("label").to_numpy().astype(np.int8),
        config.num_words,
    )


def _train(
    ids: np.ndarray, labels: np.ndarray, num_words: int, epochs: int, seed: int
) -> np.ndarray:
    """Folded nbsvm weights (one per id) trained on ``ids``/``labels``."""
    import keras

    from sentiment.modeling.config import get_model_spec
    from sentiment.modeling.dataset import array_dataset, count_ids_in_arrays
    from sentiment.modeling.fitting import set_reproducible
    from sentiment.modeling.linear import folded_weights
    from sentiment.modeling.zoo import build_model, naive_bayes_ratios, set_nb_ratios

    spec = get_model_spec("nbsvm")
    set_reproducible(seed)
    keras.backend.clear_session()
    model = build_model("nbsvm", spec.vectorizer, spec.learning_rate, seed)
    set_nb_ratios(model, naive_bayes_ratios(*count_ids_in_arrays(ids, labels, num_words)))
    model.fit(
        array_dataset(ids, labels, spec.batch_size, shuffle=True, seed=seed),
        epochs=epochs,
        verbose=0,
    )
    folded = folded_weights(model)
    assert folded is not None
    return folded[0]


def _probabilities(weights: np.ndarray, ids: np.ndarray) -> np.ndarray:
    logits = np.zeros(len(ids), np.float64)
    for start in range(0, len(ids), 4096):
        logits[start : start + 4096] = weights[ids[start : start + 4096]].sum(axis=1)
    return 1.0 / (1.0 + np.exp(-logits))


def _queue_picks(
    texts: list[str], pool: np.ndarray, scores: np.ndarray, size: int, labelled: set[str]
) -> np.ndarray:
    from sentiment.labelling.config import QueueConfig
    from sentiment.labelling.selection import Candidates, select_uncertain

    candidates = Candidates("train", scores[pool], 0.5, lambda row: texts[pool[row]])
    picks = select_uncertain([candidates], QueueConfig(size=size), labelled)
    return pool[[pick.row for pick in picks]]


def simulate(args: argparse.Namespace) -> list[dict]:
    from sentiment.data.labelled_rows import text_hash

    texts, train_ids, train_labels, test_ids, test_labels, num_words = _encode(args.home, args.work)
    results = []
    for seed in args.seeds:
        start = np.random.default_rng(seed).permutation(len(texts))[: args.start]
        for strategy in ("queue", "random"):
            rng = np.random.default_rng(seed + 1000)
            chosen = np.sort(start)
            for round_number in range(args.rounds + 1):
                started = time.perf_counter()
                weights = _train(
                    train_ids[chosen], train_labels[chosen], num_words, args.epochs, seed
                )
                accuracy = float(np.mean((_probabilities(weights, test_ids) >= 0.5) == test_labels))
                row = {
                    "strategy": strategy,
                    "seed": seed,
                    "round": round_number,
                    "labels": len(chosen),
                    "test_accuracy": round(accuracy, 5),
                    "seconds": round(time.perf_counter() - started, 1),
                }
                print(json.dumps(row), flush=True)
                results.append(row)
                if round_number == args.rounds:
                    break
                pool = np.setdiff1d(np.arange(len(texts)), chosen)
                if strategy == "random":
                    new = rng.choice(pool, args.batch, replace=False)
                else:
                    scores = _probabilities(weights, train_ids)
                    labelled = {text_hash(texts[index]) for index in chosen}
                    new = _queue_picks(texts, pool, scores, args.batch, labelled)
                chosen = np.sort(np.concatenate([chosen, new]))
    return results


def table(results: list[dict]) -> str:
    rounds = sorted({row["labels"] for row in results})
    lines = [
        "| labels | queue (mean of seeds) | random (mean of seeds) | queue − random (points) |",
        "|---:|---:|---:|---:|",
    ]
    for labels in rounds:
        means = {}
        for strategy in ("queue", "random"):
            values = [
                row["test_accuracy"]
                for row in results
                if row["labels"] == labels and row["strategy"] == strategy
            ]
            means[strategy] = statistics.fmean(values) if values else float("nan")
        lines.append(
            f"| {labels:,} | {means['queue']:.4f} | {means['random']:.4f} | "
            f"{100 * (means['queue'] - means['random']):+.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--work", type=Path, default=Path("/tmp/labelling-queue-benchmark"))
    parser.add_argument("--start", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    results = simulate(args)
    print(table(results))


if __name__ == "__main__":
    main()

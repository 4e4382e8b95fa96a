"""The length-gated lexicon prior (`gate*` variants of the harness) under the product's
calibration, gated by the product's word count, and how it moves with the calibration rows
(research/short_texts/README.md, "Length-gated lexicon prior").

Usage: python -m research.short_texts.gate_spread (after `harness prepare` and
`harness run --variants base`; the product's word counts are cached under /tmp/short9)
"""

from math import comb
from pathlib import Path

import numpy as np
import pandas as pd

from research.short_texts.harness import (
    CHECKLIST,
    SST_DEV,
    gate,
    lexicon_prior,
    load,
    row_sums,
    split_texts,
)
from sentiment.modeling.calibration import fit_platt
from sentiment.release.evaluation import word_counts

W = Path("/work/homes/short/research")
CACHE = Path("/tmp/short9")
HOME = Path("/work/homes/short")
SETTINGS = (
    (0.2, 20, 50),
    (0.3, 10, 30),
    (0.3, 10, 50),
    (0.3, 10, 80),
    (0.3, 20, 50),
    (0.3, 30, 50),
)


def product_words() -> dict[str, np.ndarray]:
    """Words per text as the product's tokenizer counts them, per prepared set."""
    CACHE.mkdir(exist_ok=True)
    if not (CACHE / "words_test.npy").exists():
        texts, _ = split_texts(HOME)
        sets = {
            "val": texts["val"],
            "test": texts["test"],
            "val_sent": (W / "val_sent.txt").read_text().split("\n"),
            "sst": list(pd.read_parquet(SST_DEV).text),
            "checklist": list(pd.read_csv(CHECKLIST).text),
        }
        for name, values in sets.items():
            np.save(CACHE / f"words_{name}.npy", word_counts(values))
    names = ("val", "test", "val_sent", "sst", "checklist")
    return {name: np.load(CACHE / f"words_{name}.npy") for name in names}


def main() -> None:
    size = int((W / "num_words.txt").read_text())
    weights = np.load(W / "weights_base.npy").astype(np.float64)
    prior = lexicon_prior(W, size, -0.5)
    data = {name: load(W, name) for name in ("val", "val_sent", "sst", "checklist", "test")}
    words = product_words()
    plain = {name: row_sums(*value[0], weights) for name, value in data.items()}
    priors = {name: row_sums(*value[0], prior) for name, value in data.items()}
    labels = {name: value[1].astype(np.float64) for name, value in data.items()}
    reviews, sentences = len(labels["val"]), len(labels["val_sent"])
    buckets = ((0, 10), (11, 50), (51, 200), (201, 10**9))

    def report(name: str, logits: dict[str, np.ndarray], draw: int | None) -> None:
        if draw is None:  # as the product fits it (decision 0015): all sentences, weighted
            rows = np.arange(sentences)
            row_weights = np.concatenate(
                [np.ones(reviews), np.full(sentences, reviews / sentences)]
            )
        else:  # the harness's platt-mixed: as many sentences as reviews, drawn at random
            rows = np.random.default_rng(draw).choice(sentences, reviews, replace=False)
            row_weights = None
        calibration = fit_platt(
            np.concatenate([logits["val"], logits["val_sent"][rows]]),
            np.concatenate([labels["val"], labels["val_sent"][rows]]),
            row_weights,
        )
        threshold = -calibration.intercept / calibration.slope
        right = {key: (logits[key] >= threshold) == (labels[key] > 0.5) for key in logits}
        lengths = " / ".join(
            f"{100 * right['test'][(words['test'] >= low) & (words['test'] <= high)].mean():.2f}"
            for low, high in buckets
        )
        print(
            f"{name:16s} {'product' if draw is None else f'draw {draw}':8s}"
            + " ".join(f" {key} {100 * right[key].mean():.2f}" for key in right)
            + f"  test by length {lengths}  threshold {threshold:.3f}",
            flush=True,
        )

    report("base", plain, None)
    for strength, full, zero in SETTINGS:
        logits = {
            key: plain[key] + strength * gate(words[key], full, zero) * priors[key] for key in plain
        }
        for draw in (None, 0, 1, 2, 3, 4, 5):
            report(f"gate{strength}n{full}m{zero}", logits, draw)

    # Today's calibration kept (long reviews then score exactly as today), paired with base.
    rows = np.arange(sentences)
    row_weights = np.concatenate([np.ones(reviews), np.full(sentences, reviews / sentences)])
    today = fit_platt(
        np.concatenate([plain["val"], plain["val_sent"]]),
        np.concatenate([labels["val"], labels["val_sent"][rows]]),
        row_weights,
    )
    threshold = -today.intercept / today.slope

    def paired(name: str, logits: dict[str, np.ndarray]) -> None:
        parts = []
        for key in logits:
            truth = labels[key] > 0.5
            before, after = (plain[key] >= threshold) == truth, (logits[key] >= threshold) == truth
            lost, won = int((before & ~after).sum()), int((after & ~before).sum())
            # Exact two-sided McNemar test on the discordant pairs (integers: no overflow).
            tail = sum(comb(lost + won, i) for i in range(min(lost, won) + 1))
            p = min(1.0, 2 * tail / 2 ** (lost + won)) if lost + won else 1.0
            parts.append(f"{key} {100 * after.mean():.2f} (+{won}/-{lost}, p {p:.2g})")
        print(f"today's calibration {name}: " + "  ".join(parts), flush=True)

    for strength, full, zero in (*SETTINGS, (0.5, 10, 30), (1.0, 10, 30)):
        paired(
            f"gate{strength}n{full}m{zero}",
            {
                key: plain[key] + strength * gate(words[key], full, zero) * priors[key]
                for key in plain
            },
        )
    for negated in (0.0, -1.0):
        other = {
            key: row_sums(*value[0], lexicon_prior(W, size, negated)) for key, value in data.items()
        }
        paired(
            f"gate0.3n10m30, negated {negated}",
            {key: plain[key] + 0.3 * gate(words[key], 10, 30) * other[key] for key in plain},
        )


if __name__ == "__main__":
    main()

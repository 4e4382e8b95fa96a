"""Toward 93%: the product's nbsvm retrained in numba, to compare training variants by 5-fold CV.

A scratch harness beside ``research/toward_93.py`` (whose ``prepare`` step writes the
sparse bags under ``--work``). ``sentiment.modeling.zoo.build_nbsvm`` trained by Keras is
``sigmoid(sum_i r_i * w_i)`` over a review's distinct n-gram ids, ``r`` the frozen
naive-Bayes log-count ratios of the fitting reviews, ``w`` learned from a tiny Glorot-normal
start with dense Adam (Keras densifies the embedding's sparse gradient, so every moment
decays at every step), batch 32, binary cross-entropy. This file does the same in numba
so that one fold trains in seconds, and then varies one thing at a time:

* ``replica``: the product's split (fit / validation); validation accuracy and loss per
  epoch, to compare with the Keras run's log;
* ``cv``: 5-fold cross-validation over all 25,000 labelled reviews (fit + validation) of
  the variants named by ``--variants``; prints each variant's out-of-fold accuracy;
* ``final --variants V``: trains V on the product's fit portion (early stopping on its
  validation split) and on 5 folds of the 25,000 (ensemble: mean of the fold logits),
  and scores both once on test with a 95% bootstrap CI.

Usage::

    nice -n 10 .venv/bin/python -m research.toward_93_nbsvm --work DIR replica
    nice -n 10 .venv/bin/python -m research.toward_93_nbsvm --work DIR --variants base,ema cv
"""

from __future__ import annotations

import argparse
import json
import math
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numba
import numpy as np

from research.toward_93 import (
    SPLITS,
    Sparse,
    column_sums,
    concatenate,
    joined,
    labels,
    load,
    load_words,
    row_sums,
    shifted,
    split_texts,
    train_dense_lr,
)

CLUSTER_BITS = 21


@dataclass(frozen=True)
class Variant:
    """One way to train the nbsvm weights."""

    learning_rate: float = 1e-3
    batch_size: int = 32
    epochs: int = 4
    patience: int = 1
    alpha: float = 1.0  # naive-Bayes smoothing
    ema: float = 0.0  # decay of an exponential moving average of w (0: none)
    l2: float = 0.0  # decoupled weight decay per step (AdamW-style), times the rate
    seeds: int = 1  # models with different initial weights and orders, logits averaged
    pseudo: float = 0.0  # share of the unlabeled reviews added with the teacher's labels
    # Soft targets from the star ratings (1-4 negative, 7-10 positive): a review rated 4
    # or 7 gets target 0.5 -/+ (0.5 - soft), one rated 1 or 10 keeps 0 or 1.
    soft: float = 0.0
    soft_ratios: bool = True  # the NB ratios count the soft targets too (else hard labels)
    borderline: int = 0  # extra copies of the reviews rated 4 or 7 (hard targets)
    dropout: float = 0.0  # share of a review's ids dropped in each training step


VARIANTS: dict[str, Variant] = {
    "base": Variant(),
    "epochs8": Variant(epochs=8, patience=1),
    "lr5e-4": Variant(learning_rate=5e-4, epochs=8),
    "lr2e-3": Variant(learning_rate=2e-3),
    "batch64": Variant(batch_size=64, epochs=8),
    "batch16": Variant(batch_size=16),
    "alpha0.5": Variant(alpha=0.5),
    "alpha2": Variant(alpha=2.0),
    "ema": Variant(ema=0.999, epochs=8),
    "ema9999": Variant(ema=0.9999, epochs=8),
    "wd": Variant(l2=1e-2, epochs=8),
    "seeds3": Variant(seeds=3),
    # Self-training: a teacher (``base``, same fold) labels the unlabeled reviews; the
    # student trains on the fold's labelled reviews plus the most confident share.
    "pseudo30": Variant(pseudo=0.3),
    "pseudo60": Variant(pseudo=0.6),
    "pseudo100": Variant(pseudo=1.0),
    "soft0.1": Variant(soft=0.1),
    "soft0.2": Variant(soft=0.2),
    "soft0.3": Variant(soft=0.3),
    "softw0.1": Variant(soft=0.1, soft_ratios=False),
    "softw0.2": Variant(soft=0.2, soft_ratios=False),
    "softw0.3": Variant(soft=0.3, soft_ratios=False),
    "borderline1": Variant(borderline=1),
    "borderline2": Variant(borderline=2),
    "dropout0.1": Variant(dropout=0.1, epochs=8),
    "dropout0.3": Variant(dropout=0.3, epochs=8),
    "dropout0.5": Variant(dropout=0.5, epochs=10),
    "dropout0.3x16": Variant(dropout=0.3, epochs=16),
    "dropout0.5x20": Variant(dropout=0.5, epochs=20),
    "batch256": Variant(batch_size=256, epochs=12),
    "batch256lr3e-3": Variant(batch_size=256, learning_rate=3e-3, epochs=8),
}


def soft_targets(ratings: np.ndarray, soft: float) -> np.ndarray:
    """Targets in [0, 1] from ratings: 0 or 1 at the extremes, 0.5 -/+ (0.5 - soft) at 4 / 7."""
    distance = np.where(ratings >= 7, 10 - ratings, ratings - 1) / 3.0  # 0 at 1/10, 1 at 4/7
    margin = 0.5 - soft * distance
    return np.where(ratings >= 7, 0.5 + margin, 0.5 - margin)


def split_ratings(home: Path) -> np.ndarray:
    """The star ratings of the fit then validation reviews, in the harness's order."""
    import pyarrow.parquet as pq

    from sentiment.core.paths import HomeLayout
    from sentiment.data.config import PreprocessConfig
    from sentiment.data.preprocess import validation_mask

    table = pq.read_table(HomeLayout(home).raw_split("train"), columns=["label", "rating"])
    train_labels = table.column("label").to_numpy().astype(np.int8)
    ratings = table.column("rating").to_numpy().astype(np.float64)
    defaults = PreprocessConfig()
    held = validation_mask(train_labels, defaults.validation_fraction, defaults.seed)
    return np.concatenate([ratings[~held], ratings[held]])


def nb_ratios(data: Sparse, targets: np.ndarray, size: int, alpha: float) -> np.ndarray:
    positive = column_sums(*data, targets, size) + alpha
    negative = column_sums(*data, 1.0 - targets, size) + alpha
    positive[:2] = negative[:2] = alpha
    ratios = np.log((positive / positive.sum()) / (negative / negative.sum()))
    ratios[:2] = 0.0
    return ratios


@numba.njit(cache=True)
def _epoch(
    ids,
    pointers,
    targets,
    order,
    ratios,
    weights,
    m,
    v,
    gradient,
    step,
    rate,
    batch,
    ema_decay,
    ema_weights,
    decay,
    dropout,
    seed,
):
    beta1, beta2, epsilon = 0.9, 0.999, 1e-7
    size = weights.shape[0]
    np.random.seed(seed)
    longest = 0
    for row in range(pointers.shape[0] - 1):
        longest = max(longest, pointers[row + 1] - pointers[row])
    keep = np.ones(longest)
    scale = 1.0 / (1.0 - dropout)
    for start in range(0, order.shape[0], batch):
        stop = min(start + batch, order.shape[0])
        count = stop - start
        for position in range(start, stop):
            row = order[position]
            logit = 0.0
            begin = pointers[row]
            for k in range(begin, pointers[row + 1]):
                if dropout > 0.0:
                    keep[k - begin] = scale if np.random.random() >= dropout else 0.0
                logit += keep[k - begin] * ratios[ids[k]] * weights[ids[k]]
            probability = 1.0 / (1.0 + math.exp(-logit))
            error = (probability - targets[row]) / count
            for k in range(begin, pointers[row + 1]):
                gradient[ids[k]] += error * keep[k - begin] * ratios[ids[k]]
        step += 1
        alpha = rate * math.sqrt(1.0 - beta2**step) / (1.0 - beta1**step)
        for i in range(size):
            g = gradient[i]
            m[i] += (g - m[i]) * (1.0 - beta1)
            v[i] += (g * g - v[i]) * (1.0 - beta2)
            weights[i] -= m[i] * alpha / (math.sqrt(v[i]) + epsilon) + decay * rate * weights[i]
            gradient[i] = 0.0
            if ema_decay > 0.0:
                ema_weights[i] = ema_decay * ema_weights[i] + (1.0 - ema_decay) * weights[i]
    return step


def logits_of(data: Sparse, ratios: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return row_sums(*data, ratios * weights)


def log_loss(logits: np.ndarray, targets: np.ndarray) -> float:
    return float(np.mean(np.logaddexp(0.0, logits) - targets * logits))


def train(
    fit: Sparse,
    y_fit: np.ndarray,
    stop: Sparse,
    y_stop: np.ndarray,
    size: int,
    variant: Variant,
    seed: int,
    trace: bool = False,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Train one model; early stopping on ``stop``'s loss. Returns (ratios, weights, epochs)."""
    ratio_targets = y_fit if variant.soft_ratios else (y_fit > 0.5).astype(np.float64)
    ratios = nb_ratios(fit, ratio_targets, size, variant.alpha)
    generator = np.random.default_rng(seed)
    scale = math.sqrt(2.0 / (size + 1))
    weights = np.clip(generator.normal(0.0, scale, size), -2 * scale, 2 * scale)
    m, v, gradient = np.zeros(size), np.zeros(size), np.zeros(size)
    ema_weights = weights.copy()
    step, best_loss, best, best_epoch, waited = 0, np.inf, weights.copy(), 0, 0
    for epoch in range(1, variant.epochs + 1):
        order = generator.permutation(len(y_fit))
        step = _epoch(
            *fit,
            y_fit,
            order,
            ratios,
            weights,
            m,
            v,
            gradient,
            step,
            variant.learning_rate,
            variant.batch_size,
            variant.ema,
            ema_weights,
            variant.l2,
            variant.dropout,
            seed * 1000 + epoch,
        )
        current = ema_weights if variant.ema > 0 else weights
        logits = logits_of(stop, ratios, current)
        loss = log_loss(logits, y_stop)
        if trace:
            print(
                json.dumps(
                    {
                        "epoch": epoch,
                        "val_loss": round(loss, 4),
                        "val_accuracy": float(np.mean((logits > 0) == (y_stop > 0.5))),
                    }
                )
            )
        if loss < best_loss:
            best_loss, best, best_epoch, waited = loss, current.copy(), epoch, 0
        else:
            waited += 1
            if waited > variant.patience:
                break
    return ratios, best, best_epoch


def ensemble_logits(fit, y_fit, stop, y_stop, size, variant, seed, evaluate):
    total, epochs = 0.0, []
    for offset in range(variant.seeds):
        ratios, weights, best_epoch = train(fit, y_fit, stop, y_stop, size, variant, seed + offset)
        total = total + logits_of(evaluate, ratios, weights)
        epochs.append(best_epoch)
    return total / variant.seeds, epochs


def with_pseudo_labels(fit, y_fit, stop, y_stop, unsup, size, variant, seed):
    """The fit reviews plus the teacher's most confident share of the unlabeled ones."""
    teacher = replace(variant, pseudo=0.0)
    logits, _ = ensemble_logits(fit, y_fit, stop, y_stop, size, teacher, seed, unsup)
    keep = np.argsort(-np.abs(logits))[: round(variant.pseudo * len(logits))]
    keep.sort()
    return concatenate(fit, subset(unsup, keep)), np.concatenate(
        [y_fit, (logits[keep] > 0).astype(np.float64)]
    )


def subset(data: Sparse, rows: np.ndarray) -> Sparse:
    ids, pointers = data
    lengths = pointers[rows + 1] - pointers[rows]
    new_pointers = np.zeros(len(rows) + 1, np.int64)
    np.cumsum(lengths, out=new_pointers[1:])
    return np.concatenate([ids[pointers[r] : pointers[r + 1]] for r in rows]), new_pointers


def folds(count: int, k: int = 5, seed: int = 7) -> list[np.ndarray]:
    return np.array_split(np.random.default_rng(seed).permutation(count), k)


def spherical_kmeans(vectors: np.ndarray, clusters: int, iterations: int, seed: int) -> np.ndarray:
    """Cluster ids of unit-normalized vectors (cosine k-means, k-means++-free random start)."""
    normed = vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9)
    generator = np.random.default_rng(seed)
    centres = normed[generator.choice(len(normed), clusters, replace=False)]
    for _ in range(iterations):
        assignment = np.argmax(normed @ centres.T, axis=1)
        sums = np.zeros_like(centres)
        np.add.at(sums, assignment, normed)
        empty = np.linalg.norm(sums, axis=1) == 0
        sums[empty] = normed[generator.choice(len(normed), int(empty.sum()), replace=False)]
        centres = sums / np.linalg.norm(sums, axis=1, keepdims=True)
    return np.argmax(normed @ centres.T, axis=1)


@numba.njit(cache=True)
def _cluster_bag(words, pointers, word_cluster, clusters, order, bits, out_ids, out_pointers):
    """Distinct hashed cluster 1..order-grams of each review (unknown words: cluster K)."""
    mask = (1 << bits) - 1
    written = 0
    seen = np.zeros(1 << bits, np.bool_)
    for row in range(len(pointers) - 1):
        start = written
        begin, end = pointers[row], pointers[row + 1]
        for position in range(begin, end):
            key = np.uint64(1469598103934665603)
            for n in range(order):
                if position + n >= end:
                    break
                word = words[position + n]
                cluster = word_cluster[word] if word >= 2 else clusters
                key = (key ^ np.uint64(cluster + 1 + n * 65536)) * np.uint64(1099511628211)
                slot = int(key & np.uint64(mask))
                if not seen[slot]:
                    seen[slot] = True
                    out_ids[written] = slot
                    written += 1
        for k in range(start, written):
            seen[out_ids[k]] = False
        out_pointers[row + 1] = written
    return written


def cluster_bags(work: Path, clusters: int, order: int, iterations: int = 12) -> None:
    """Step ``clusters``: word2vec clusters of the fit + unlabeled text, as n-gram bags."""
    started = time.process_time()
    vectors = np.load(work / "w2v_d100_e1.npy")[2:]
    assignment = spherical_kmeans(vectors, clusters, iterations, 0)
    word_cluster = np.concatenate([[0, 0], assignment]).astype(np.int64)
    for split in SPLITS:
        words, pointers = load_words(work, split)
        out_ids = np.empty(len(words) * order, np.int32)
        out_pointers = np.zeros(len(pointers), np.int64)
        written = _cluster_bag(
            words, pointers, word_cluster, clusters, order, CLUSTER_BITS, out_ids, out_pointers
        )
        np.save(work / f"cluster{clusters}x{order}_{split}_ids.npy", out_ids[:written])
        np.save(work / f"cluster{clusters}x{order}_{split}_pointers.npy", out_pointers)
    print(
        json.dumps(
            {
                "step": "clusters",
                "clusters": clusters,
                "order": order,
                "cpu_s": round(time.process_time() - started, 1),
            }
        )
    )


def part_bags(work: Path, where: str, tokens: int) -> None:
    """Step ``part``: the bag of only the first or last ``tokens`` tokens of each review.

    The verdict of a review is often in its last sentences; the same n-grams there get
    their own ids (and ratios), so a model can weigh them apart from the whole review's.
    """
    from research.toward_93 import load_text
    from sentiment.encoding.vectorizer import Vectorizer

    started = time.process_time()
    vectorizer = Vectorizer.load(work / "vectorizer.json")
    for split in SPLITS:
        data, pointers = load_text(work, split)
        text = data.tobytes()
        parts = []
        for row in range(len(pointers) - 1):
            words = text[pointers[row] : pointers[row + 1]].decode("utf-8").split()
            parts.append(" ".join(words[-tokens:] if where == "tail" else words[:tokens]))
        ids = vectorizer.encode(parts)
        present = ids > 0
        np.save(work / f"{where}{tokens}_{split}_ids.npy", ids[present].astype(np.int32))
        lengths = present.sum(axis=1).astype(np.int64)
        row_pointers = np.zeros(len(lengths) + 1, np.int64)
        np.cumsum(lengths, out=row_pointers[1:])
        np.save(work / f"{where}{tokens}_{split}_pointers.npy", row_pointers)
    print(
        json.dumps(
            {
                "step": "part",
                "where": where,
                "tokens": tokens,
                "cpu_s": round(time.process_time() - started, 1),
            }
        )
    )


@numba.njit(cache=True)
def _gram_keys(words, pointers, low, high, out_keys, out_rows):
    """Hash keys of every low..high-gram of each review (row-major), and their rows."""
    written = 0
    for row in range(len(pointers) - 1):
        begin, end = pointers[row], pointers[row + 1]
        for position in range(begin, end):
            key = np.uint64(1469598103934665603)
            for n in range(high):
                if position + n >= end:
                    break
                key = (key ^ np.uint64(words[position + n] + 1)) * np.uint64(1099511628211)
                if n + 1 >= low:
                    out_keys[written] = key ^ np.uint64(n)
                    out_rows[written] = row
                    written += 1
    return written


def gram_bags(home: Path, work: Path, low: int, high: int, minimum: int) -> None:
    """Step ``grams``: distinct low..high-grams (of plain tokens) seen in at least
    ``minimum`` reviews of fit + validation + unlabeled (no label is used), as a bag
    named ``gramsLtoH``, ids 2.. by first key order (the join needs ids < 2^21)."""
    from research.toward_93 import split_texts
    from sentiment.encoding.text import token_text

    started = time.process_time()
    texts, _ = split_texts(home)
    vocabulary: dict[str, int] = {}
    encoded = {}
    for split in SPLITS:
        words, pointers = [], [0]
        for text in texts[split]:
            tokens = token_text(text).split()
            words.extend(vocabulary.setdefault(token, len(vocabulary)) for token in tokens)
            pointers.append(len(words))
        encoded[split] = (np.asarray(words, np.int64), np.asarray(pointers, np.int64))
    keyed = {}
    for split, (words, pointers) in encoded.items():
        capacity = len(words) * (high - low + 1)
        keys, rows = np.empty(capacity, np.uint64), np.empty(capacity, np.int64)
        written = _gram_keys(words, pointers, low, high, keys, rows)
        rows, keys = rows[:written], keys[:written]
        order = np.lexsort((keys, rows))
        rows, keys = rows[order], keys[order]
        first = np.ones(len(keys), bool)
        first[1:] = (keys[1:] != keys[:-1]) | (rows[1:] != rows[:-1])
        keyed[split] = (rows[first], keys[first])
    counted = np.concatenate([keyed[split][1] for split in ("fit", "val", "unsup")])
    unique, counts = np.unique(counted, return_counts=True)
    kept = unique[counts >= minimum]
    limit = (1 << CLUSTER_BITS) - 2
    if len(kept) > limit:  # keep the most frequent
        kept = np.sort(unique[np.argsort(-counts, kind="stable")[:limit]])
    name = f"grams{low}to{high}"
    for split, (rows, keys) in keyed.items():
        position = np.searchsorted(kept, keys)
        found = (position < len(kept)) & (kept[np.minimum(position, len(kept) - 1)] == keys)
        ids = (position[found] + 2).astype(np.int32)
        lengths = np.bincount(rows[found], minlength=len(encoded[split][1]) - 1)
        pointers = np.zeros(len(lengths) + 1, np.int64)
        np.cumsum(lengths, out=pointers[1:])
        np.save(work / f"{name}_{split}_ids.npy", ids)
        np.save(work / f"{name}_{split}_pointers.npy", pointers)
    print(
        json.dumps(
            {
                "step": "grams",
                "name": name,
                "kept": len(kept),
                "ids_per_fit_review": round(
                    float(np.diff(np.load(work / f"{name}_fit_pointers.npy")).mean()), 1
                ),
                "cpu_s": round(time.process_time() - started, 1),
            }
        )
    )


def load_bags(work: Path, names: list[str], split: str) -> tuple[Sparse, int]:
    """The named bags of a split joined over disjoint id ranges, and the joint id space."""
    total, size = None, 0
    for name in names:
        if name == "words":
            data, width = load(work, split), int((work / "num_words.txt").read_text())
        elif name.startswith("words:"):
            other = Path(name.split(":", 1)[1])
            data, width = load(other, split), int((other / "num_words.txt").read_text())
        else:  # clusterKxN
            data = (
                np.load(work / f"{name}_{split}_ids.npy"),
                np.load(work / f"{name}_{split}_pointers.npy"),
            )
            width = 1 << CLUSTER_BITS
        data = shifted(data, size) if size else data
        total = data if total is None else joined(total, data)
        size += width
    return total, size


def inner_stop_sets(rest: np.ndarray, k: int, index: int) -> list[np.ndarray]:
    """The early-stopping rows of outer fold ``index``'s inner models: k = 1, one model
    stopped on the first 10% of ``rest`` (as the product's validation split); k > 1,
    the k folds of ``rest``, one per fold model."""
    if k == 1:
        return [rest[: len(rest) // 10]]
    return [rest[part] for part in folds(len(rest), k, seed=11 + index)]


@numba.njit(cache=True)
def _hidden_layer(ids, begin, end, ratios, table, bias, h):
    """Fill ``h`` with the hidden layer's input for one review (before the ReLU); return
    the scale of its NB-scaled bag (1 / sqrt of its id count)."""
    norm = 1.0 / math.sqrt(max(1, end - begin))
    for j in range(h.shape[0]):
        h[j] = bias[j, 0]
    for k in range(begin, end):
        r = ratios[ids[k]] * norm
        for j in range(h.shape[0]):
            h[j] += r * table[ids[k], j]
    return norm


@numba.njit(cache=True)
def _residual_epoch(ids, pointers, targets, order, ratios, offsets, table, bias, out, rate):
    """One epoch of per-review Adagrad on a hidden ReLU layer over the NB-scaled bag,
    whose output is added to a trained linear model's logit (``offsets``)."""
    hidden = table.shape[1] - 1  # the last column of ``table`` holds Adagrad's sums
    h = np.empty(hidden)
    for position in range(order.shape[0]):
        row = order[position]
        begin, end = pointers[row], pointers[row + 1]
        norm = _hidden_layer(ids, begin, end, ratios, table, bias, h)
        logit = offsets[row] + out[hidden, 0]
        for j in range(hidden):
            if h[j] > 0.0:
                logit += out[j, 0] * h[j]
        error = 1.0 / (1.0 + math.exp(-logit)) - targets[row]
        # Adagrad: column 1 of bias / out holds the sums of squared gradients.
        g = error
        out[hidden, 1] += g * g
        out[hidden, 0] -= rate * g / math.sqrt(out[hidden, 1] + 1e-8)
        for j in range(hidden):
            if h[j] <= 0.0:
                continue
            go = error * h[j]
            gh = error * out[j, 0]
            out[j, 1] += go * go
            out[j, 0] -= rate * go / math.sqrt(out[j, 1] + 1e-8)
            bias[j, 1] += gh * gh
            bias[j, 0] -= rate * gh / math.sqrt(bias[j, 1] + 1e-8)
            for k in range(begin, end):
                ge = gh * ratios[ids[k]] * norm
                table[ids[k], hidden] += ge * ge / hidden
        for k in range(begin, end):
            step = rate / math.sqrt(table[ids[k], hidden] + 1e-8)
            r = ratios[ids[k]] * norm
            for j in range(hidden):
                if h[j] > 0.0:
                    table[ids[k], j] -= step * error * out[j, 0] * r


@numba.njit(cache=True)
def _residual_logits(ids, pointers, ratios, offsets, table, bias, out):
    hidden = table.shape[1] - 1
    result = offsets.copy()
    h = np.empty(hidden)
    for row in range(pointers.shape[0] - 1):
        _hidden_layer(ids, pointers[row], pointers[row + 1], ratios, table, bias, h)
        result[row] += out[hidden, 0]
        for j in range(hidden):
            if h[j] > 0.0:
                result[row] += out[j, 0] * h[j]
    return result


def _stopped_model(labelled, y_all, rest, index, size, variant, seed):
    """Outer fold ``index``'s model as the product trains it: stopped early on the first
    10% of ``rest``. Returns (fit rows, stop rows, ratios, weights, epochs)."""
    (stop_rows,) = inner_stop_sets(rest, 1, index)
    fit_rows = np.setdiff1d(rest, stop_rows)
    ratios, weights, epochs = _train_rows(labelled, y_all, fit_rows, stop_rows, size, variant, seed)
    return fit_rows, stop_rows, ratios, weights, epochs


def _train_rows(labelled, y_all, fit_rows, stop_rows, size, variant, seed):
    """``train`` on the labelled rows ``fit_rows``, stopped early on ``stop_rows``."""
    return train(
        subset(labelled, fit_rows),
        y_all[fit_rows],
        subset(labelled, stop_rows),
        y_all[stop_rows],
        size,
        variant,
        seed,
    )


def _report(work: Path, prefix: str, models: dict[str, np.ndarray], y_all, started) -> None:
    """Save each model's out-of-fold logits as ``{prefix}_{name}.npy`` and print its scores."""
    for name, logits in models.items():
        np.save(work / f"{prefix}_{name}.npy", logits)
        correct = (logits > 0) == (y_all > 0.5)
        print(
            json.dumps(
                {
                    "model": name,
                    "cv_accuracy": round(float(correct.mean()), 4),
                    "cv_log_loss": round(log_loss(logits, y_all), 4),
                }
            )
        )
    print(json.dumps({"cpu_s": round(time.process_time() - started, 1)}))


def residual(labelled, y_all, parts, size, variant, work, hidden, rate, epochs) -> None:
    """A hidden ReLU layer over the NB-scaled bag, trained on the residual of the trained
    linear model (its logit is the offset), stopped early on the same 10%: can word
    interactions add what the linear model misses?"""
    started = time.process_time()
    linear, deep = np.zeros(len(y_all)), np.zeros(len(y_all))
    for index, held in enumerate(parts):
        rest = np.concatenate([p for j, p in enumerate(parts) if j != index])
        fit_rows, stop_rows, ratios, weights, _ = _stopped_model(
            labelled, y_all, rest, index, size, variant, 100 + index
        )
        fit_data, stop_data = subset(labelled, fit_rows), subset(labelled, stop_rows)
        held_data = subset(labelled, held)
        offsets = {
            name: logits_of(data, ratios, weights)
            for name, data in (("fit", fit_data), ("stop", stop_data), ("held", held_data))
        }
        linear[held] = offsets["held"]
        generator = np.random.default_rng(900 + index)
        table = np.zeros((size, hidden + 1))
        table[:, :hidden] = generator.normal(0.0, 0.1, (size, hidden))
        bias = np.zeros((hidden, 2))
        out = np.zeros((hidden + 1, 2))
        out[:hidden, 0] = generator.normal(0.0, 0.01, hidden)
        linear_loss = log_loss(offsets["stop"], y_all[stop_rows])
        best = (linear_loss, table.copy(), bias.copy(), out.copy())
        trace = []
        for _ in range(epochs):
            order = generator.permutation(len(fit_rows))
            _residual_epoch(
                *fit_data, y_all[fit_rows], order, ratios, offsets["fit"], table, bias, out, rate
            )
            loss = log_loss(
                _residual_logits(*stop_data, ratios, offsets["stop"], table, bias, out),
                y_all[stop_rows],
            )
            trace.append(round(loss, 4))
            if loss < best[0]:
                best = (loss, table.copy(), bias.copy(), out.copy())
        deep[held] = _residual_logits(*held_data, ratios, offsets["held"], *best[1:])
        print(
            json.dumps(
                {"fold": index, "stop_losses": trace, "linear_stop_loss": round(linear_loss, 4)}
            )
        )
    _report(work, f"residual_{hidden}", {"linear": linear, "residual": deep}, y_all, started)


def refit(labelled, y_all, parts, size, variant, work) -> None:
    """Refitting on all labelled reviews, without the test split: in each outer fold one
    model is stopped early on 10% of the other four fifths (as the product trains), then
    a second one is trained on all four fifths for the first one's number of epochs."""
    started = time.process_time()
    stopped, refitted = np.zeros(len(y_all)), np.zeros(len(y_all))
    for index, held in enumerate(parts):
        rest = np.concatenate([p for j, p in enumerate(parts) if j != index])
        held_data = subset(labelled, held)
        *_, ratios, weights, epochs = _stopped_model(
            labelled, y_all, rest, index, size, variant, 700 + index
        )
        stopped[held] = logits_of(held_data, ratios, weights)
        everything = subset(labelled, rest)
        # Fixed epochs: the "stop" set is the training data, whose loss only falls.
        ratios, weights, _ = train(
            everything,
            y_all[rest],
            everything,
            y_all[rest],
            size,
            replace(variant, epochs=epochs, patience=99),
            700 + index,
        )
        refitted[held] = logits_of(held_data, ratios, weights)
    _report(work, "refit", {"stopped": stopped, "refitted": refitted}, y_all, started)


# Sentence boundaries in the raw text: the product's tokens drop "." and line breaks, so
# sentences are cut before tokenizing.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|<br\s*/?>", re.IGNORECASE)


def sentence_bags(texts: list[str], vectorizer) -> tuple[Sparse, np.ndarray]:
    """The sentences of ``texts`` as bags of ``vectorizer``.

    Returns:
        The bags and each sentence's review.
    """
    sentences, owners = [], []
    for review, text in enumerate(texts):
        pieces = [piece for piece in _SENTENCE_END.split(text) if piece.strip()] or [text]
        sentences.extend(pieces)
        owners.extend([review] * len(pieces))
    ids = vectorizer.encode(sentences)
    present = ids > 0
    pointers = np.zeros(len(sentences) + 1, np.int64)
    np.cumsum(present.sum(axis=1), out=pointers[1:])
    return (ids[present].astype(np.int32), pointers), np.asarray(owners, np.int64)


def _sentence_features(logits: np.ndarray, owners: np.ndarray, reviews: int) -> np.ndarray:
    """Per review: its first, last, mean, largest, smallest and summed sentence logit,
    the mean of its last three and the share of positive ones (``owners`` is sorted, so
    each review's sentences are one run)."""
    starts = np.searchsorted(owners, np.arange(reviews))
    ends = np.searchsorted(owners, np.arange(reviews), side="right")
    features = np.zeros((reviews, 8))
    for review in range(reviews):
        own = logits[starts[review] : ends[review]]
        features[review] = (
            own[0],
            own[-1],
            own.mean(),
            own.max(),
            own.min(),
            own.sum(),
            own[-3:].mean(),
            (own > 0).mean(),
        )
    return features


@dataclass
class _SentenceScores:
    """One review set's logits: the review model on reviews and on sentences, and the
    sentence model on sentences."""

    document: np.ndarray
    on_sentences: np.ndarray
    own: np.ndarray

    def features(self, owners: np.ndarray) -> np.ndarray:
        reviews = len(self.document)
        return np.column_stack(
            [
                self.document,
                _sentence_features(self.on_sentences, owners, reviews),
                _sentence_features(self.own, owners, reviews),
            ]
        )


def sentence_stacking(labelled, y_all, parts, size, variant, sentence_variant, args) -> None:
    """Stacking on sentence scores. In each outer fold a review model (trained as the
    product trains) scores the held-out reviews and their sentences, and a sentence
    model (each fit sentence labelled with its review's label, stopped on the same 10%)
    scores the sentences; a logistic regression over the review logit and both models'
    sentence features is judged by a second 5-fold CV over these out-of-fold features.
    With ``--test``, the stacker fitted on all of them scores the test reviews with the
    five fold models averaged (the only step that reads the test split)."""
    from sentiment.encoding.vectorizer import Vectorizer

    work = args.work
    started = time.process_time()
    texts, _ = split_texts(args.home)
    vectorizer = Vectorizer.load(work / "vectorizer.json")
    sentences, owners = sentence_bags(texts["fit"] + texts["val"], vectorizer)
    sentence_rows = np.arange(len(owners))
    reviews = len(y_all)
    scores = _SentenceScores(np.zeros(reviews), np.zeros(len(owners)), np.zeros(len(owners)))
    if args.test:
        test = load_bags(work, args.bags.split(","), "test")[0]
        test_sentences, test_owners = sentence_bags(texts["test"], vectorizer)
    review_total, sentence_total, epochs = 0.0, 0.0, []
    for index, held in enumerate(parts):
        rest = np.concatenate([p for j, p in enumerate(parts) if j != index])
        fit_rows, stop_rows, ratios, weights, review_epochs = _stopped_model(
            labelled, y_all, rest, index, size, variant, 100 + index
        )
        fit_sentences = sentence_rows[np.isin(owners, fit_rows)]
        stop_sentences = sentence_rows[np.isin(owners, stop_rows)]
        own_ratios, own_weights, own_epochs = train(
            subset(sentences, fit_sentences),
            y_all[owners[fit_sentences]],
            subset(sentences, stop_sentences),
            y_all[owners[stop_sentences]],
            size,
            sentence_variant,
            200 + index,
        )
        epochs.append((review_epochs, own_epochs))
        mine = sentence_rows[np.isin(owners, held)]
        held_sentences = subset(sentences, mine)
        scores.document[held] = logits_of(subset(labelled, held), ratios, weights)
        scores.on_sentences[mine] = logits_of(held_sentences, ratios, weights)
        scores.own[mine] = logits_of(held_sentences, own_ratios, own_weights)
        # Each model is one linear weight per id, so the fold models average into one
        # review model and one sentence model, which score as fast as a single one.
        review_total = review_total + ratios * weights / len(parts)
        sentence_total = sentence_total + own_ratios * own_weights / len(parts)
    features = scores.features(owners)
    mean, spread = features.mean(axis=0), features.std(axis=0)
    features = (features - mean) / spread
    stacked = np.zeros(reviews)
    for held in folds(reviews, seed=11):
        rows = np.setdiff1d(np.arange(reviews), held)
        point = train_dense_lr(features[rows], y_all[rows], 1e-4)
        stacked[held] = features[held] @ point[:-1] + point[-1]
    print(json.dumps({"epochs (review, sentence model)": epochs}))
    prefix = f"sentences_{args.sentence_variant}"
    _report(work, prefix, {"document": scores.document, "stacked": stacked}, y_all, started)
    if not args.test:
        return
    from sentiment.release.metrics import bootstrap_accuracy_interval

    point = train_dense_lr(features, y_all, 1e-4)
    y_test = labels(work, "test")
    ones = np.ones(size)
    test_features = _SentenceScores(
        logits_of(test, ones, review_total),
        logits_of(test_sentences, ones, review_total),
        logits_of(test_sentences, ones, sentence_total),
    ).features(test_owners)
    models = {
        "5-fold review models": test_features[:, 0],
        "stacked": ((test_features - mean) / spread) @ point[:-1] + point[-1],
    }
    for name, logits in models.items():
        np.save(work / f"{prefix}_test_{name.split()[0]}.npy", logits)
        correct = (logits > 0) == (y_test > 0.5)
        low, high = bootstrap_accuracy_interval(correct)
        print(
            json.dumps(
                {
                    "model": name,
                    "test_accuracy": round(float(correct.mean()), 4),
                    "ci": [round(low, 4), round(high, 4)],
                }
            )
        )


def _policy_correct(calibration_logits, calibration_labels, logits, targets) -> dict:
    """Which held-out reviews each decision rule gets right, with Platt scaling and the
    accuracy-maximizing threshold fitted as the product fits them."""
    from sentiment.modeling.calibration import best_threshold, fit_platt

    calibration = fit_platt(calibration_logits, calibration_labels)
    threshold, _ = best_threshold(calibration.apply_logits(calibration_logits), calibration_labels)
    calibrated = calibration.apply_logits(logits)
    positive = targets > 0.5
    return {
        "raw logit > 0": (logits > 0) == positive,
        "calibrated >= 0.5": (calibrated >= 0.5) == positive,
        "calibrated >= chosen": (calibrated >= threshold) == positive,
        "threshold": threshold,
    }


def threshold_policies(labelled, y_all, parts, size, variant, inner_folds, work) -> None:
    """Nested CV of the product's decision rules, without the test split.

    For each outer fold the model (k = 1: one model stopped on 10% of the other four
    fifths, whose logits also fit Platt scaling and the threshold, as preprocessing's
    validation split does; k > 1: a k-fold ensemble calibrated on its inner out-of-fold
    logits, as ``--folds k`` does) scores the held-out fifth under three rules: raw logit
    > 0, calibrated score >= 0.5, calibrated score >= the threshold that maximized
    accuracy on the calibration logits. Prints each rule's accuracy and the paired
    difference of the chosen threshold against 0.5 with a bootstrap 95% CI; then, for
    k = 1, the same difference averaged over 1,000 random 2,500-review calibration sets
    drawn from the out-of-fold logits (the spread of the threshold choice itself).
    """
    generator = np.random.default_rng(5)
    for k in [int(value) for value in inner_folds.split(",")]:
        started = time.process_time()
        rules: dict[str, list[np.ndarray]] = {}
        thresholds, out_of_fold = [], np.zeros(len(y_all))
        for index, held in enumerate(parts):
            rest = np.concatenate([p for j, p in enumerate(parts) if j != index])
            inner = inner_stop_sets(rest, k, index)
            held_total, inner_logits = 0.0, np.zeros(len(y_all))
            for number, stop_rows in enumerate(inner):
                fit_rows = np.setdiff1d(rest, stop_rows)
                ratios, weights, _ = _train_rows(
                    labelled, y_all, fit_rows, stop_rows, size, variant, 500 + 17 * index + number
                )
                held_total = held_total + logits_of(subset(labelled, held), ratios, weights)
                inner_logits[stop_rows] = logits_of(subset(labelled, stop_rows), ratios, weights)
            calibration_rows = np.concatenate(inner)
            held_logits = held_total / len(inner)
            out_of_fold[held] = held_logits
            result = _policy_correct(
                inner_logits[calibration_rows], y_all[calibration_rows], held_logits, y_all[held]
            )
            thresholds.append(round(result.pop("threshold"), 4))
            for rule, correct in result.items():
                rules.setdefault(rule, []).append(correct)
        joined_rules = {rule: np.concatenate(parts_) for rule, parts_ in rules.items()}
        difference = joined_rules["calibrated >= chosen"].astype(float) - joined_rules[
            "calibrated >= 0.5"
        ].astype(float)
        draws = generator.integers(0, len(difference), (2000, len(difference)))
        means = difference[draws].mean(axis=1)
        row = {
            "inner_folds": k,
            **{rule: round(float(c.mean()), 4) for rule, c in joined_rules.items()},
            "thresholds": thresholds,
            "chosen minus 0.5": round(float(difference.mean()), 5),
            "ci": [round(float(v), 5) for v in np.percentile(means, [2.5, 97.5])],
            "cpu_s": round(time.process_time() - started, 1),
        }
        if k == 1:
            gains = []
            for _ in range(1000):
                picked = generator.permutation(len(y_all))
                calibration_rows, rows = picked[:2500], picked[2500:]
                result = _policy_correct(
                    out_of_fold[calibration_rows],
                    y_all[calibration_rows],
                    out_of_fold[rows],
                    y_all[rows],
                )
                gains.append(
                    float(
                        result["calibrated >= chosen"].mean() - result["calibrated >= 0.5"].mean()
                    )
                )
            gains_array = np.array(gains)
            row["resampled: chosen minus 0.5"] = {
                "mean": round(float(gains_array.mean()), 5),
                "median": round(float(np.median(gains_array)), 5),
                "share below 0": round(float(np.mean(gains_array < 0)), 3),
                "percentiles 5, 95": [
                    round(float(v), 5) for v in np.percentile(gains_array, [5, 95])
                ],
            }
        print(json.dumps(row))
        np.save(work / f"threshold_oof_{k}.npy", out_of_fold)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--variants", default="base")
    parser.add_argument(
        "--bags", default="words", help="bags to join: words, words:DIR, clusterKxN"
    )
    parser.add_argument("--clusters", type=int, default=500)
    parser.add_argument("--order", type=int, default=3)
    parser.add_argument("--where", choices=["head", "tail"], default="tail")
    parser.add_argument("--tokens", type=int, default=50)
    parser.add_argument("--inner-folds", default="1,5,10", help="nested: ensemble sizes")
    parser.add_argument("--home", type=Path, help="a home with raw IMDB (soft variants, grams)")
    parser.add_argument("--grams", default="4,4,3", help="grams: lowest,highest,min reviews")
    parser.add_argument("--hidden", type=int, default=16, help="residual: hidden units")
    parser.add_argument("--rate", type=float, default=0.05, help="residual: Adagrad rate")
    parser.add_argument("--epochs", type=int, default=5, help="residual: epochs")
    parser.add_argument("--sentence-variant", default="base", help="sentences: its model")
    parser.add_argument("--test", action="store_true", help="sentences: score test (final)")
    parser.add_argument(
        "experiment",
        choices=[
            "replica",
            "cv",
            "nested",
            "threshold",
            "final",
            "clusters",
            "part",
            "grams",
            "refit",
            "residual",
            "sentences",
        ],
    )
    args = parser.parse_args()
    work = args.work
    if args.experiment == "grams":
        low, high, minimum = (int(value) for value in args.grams.split(","))
        gram_bags(args.home, work, low, high, minimum)
        return
    if args.experiment == "part":
        part_bags(work, args.where, args.tokens)
        return
    if args.experiment == "clusters":
        cluster_bags(work, args.clusters, args.order)
        return
    bags = args.bags.split(",")
    (fit, size), (val, _) = load_bags(work, bags, "fit"), load_bags(work, bags, "val")
    y_fit, y_val = labels(work, "fit"), labels(work, "val")
    variants = [(name, VARIANTS[name]) for name in args.variants.split(",")]
    if args.experiment == "replica":
        for name, variant in variants:
            started = time.process_time()
            train(fit, y_fit, val, y_val, size, replace(variant, patience=99), 42, trace=True)
            print(json.dumps({"variant": name, "cpu_s": round(time.process_time() - started, 1)}))
        return
    labelled = concatenate(fit, val)
    y_all = np.concatenate([y_fit, y_val])
    parts = folds(len(y_all))
    if args.experiment == "nested":
        # The fold ensemble's worth without the test split: each outer fold's held-out
        # reviews are scored by an ensemble of k models trained on the other four fifths
        # (k = 1: one model stopped on 10% of them, as the product does today).
        variant = variants[0][1]
        for k in [int(value) for value in args.inner_folds.split(",")]:
            started = time.process_time()
            out_of_fold = np.zeros(len(y_all))
            for index, held in enumerate(parts):
                rest = np.concatenate([p for j, p in enumerate(parts) if j != index])
                inner = inner_stop_sets(rest, k, index)
                total = 0.0
                for number, stop_rows in enumerate(inner):
                    fit_rows = np.setdiff1d(rest, stop_rows)
                    logits, _ = ensemble_logits(
                        subset(labelled, fit_rows),
                        y_all[fit_rows],
                        subset(labelled, stop_rows),
                        y_all[stop_rows],
                        size,
                        variant,
                        500 + 17 * index + number,
                        subset(labelled, held),
                    )
                    total = total + logits
                out_of_fold[held] = total / len(inner)
            correct = (out_of_fold > 0) == (y_all > 0.5)
            np.save(work / f"nested_{k}.npy", out_of_fold)
            print(
                json.dumps(
                    {
                        "inner_folds": k,
                        "cv_accuracy": round(float(correct.mean()), 4),
                        "cv_log_loss": round(log_loss(out_of_fold, y_all), 4),
                        "cpu_s": round(time.process_time() - started, 1),
                    }
                )
            )
        return
    if args.experiment == "residual":
        residual(
            labelled, y_all, parts, size, variants[0][1], work, args.hidden, args.rate, args.epochs
        )
        return
    if args.experiment == "sentences":
        sentence_stacking(
            labelled, y_all, parts, size, variants[0][1], VARIANTS[args.sentence_variant], args
        )
        return
    if args.experiment == "refit":
        refit(labelled, y_all, parts, size, variants[0][1], work)
        return
    if args.experiment == "threshold":
        threshold_policies(labelled, y_all, parts, size, variants[0][1], args.inner_folds, work)
        return
    if args.experiment == "cv":
        unsup = load_bags(work, bags, "unsup")[0] if any(v.pseudo for _, v in variants) else None
        rated = any(v.soft or v.borderline for _, v in variants)
        ratings = split_ratings(args.home) if rated else None
        if ratings is not None:
            assert np.array_equal(ratings >= 7, y_all > 0.5), "ratings and labels disagree"
        for name, variant in variants:
            started = time.process_time()
            out_of_fold, epochs = np.zeros(len(y_all)), []
            for index, held in enumerate(parts):
                rest = np.concatenate([p for j, p in enumerate(parts) if j != index])
                # Early stopping needs reviews the weights never saw: the last 10% of the
                # training folds, as preprocessing holds out 10% of train.
                cut = len(rest) // 10
                stop_rows, fit_rows = rest[:cut], rest[cut:]
                if variant.borderline:
                    near = fit_rows[np.isin(ratings[fit_rows], (4, 7))]
                    fit_rows = np.concatenate([fit_rows] + [near] * variant.borderline)
                fit_data, y_fit_rows = subset(labelled, fit_rows), y_all[fit_rows]
                if variant.soft > 0:
                    y_fit_rows = soft_targets(ratings[fit_rows], variant.soft)
                if variant.pseudo > 0:
                    fit_data, y_fit_rows = with_pseudo_labels(
                        fit_data,
                        y_fit_rows,
                        subset(labelled, stop_rows),
                        y_all[stop_rows],
                        unsup,
                        size,
                        variant,
                        300 + index,
                    )
                logits, fold_epochs = ensemble_logits(
                    fit_data,
                    y_fit_rows,
                    subset(labelled, stop_rows),
                    y_all[stop_rows],
                    size,
                    variant,
                    100 + index,
                    subset(labelled, held),
                )
                out_of_fold[held] = logits
                epochs.extend(fold_epochs)
            correct = (out_of_fold > 0) == (y_all > 0.5)
            print(
                json.dumps(
                    {
                        "variant": name,
                        "bags": args.bags,
                        "cv_accuracy": round(float(correct.mean()), 4),
                        "standard_error": round(float(correct.std() / math.sqrt(len(correct))), 4),
                        "cv_log_loss": round(log_loss(out_of_fold, y_all), 4),
                        "epochs": epochs,
                        "cpu_s": round(time.process_time() - started, 1),
                    }
                )
            )
            tag = args.bags.replace("/", "_").replace(":", "_")
            np.save(work / f"oof_{name}_{tag}.npy", out_of_fold)
        return
    from sentiment.release.metrics import bootstrap_accuracy_interval

    (test, _), y_test = load_bags(work, bags, "test"), labels(work, "test")
    for name, variant in variants:
        started = time.process_time()
        single, epochs = ensemble_logits(fit, y_fit, val, y_val, size, variant, 42, test)
        fold_total = 0.0
        for index, held in enumerate(parts):
            rest = np.concatenate([p for j, p in enumerate(parts) if j != index])
            logits, _ = ensemble_logits(
                subset(labelled, rest),
                y_all[rest],
                subset(labelled, held),
                y_all[held],
                size,
                variant,
                200 + index,
                test,
            )
            fold_total = fold_total + logits
        for label, logits in (("product split", single), ("5-fold ensemble", fold_total / 5)):
            correct = (logits > 0) == (y_test > 0.5)
            low, high = bootstrap_accuracy_interval(correct)
            print(
                json.dumps(
                    {
                        "variant": name,
                        "model": label,
                        "test_accuracy": round(float(correct.mean()), 4),
                        "ci": [round(low, 4), round(high, 4)],
                        "epochs": epochs,
                    }
                )
            )
            np.save(work / f"nbsvm_test_{name}_{label.split()[0]}.npy", logits)
        print(
            json.dumps(
                {
                    "variant": name,
                    "bags": args.bags,
                    "cpu_s": round(time.process_time() - started, 1),
                }
            )
        )


if __name__ == "__main__":
    main()

"""Modeling experiments toward 93% test accuracy: NB-weighted n-gram bags and the unlabeled reviews.

A scratch harness, not the product's training path: it fits the default nbsvm vectorizer
(800,000 uni/bi/trigram ids, bag) on the same 22,500-review training portion that
preprocessing keeps (validation = 10% of train, seed 42), encodes train, validation,
test and the 50,000 unlabeled reviews once into compressed sparse rows under ``--work``,
then trains numpy/numba models on them:

* ``nblr``: logistic regression on NB-scaled binary features, L2 (full-batch L-BFGS), plus
  Wang & Manning's interpolation toward the mean weight magnitude (beta);
* ``self-train``: NB ratios and weights refitted on train + pseudo-labeled unlabeled reviews
  (all, or the 60% / 30% most confident);
* ``fasttext``: mean of learned n-gram embeddings -> logistic output (sparse SGD), alone,
  trained on train + NB-LR pseudo-labels of the unlabeled reviews, and averaged with NB-LR;
* ``doc2vecc``: unsupervised n-gram embeddings from train + unlabeled reviews (the mean of a
  review's corrupted embeddings predicts its own ids, negative sampling), mean-pooled
  features -> logistic regression, and averaged with NB-LR;
* ``final``: the candidates chosen on validation, scored once on test with a 95% bootstrap CI.

Every figure is validation accuracy unless the experiment is ``final``; ensemble weights are
picked on validation. Usage (one experiment at a time; CPU seconds are printed because the
shared 2-core VM inflates wall times)::

    nice -n 15 .venv/bin/python benchmarks/toward_93.py --home HOME --work DIR prepare
    nice -n 15 .venv/bin/python benchmarks/toward_93.py --home HOME --work DIR nblr
    ... self-train | fasttext | doc2vecc | final
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numba
import numpy as np

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY_ROOT))

Sparse = tuple[np.ndarray, np.ndarray]  # (ids, row pointers)
SPLITS = ("fit", "val", "test", "unsup")


# --- data ---------------------------------------------------------------------------------


def prepare(home: Path, work: Path, unlabeled_vocabulary: bool) -> None:
    """Fit the vectorizer and store every split as sparse bags under ``work``."""
    import pyarrow.parquet as pq

    from sentiment.core.paths import HomeLayout
    from sentiment.data.config import PreprocessConfig
    from sentiment.data.preprocess import validation_mask
    from sentiment.encoding.vocabulary import fit_vectorizer
    from sentiment.modeling.config import get_model_spec

    layout = HomeLayout(home)

    def read(split: str) -> tuple[list[str], np.ndarray]:
        table = pq.read_table(layout.raw_split(split), columns=["text", "label"])
        labels = table.column("label").to_numpy(zero_copy_only=False)
        return table.column("text").to_pylist(), np.asarray(labels)

    train_texts, train_labels = read("train")
    test_texts, test_labels = read("test")
    unlabeled_texts, _ = read("unsup")
    defaults = PreprocessConfig()
    is_validation = validation_mask(
        train_labels.astype(np.int8), defaults.validation_fraction, defaults.seed
    )
    texts = {
        "fit": [text for text, held in zip(train_texts, is_validation, strict=True) if not held],
        "val": [text for text, held in zip(train_texts, is_validation, strict=True) if held],
        "test": test_texts,
        "unsup": unlabeled_texts,
    }
    work.mkdir(parents=True, exist_ok=True)
    np.save(work / "y_fit.npy", train_labels[~is_validation])
    np.save(work / "y_val.npy", train_labels[is_validation])
    np.save(work / "y_test.npy", test_labels)
    config = get_model_spec("nbsvm").vectorizer
    started = time.process_time()
    corpus = texts["fit"] + (texts["unsup"] if unlabeled_vocabulary else [])
    vectorizer = fit_vectorizer(corpus, config)
    print(json.dumps({"step": "fit vectorizer", "cpu_s": round(time.process_time() - started, 1)}))
    for split, split_texts in texts.items():
        ids = vectorizer.encode(split_texts)
        present = ids > 0
        np.save(work / f"{split}_ids.npy", ids[present].astype(np.int32))
        np.save(work / f"{split}_lengths.npy", present.sum(axis=1).astype(np.int64))
    (work / "num_words.txt").write_text(str(config.num_words))


def load(work: Path, split: str) -> Sparse:
    lengths = np.load(work / f"{split}_lengths.npy")
    pointers = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=pointers[1:])
    return np.load(work / f"{split}_ids.npy"), pointers


def labels(work: Path, split: str) -> np.ndarray:
    return np.load(work / f"y_{split}.npy").astype(np.float64)


def concatenate(first: Sparse, second: Sparse) -> Sparse:
    return (
        np.concatenate([first[0], second[0]]),
        np.concatenate([first[1], second[1][1:] + first[1][-1]]),
    )


# --- kernels ------------------------------------------------------------------------------


@numba.njit(parallel=True, cache=True)
def row_sums(ids: np.ndarray, pointers: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per row, the sum of ``values`` over its ids: X @ values for a binary X."""
    rows = len(pointers) - 1
    out = np.empty(rows)
    for row in numba.prange(rows):
        total = 0.0
        for k in range(pointers[row], pointers[row + 1]):
            total += values[ids[k]]
        out[row] = total
    return out


@numba.njit(cache=True)
def column_sums(
    ids: np.ndarray, pointers: np.ndarray, weights: np.ndarray, size: int
) -> np.ndarray:
    """X.T @ weights for a binary X."""
    out = np.zeros(size)
    for row in range(len(pointers) - 1):
        for k in range(pointers[row], pointers[row + 1]):
            out[ids[k]] += weights[row]
    return out


@numba.njit(parallel=True, cache=True)
def mean_embedding(ids: np.ndarray, pointers: np.ndarray, table: np.ndarray) -> np.ndarray:
    rows = len(pointers) - 1
    out = np.zeros((rows, table.shape[1]))
    for row in numba.prange(rows):
        start, stop = pointers[row], pointers[row + 1]
        if stop > start:
            for k in range(start, stop):
                out[row] += table[ids[k]]
            out[row] /= stop - start
    return out


@numba.njit(cache=True)
def train_fasttext(ids, pointers, targets, dim, epochs, rate, seed, table):
    """Sparse SGD on sigmoid(b + u . mean(E[ids])), linearly decaying rate (fastText)."""
    np.random.seed(seed)
    table = table.copy()
    weights = np.zeros(dim)
    bias = 0.0
    rows = len(pointers) - 1
    total, step = epochs * rows, 0
    hidden = np.zeros(dim)
    for _ in range(epochs):
        for row in np.random.permutation(rows):
            current = rate * (1.0 - step / total)
            step += 1
            start, stop = pointers[row], pointers[row + 1]
            if stop == start:
                continue
            hidden[:] = 0.0
            for k in range(start, stop):
                hidden += table[ids[k]]
            hidden /= stop - start
            logit = bias
            for j in range(dim):
                logit += weights[j] * hidden[j]
            gradient = 1.0 / (1.0 + np.exp(-logit)) - targets[row]
            back = gradient * weights / (stop - start)
            weights -= current * gradient * hidden
            bias -= current * gradient
            for k in range(start, stop):
                table[ids[k]] -= current * back
    return table, weights, bias


@numba.njit(cache=True)
def train_doc2vecc(
    ids, pointers, table, context, epochs, rate, samples, negatives, keep, seed, noise
):
    """The mean of a review's corrupted embeddings predicts its own ids (negative sampling)."""
    np.random.seed(seed)
    rows, dim = len(pointers) - 1, table.shape[1]
    total, step = epochs * rows, 0
    hidden = np.zeros(dim)
    back = np.zeros(dim)
    for _ in range(epochs):
        for row in np.random.permutation(rows):
            current = rate * max(1e-4, 1.0 - step / total)
            step += 1
            start, stop = pointers[row], pointers[row + 1]
            size = stop - start
            if size < 2:
                continue
            kept = np.empty(size, np.int64)
            used = 0
            for k in range(start, stop):
                if np.random.random() < keep:
                    kept[used] = ids[k]
                    used += 1
            if used == 0:
                continue
            hidden[:] = 0.0
            for i in range(used):
                hidden += table[kept[i]]
            hidden /= size * keep
            back[:] = 0.0
            for _sample in range(samples):
                target = ids[start + np.random.randint(size)]
                for j in range(negatives + 1):
                    word = target if j == 0 else noise[np.random.randint(len(noise))]
                    label = 1.0 if j == 0 else 0.0
                    logit = 0.0
                    for q in range(dim):
                        logit += hidden[q] * context[word, q]
                    logit = min(6.0, max(-6.0, logit))
                    gradient = (label - 1.0 / (1.0 + np.exp(-logit))) * current
                    for q in range(dim):
                        back[q] += gradient * context[word, q]
                        context[word, q] += gradient * hidden[q]
            back /= keep
            for i in range(used):
                table[kept[i]] += back
    return table


# --- models -------------------------------------------------------------------------------


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * logits))


def accuracy(logits: np.ndarray, targets: np.ndarray) -> float:
    return float(np.mean((logits > 0) == (targets > 0.5)))


def nb_ratios(data: Sparse, targets: np.ndarray, size: int, weights: np.ndarray | None = None):
    """Naive-Bayes log-count ratios (alpha 1), as sentiment.modeling.zoo.naive_bayes_ratios."""
    weights = np.ones(len(targets)) if weights is None else weights
    positive = column_sums(*data, weights * targets, size) + 1.0
    negative = column_sums(*data, weights * (1.0 - targets), size) + 1.0
    positive[:2] = negative[:2] = 1.0
    ratios = np.log((positive / positive.sum()) / (negative / negative.sum()))
    ratios[:2] = 0.0
    return ratios


def lbfgs(objective: Callable, start: np.ndarray, iterations: int = 300, memory: int = 10):
    """Minimize ``objective`` (returning loss and gradient) with L-BFGS and backtracking."""
    point = start.copy()
    loss, gradient = objective(point)
    steps: list[tuple[np.ndarray, np.ndarray]] = []
    iteration = 0
    for iteration in range(iterations):  # noqa: B007
        direction = gradient.copy()
        coefficients = []
        for step, change in reversed(steps):
            coefficient = step @ direction / (change @ step)
            coefficients.append(coefficient)
            direction -= coefficient * change
        if steps:
            direction *= (steps[-1][0] @ steps[-1][1]) / (steps[-1][1] @ steps[-1][1])
        for (step, change), coefficient in zip(steps, reversed(coefficients), strict=True):
            direction += step * (coefficient - change @ direction / (change @ step))
        direction = -direction
        slope = gradient @ direction
        if slope >= 0:
            direction, slope, steps = -gradient, -(gradient @ gradient), []
        length = 1.0
        while True:
            candidate = point + length * direction
            new_loss, new_gradient = objective(candidate)
            if new_loss <= loss + 1e-4 * length * slope or length < 1e-10:
                break
            length *= 0.5
        step, change = candidate - point, new_gradient - gradient
        if step @ change > 1e-12:
            steps = [*steps, (step, change)][-memory:]
        converged = abs(loss - new_loss) < 1e-7 * max(1.0, abs(loss))
        point, loss, gradient = candidate, new_loss, new_gradient
        if converged:
            break
    return point, iteration + 1


def train_nblr(data: Sparse, targets: np.ndarray, scale: np.ndarray, l2: float, weights=None):
    """min weighted mean log-loss of sigmoid(b + X diag(scale) w) + l2/2 |w|^2."""
    size = len(scale)
    weights = np.ones(len(targets)) if weights is None else weights
    weights = weights / weights.sum()

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        logits = row_sums(*data, scale * theta[:size]) + theta[size]
        loss = np.sum(weights * (np.logaddexp(0, logits) - targets * logits))
        residual = weights * (sigmoid(logits) - targets)
        gradient = np.empty_like(theta)
        gradient[:size] = column_sums(*data, residual, size) * scale + l2 * theta[:size]
        gradient[size] = residual.sum()
        return loss + 0.5 * l2 * theta[:size] @ theta[:size], gradient

    theta, _ = lbfgs(objective, np.zeros(size + 1))
    return theta


def nblr_logits(data: Sparse, scale: np.ndarray, theta: np.ndarray) -> np.ndarray:
    return row_sums(*data, scale * theta[:-1]) + theta[-1]


def best_blend(first: np.ndarray, second: np.ndarray, targets: np.ndarray):
    """(validation accuracy, weight of ``first``) of the best standardized logit average."""
    return max(
        (accuracy(a * first / first.std() + (1 - a) * second / second.std(), targets), a)
        for a in np.linspace(0.0, 1.0, 21)
    )


# --- experiments --------------------------------------------------------------------------


def report(**row: object) -> None:
    row["cpu_s"] = round(time.process_time(), 1)
    row["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(row, default=float), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--unlabeled-vocabulary", action="store_true")
    parser.add_argument(
        "experiment", choices=["prepare", "nblr", "self-train", "fasttext", "doc2vecc", "final"]
    )
    args = parser.parse_args()
    work = args.work
    if args.experiment == "prepare":
        prepare(args.home, work, args.unlabeled_vocabulary)
        return
    size = int((work / "num_words.txt").read_text())
    fit, val = load(work, "fit"), load(work, "val")
    y_fit, y_val = labels(work, "fit"), labels(work, "val")
    ratios = nb_ratios(fit, y_fit, size)
    report(model="nb", val=accuracy(row_sums(*val, ratios), y_val))
    if args.experiment == "nblr":
        for l2 in (1e-4, 3e-5, 1e-5, 3e-6):
            theta = train_nblr(fit, y_fit, ratios, l2)
            weights = theta[:-1]
            magnitude = np.abs(weights[ratios != 0]).mean()
            blends = {
                beta: accuracy(
                    row_sums(*val, ratios * ((1 - beta) * magnitude + beta * weights))
                    + beta * theta[-1],
                    y_val,
                )
                for beta in (0.25, 0.5, 0.75)
            }
            val_logits = nblr_logits(val, ratios, theta)
            report(model="nblr", l2=l2, val=accuracy(val_logits, y_val), interpolated=blends)
        return
    theta = train_nblr(fit, y_fit, ratios, 1e-5)
    val_nblr = nblr_logits(val, ratios, theta)
    report(model="nblr", l2=1e-5, val=accuracy(val_nblr, y_val))
    if args.experiment == "self-train":
        unsup = load(work, "unsup")
        both = concatenate(fit, unsup)
        unsup_logits = nblr_logits(unsup, ratios, theta)
        for share in (1.0, 0.6, 0.3):
            confident = np.abs(unsup_logits) >= np.quantile(np.abs(unsup_logits), 1 - share)
            targets = np.concatenate([y_fit, (unsup_logits > 0).astype(float)])
            weights = np.concatenate([np.ones(len(y_fit)), confident.astype(float)])
            new_ratios = nb_ratios(both, targets, size, weights)
            refit = train_nblr(both, targets, new_ratios, 1e-5, weights)
            fit_only = train_nblr(fit, y_fit, new_ratios, 1e-5)
            report(
                model="self-trained nblr",
                pseudo_share=share,
                nb_val=accuracy(row_sums(*val, new_ratios), y_val),
                val_train_plus_pseudo=accuracy(nblr_logits(val, new_ratios, refit), y_val),
                val_train_only_new_ratios=accuracy(nblr_logits(val, new_ratios, fit_only), y_val),
            )
    elif args.experiment == "fasttext":
        unsup = load(work, "unsup")
        unsup_logits = nblr_logits(unsup, ratios, theta)
        for name, data, targets in (
            ("train", fit, y_fit),
            (
                "train + soft pseudo-labels",
                concatenate(fit, unsup),
                np.concatenate([y_fit, sigmoid(unsup_logits)]),
            ),
        ):
            start = (np.random.default_rng(1).random((size, 32)) - 0.5) / 32
            table, weights, bias = train_fasttext(*data, targets, 32, 5, 0.5, 1, start)
            logits = mean_embedding(*val, table) @ weights + bias
            blend, share = best_blend(val_nblr, logits, y_val)
            report(
                model="fasttext d32",
                data=name,
                val=accuracy(logits, y_val),
                blend_val=blend,
                nblr_share=share,
            )
    elif args.experiment == "doc2vecc":
        unsup = load(work, "unsup")
        both = concatenate(fit, unsup)
        counts = np.bincount(both[0], minlength=size).astype(float) ** 0.75
        noise = np.repeat(np.arange(size), np.round(counts / counts.sum() * 1e7).astype(np.int64))
        table = (np.random.default_rng(0).random((size, 100)) - 0.5) / 100
        table = train_doc2vecc(*both, table, np.zeros((size, 100)), 2, 0.025, 20, 5, 0.9, 0, noise)
        report(step="doc2vecc trained")
        features_fit, features_val = mean_embedding(*fit, table), mean_embedding(*val, table)
        mean, spread = features_fit.mean(0), features_fit.std(0) + 1e-9
        features_fit, features_val = (features_fit - mean) / spread, (features_val - mean) / spread
        for l2 in (1e-4, 1e-3, 1e-2):

            def objective(point: np.ndarray, l2: float = l2) -> tuple[float, np.ndarray]:
                logits = features_fit @ point[:-1] + point[-1]
                residual = (sigmoid(logits) - y_fit) / len(y_fit)
                loss = np.mean(np.logaddexp(0, logits) - y_fit * logits)
                gradient = np.concatenate(
                    [features_fit.T @ residual + l2 * point[:-1], [residual.sum()]]
                )
                return loss + 0.5 * l2 * point[:-1] @ point[:-1], gradient

            point, _ = lbfgs(objective, np.zeros(101), iterations=500)
            logits = features_val @ point[:-1] + point[-1]
            blend, share = best_blend(val_nblr, logits, y_val)
            report(
                model="doc2vecc d100 + LR",
                l2=l2,
                val=accuracy(logits, y_val),
                blend_val=blend,
                nblr_share=share,
            )
    elif args.experiment == "final":
        from sentiment.release.evaluation import bootstrap_accuracy_interval

        test, y_test = load(work, "test"), labels(work, "test")
        start = (np.random.default_rng(1).random((size, 32)) - 0.5) / 32
        table, weights, bias = train_fasttext(*fit, y_fit, 32, 5, 0.5, 1, start)
        val_fasttext = mean_embedding(*val, table) @ weights + bias
        blend, share = best_blend(val_nblr, val_fasttext, y_val)
        test_nblr = nblr_logits(test, ratios, theta)
        test_fasttext = mean_embedding(*test, table) @ weights + bias
        # The blend is standardized with the validation spreads: nothing is fit on test.
        test_blend = (
            share * test_nblr / val_nblr.std() + (1 - share) * test_fasttext / val_fasttext.std()
        )
        for name, val_figure, logits in (
            ("nblr l2=1e-5", accuracy(val_nblr, y_val), test_nblr),
            (f"nblr + fasttext blend (nblr share {share:.2f})", blend, test_blend),
        ):
            correct = (logits > 0) == (y_test > 0.5)
            low, high = bootstrap_accuracy_interval(correct)
            report(model=name, val=val_figure, test=float(correct.mean()), ci95=[low, high])


if __name__ == "__main__":
    main()

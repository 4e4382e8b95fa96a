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

Views beyond the word bag (``tokens`` first stores each split's tokens as UTF-8 bytes):

* ``char``: NB-LR on distinct hashed character n-grams, within tokens or across them;
* ``word2vec``: skip-gram with negative sampling on the fit + unlabeled text (numba);
* ``w2v-mean``: the mean of a review's word vectors -> logistic regression;
* ``cnn``: a Keras 1D CNN (one convolution, global max pool) over those vectors;
* ``dv-ngram``: review vectors that predict the review's own uni/bi/trigram ids (Li et
  al. 2016), learned on fit + unlabeled, inferred for validation with the n-gram vectors
  frozen -> logistic regression;
* ``blend``: two or three of these and the trained product ``nbsvm`` (``--nbsvm-bundle``),
  shares chosen on validation; ``--test`` scores the chosen blend on test once.

Every figure is validation accuracy unless the experiment is ``final``; ensemble weights are
picked on validation. Usage (one experiment at a time; CPU seconds are printed because the
shared 2-core VM inflates wall times)::

    nice -n 15 .venv/bin/python -m research.toward_93 --home HOME --work DIR prepare
    nice -n 15 .venv/bin/python -m research.toward_93 --home HOME --work DIR nblr
    ... self-train | fasttext | doc2vecc | final
    ... tokens | char | word2vec | w2v-mean | cnn | dv-ngram | blend (see research/README.md)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import resource
import time
from collections.abc import Callable
from pathlib import Path

import numba
import numpy as np

Sparse = tuple[np.ndarray, np.ndarray]  # (ids, row pointers)
SPLITS = ("fit", "val", "test", "unsup")


# --- data ---------------------------------------------------------------------------------


def split_texts(home: Path) -> tuple[dict[str, list[str]], dict[str, np.ndarray]]:
    """The raw texts and labels of fit / val / test / unsup, split as preprocessing splits."""
    import pyarrow.parquet as pq

    from sentiment.core.paths import HomeLayout
    from sentiment.data.config import PreprocessConfig
    from sentiment.data.preprocess import validation_mask

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
    targets = {
        "fit": train_labels[~is_validation],
        "val": train_labels[is_validation],
        "test": test_labels,
    }
    return texts, targets


# Negation marking (Das & Chen 2001; Pang et al. 2002): words after a negator, up to the
# next punctuation mark (or ``scope`` words), become distinct tokens ("not good" ->
# "not neggood"), so "good" in "not good at all" no longer counts as evidence for "good".
# The negators are the product's (sentiment.encoding.negation.NEGATORS).
_NEGATION_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*|[.,:;!?]")


# Contrast marking (tried beside negation): the clause after "but" tends to carry the
# verdict ("a good cast, but boring"), so its words may deserve weights of their own.
_CONTRAST = frozenset(["but", "however"])


def mark_negation(text: str, scope: int, marks_only: bool = False, contrast: int = 0) -> str:
    """The review's words with negated ones prefixed by ``neg`` (see ``NEGATORS``).

    ``marks_only``: only "!" and "?" (the punctuation the product's tokens keep) end a
    scope; other punctuation is ignored. ``contrast`` > 0: that many words after "but"
    or "however" that are not negated get the prefix ``con``.
    """
    from sentiment.encoding.negation import NEGATORS
    from sentiment.encoding.text import standardize

    words, left, after_contrast = [], 0, 0
    for token in _NEGATION_TOKEN.findall(standardize(text)):
        if marks_only and token in ".,:;":
            continue
        if token in ".,:;!?":
            left = after_contrast = 0
            if token in "!?":
                words.append(token)
            continue
        if left > 0:
            words.append("neg" + token)
        elif after_contrast > 0:
            words.append("con" + token)
        else:
            words.append(token)
        left -= 1
        after_contrast -= 1
        if token in NEGATORS or token.endswith("n't"):
            left = scope
        if contrast and token in _CONTRAST:
            after_contrast = contrast
    return " ".join(words)


def prepare(
    home: Path,
    work: Path,
    unlabeled_vocabulary: bool,
    num_words: int | None,
    negation: int = 0,
    negation_marks_only: bool = False,
    negation_scope: int = 0,
    contrast: int = 0,
) -> None:
    """Fit the vectorizer and store every split as sparse bags under ``work``.

    ``negation`` > 0 marks that many words after each negator in the texts
    (``mark_negation``) first; ``negation_scope`` sets the product vectorizer's own
    marking (``VectorizerConfig.negation_scope``) instead.
    """
    from sentiment.encoding.vocabulary import fit_vectorizer
    from sentiment.modeling.config import get_model_spec

    texts, targets = split_texts(home)
    if negation or contrast:
        texts = {
            split: [
                mark_negation(text, negation, negation_marks_only, contrast)
                for text in split_texts_
            ]
            for split, split_texts_ in texts.items()
        }
    work.mkdir(parents=True, exist_ok=True)
    for split, split_targets in targets.items():
        np.save(work / f"y_{split}.npy", split_targets)
    config = get_model_spec("nbsvm").vectorizer
    if num_words is not None:
        config = dataclasses.replace(config, num_words=num_words)
    config = dataclasses.replace(config, negation_scope=negation_scope)
    started = time.process_time()
    corpus = texts["fit"] + (texts["unsup"] if unlabeled_vocabulary else [])
    vectorizer = fit_vectorizer(corpus, config)
    print(json.dumps({"step": "fit vectorizer", "cpu_s": round(time.process_time() - started, 1)}))
    vectorizer.save(work / "vectorizer.json")
    for split, split_texts_ in texts.items():
        ids = vectorizer.encode(split_texts_)
        present = ids > 0
        np.save(work / f"{split}_ids.npy", ids[present].astype(np.int32))
        np.save(work / f"{split}_lengths.npy", present.sum(axis=1).astype(np.int64))
    (work / "num_words.txt").write_text(str(config.num_words))


def prepare_tokens(home: Path, work: Path) -> None:
    """Store each split's tokens (the product's tokenizer), single-spaced, as UTF-8 bytes."""
    from sentiment.encoding.text import token_text

    texts, _ = split_texts(home)
    for split, split_texts_ in texts.items():
        encoded = [" ".join(token_text(text).split()).encode("utf-8") for text in split_texts_]
        pointers = np.zeros(len(encoded) + 1, np.int64)
        np.cumsum([len(item) for item in encoded], out=pointers[1:])
        np.save(work / f"text_{split}.npy", np.frombuffer(b"".join(encoded), np.uint8))
        np.save(work / f"text_{split}_pointers.npy", pointers)


def load_text(work: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    return np.load(work / f"text_{split}.npy"), np.load(work / f"text_{split}_pointers.npy")


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


@numba.njit(parallel=True, cache=True)
def char_ngram_bags(data, pointers, smallest, largest, size, within_words):
    """Distinct hashed character n-grams per row (FNV-1a into ids 2 .. size - 1).

    ``within_words``: n-grams of each space-padded token (" word "); otherwise of the whole
    space-padded, single-spaced token string, so n-grams also span word boundaries.
    """
    rows = len(pointers) - 1
    orders = largest - smallest + 1
    bounds = np.empty(rows + 1, np.int64)
    bounds[0] = 0
    for row in range(rows):
        bounds[row + 1] = bounds[row] + (2 * (pointers[row + 1] - pointers[row]) + 4) * orders
    buffer = np.empty(bounds[-1], np.int32)
    lengths = np.zeros(rows, np.int64)
    basis, prime = np.uint64(14695981039346656037), np.uint64(1099511628211)
    for row in numba.prange(rows):
        start, stop = pointers[row], pointers[row + 1]
        out, used = bounds[row], 0
        i = start
        while i < stop:
            if within_words:
                while i < stop and data[i] == 32:
                    i += 1
                if i >= stop:
                    break
                j = i
                while j < stop and data[j] != 32:
                    j += 1
            else:
                j = stop
            padded = j - i + 2
            for order in range(smallest, largest + 1):
                for first in range(0, padded - order + 1):
                    value = basis ^ np.uint64(order)
                    for k in range(first, first + order):
                        c = 32 if k == 0 or k == padded - 1 else data[i + k - 1]
                        value = (value ^ np.uint64(c)) * prime
                    buffer[out + used] = 2 + np.int64(value % np.uint64(size - 2))
                    used += 1
            i = j
        segment = np.sort(buffer[out : out + used])
        distinct = 0
        for k in range(used):
            if k == 0 or segment[k] != segment[k - 1]:
                buffer[out + distinct] = segment[k]
                distinct += 1
        lengths[row] = distinct
    total = lengths.sum()
    ids = np.empty(total, np.int32)
    new_pointers = np.zeros(rows + 1, np.int64)
    for row in range(rows):
        new_pointers[row + 1] = new_pointers[row] + lengths[row]
    for row in numba.prange(rows):
        ids[new_pointers[row] : new_pointers[row + 1]] = buffer[
            bounds[row] : bounds[row] + lengths[row]
        ]
    return ids, new_pointers


def char_bags(work: Path, split: str, smallest: int, largest: int, bits: int, within: bool):
    """The split's character n-gram bags, cached under ``work``."""
    name = f"char{smallest}-{largest}{'w' if within else 'a'}{bits}_{split}"
    if (work / f"{name}_ids.npy").exists():
        return np.load(work / f"{name}_ids.npy"), np.load(work / f"{name}_pointers.npy")
    ids, pointers = char_ngram_bags(*load_text(work, split), smallest, largest, 1 << bits, within)
    np.save(work / f"{name}_ids.npy", ids)
    np.save(work / f"{name}_pointers.npy", pointers)
    return ids, pointers


@numba.njit(parallel=True, cache=True)
def train_word2vec(
    ids, pointers, inputs, outputs, window, negatives, epochs, rate, keep, noise, seed, block
):
    """Skip-gram with negative sampling (word2vec), Hogwild over reviews, in place.

    ``keep[w]``: probability of keeping word ``w`` (frequent-word subsampling); ids 0 and 1
    (padding, unknown) are never trained. The rate decays linearly per block of reviews.
    """
    np.random.seed(seed)
    rows, dim = len(pointers) - 1, inputs.shape[1]
    blocks = (rows + block - 1) // block
    for epoch in range(epochs):
        order = np.random.permutation(rows)
        for chunk in range(blocks):
            progress = (epoch * blocks + chunk) / (epochs * blocks)
            current = np.float32(rate * max(1e-4, 1.0 - progress))
            for position in numba.prange(chunk * block, min(rows, (chunk + 1) * block)):
                row = order[position]
                start, stop = pointers[row], pointers[row + 1]
                sentence = np.empty(stop - start, np.int64)
                used = 0
                for k in range(start, stop):
                    word = ids[k]
                    if word > 1 and np.random.random() < keep[word]:
                        sentence[used] = word
                        used += 1
                gradient = np.empty(dim, np.float32)
                for center_at in range(used):
                    center = sentence[center_at]
                    reach = window - np.random.randint(window)
                    for other_at in range(
                        max(0, center_at - reach), min(used, center_at + reach + 1)
                    ):
                        if other_at == center_at:
                            continue
                        context = sentence[other_at]
                        gradient[:] = 0.0
                        for j in range(negatives + 1):
                            if j == 0:
                                target, label = center, np.float32(1.0)
                            else:
                                target = noise[np.random.randint(len(noise))]
                                if target == center:
                                    continue
                                label = np.float32(0.0)
                            dot = np.float32(0.0)
                            for q in range(dim):
                                dot += inputs[context, q] * outputs[target, q]
                            if dot > 6.0:
                                dot = np.float32(6.0)
                            elif dot < -6.0:
                                dot = np.float32(-6.0)
                            step = label - np.float32(1.0) / (np.float32(1.0) + np.exp(-dot))
                            step *= current
                            for q in range(dim):
                                gradient[q] += step * outputs[target, q]
                                outputs[target, q] += step * inputs[context, q]
                        for q in range(dim):
                            inputs[context, q] += gradient[q]


def word_sequences(work: Path, min_count: int) -> int:
    """Word ids (1 = unknown) of every split, by a vocabulary of the fit + unlabeled text."""
    from collections import Counter

    counts: Counter[str] = Counter()
    for split in ("fit", "unsup"):
        data, _ = load_text(work, split)
        counts.update(data.tobytes().decode("utf-8").split())
    words = [word for word, count in counts.most_common() if count >= min_count]
    index = {word: position + 2 for position, word in enumerate(words)}
    frequencies = np.zeros(len(words) + 2)
    frequencies[2:] = [counts[word] for word in words]
    np.save(work / "w2v_counts.npy", frequencies)
    (work / "w2v_vocabulary.json").write_text(json.dumps(["<pad>", "<unknown>", *words]))
    for split in SPLITS:
        data, pointers = load_text(work, split)
        text = data.tobytes()
        ids, lengths = [], []
        for row in range(len(pointers) - 1):
            tokens = text[pointers[row] : pointers[row + 1]].decode("utf-8").split()
            ids.extend(index.get(token, 1) for token in tokens)
            lengths.append(len(tokens))
        row_pointers = np.zeros(len(lengths) + 1, np.int64)
        np.cumsum(lengths, out=row_pointers[1:])
        np.save(work / f"words_{split}.npy", np.asarray(ids, np.int32))
        np.save(work / f"words_{split}_pointers.npy", row_pointers)
    return len(words) + 2


def load_words(work: Path, split: str) -> Sparse:
    return np.load(work / f"words_{split}.npy"), np.load(work / f"words_{split}_pointers.npy")


@numba.njit(parallel=True, cache=True)
def train_dv_ngram(
    ids, pointers, documents, outputs, epochs, rate, negatives, noise, seed, block, learn_outputs
):
    """DV-ngram (Li et al. 2016): each review's free vector predicts its own n-gram ids
    with negative sampling (PV-DBOW over uni/bi/trigrams), Hogwild over reviews, in place.

    With ``learn_outputs`` False the n-gram vectors stay fixed and only the review vectors
    move: inference for reviews the n-gram vectors never saw (no labels are used).
    """
    np.random.seed(seed)
    rows, dim = len(pointers) - 1, documents.shape[1]
    blocks = (rows + block - 1) // block
    for epoch in range(epochs):
        order = np.random.permutation(rows)
        for chunk in range(blocks):
            progress = (epoch * blocks + chunk) / (epochs * blocks)
            current = np.float32(rate * max(1e-4, 1.0 - progress))
            for position in numba.prange(chunk * block, min(rows, (chunk + 1) * block)):
                row = order[position]
                gradient = np.empty(dim, np.float32)
                for k in range(pointers[row], pointers[row + 1]):
                    gradient[:] = 0.0
                    for j in range(negatives + 1):
                        if j == 0:
                            target, label = ids[k], np.float32(1.0)
                        else:
                            target = noise[np.random.randint(len(noise))]
                            if target == ids[k]:
                                continue
                            label = np.float32(0.0)
                        dot = np.float32(0.0)
                        for q in range(dim):
                            dot += documents[row, q] * outputs[target, q]
                        dot = min(np.float32(6.0), max(np.float32(-6.0), dot))
                        step = (
                            label - np.float32(1.0) / (np.float32(1.0) + np.exp(-dot))
                        ) * current
                        for q in range(dim):
                            gradient[q] += step * outputs[target, q]
                            if learn_outputs:
                                outputs[target, q] += step * documents[row, q]
                    for q in range(dim):
                        documents[row, q] += gradient[q]


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


def shifted(data: Sparse, offset: int) -> Sparse:
    return data[0] + np.int32(offset), data[1]


def joined(first: Sparse, second: Sparse) -> Sparse:
    """Row-wise union of two bags over disjoint id ranges."""
    lengths = np.diff(first[1]) + np.diff(second[1])
    pointers = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=pointers[1:])
    ids = np.empty(pointers[-1], np.int32)
    _join(first[0], first[1], second[0], second[1], pointers, ids)
    return ids, pointers


@numba.njit(parallel=True, cache=True)
def _join(first_ids, first_pointers, second_ids, second_pointers, pointers, ids):
    for row in numba.prange(len(pointers) - 1):
        out = pointers[row]
        for k in range(first_pointers[row], first_pointers[row + 1]):
            ids[out] = first_ids[k]
            out += 1
        for k in range(second_pointers[row], second_pointers[row + 1]):
            ids[out] = second_ids[k]
            out += 1


def word_nblr(work: Path, fit: Sparse, y_fit: np.ndarray, size: int):
    """(ratios, theta) of the word NB-LR (l2 1e-5), cached under ``work``."""
    ratios = nb_ratios(fit, y_fit, size)
    path = work / "nblr_theta.npy"
    if not path.exists():
        np.save(path, train_nblr(fit, y_fit, ratios, 1e-5))
    return ratios, np.load(path)


def nbsvm_scorer(bundle: Path | None) -> Callable[[Sparse], np.ndarray] | None:
    """The trained product nbsvm's logits over the harness's word bags (same vectorizer)."""
    if bundle is None:
        return None
    weights = np.load(bundle / "linear_weights.npy").astype(np.float64)
    metadata = json.loads((bundle / "metadata.json").read_text())
    bias = float(metadata.get("linear", {}).get("bias", 0.0)) if isinstance(metadata, dict) else 0
    return lambda data: row_sums(*data, weights) + bias


def blend_report(val_logits: np.ndarray, y_val: np.ndarray, references: dict) -> dict:
    """Best validation blends of ``val_logits`` with each reference model's logits."""
    out = {}
    for name, reference in references.items():
        figure, share = best_blend(reference, val_logits, y_val)
        out[name] = {"val": figure, "reference_share": share}
    return out


def train_dense_lr(features: np.ndarray, targets: np.ndarray, l2: float) -> np.ndarray:
    """L2 logistic regression on dense features (L-BFGS); the last entry is the bias."""

    def objective(point: np.ndarray) -> tuple[float, np.ndarray]:
        logits = features @ point[:-1] + point[-1]
        residual = (sigmoid(logits) - targets) / len(targets)
        loss = np.mean(np.logaddexp(0, logits) - targets * logits)
        gradient = np.concatenate([features.T @ residual + l2 * point[:-1], [residual.sum()]])
        return loss + 0.5 * l2 * point[:-1] @ point[:-1], gradient

    point, _ = lbfgs(objective, np.zeros(features.shape[1] + 1), iterations=500)
    return point


def run_word2vec(work: Path, dim: int, epochs: int, min_count: int, threads: int) -> None:
    """Attempt 14: skip-gram word vectors from the fit + unlabeled text (no labels)."""
    started = time.process_time()
    size = word_sequences(work, min_count)
    report(step="word ids", vocabulary=size, step_cpu_s=round(time.process_time() - started, 1))
    numba.set_num_threads(threads)
    both = concatenate(load_words(work, "fit"), load_words(work, "unsup"))
    counts = np.load(work / "w2v_counts.npy")
    share = counts / counts.sum()
    # word2vec's subsampling: keep (sqrt(f / t) + 1) * t / f, t = 1e-4.
    keep = np.minimum(1.0, (np.sqrt(share / 1e-4) + 1) * 1e-4 / np.maximum(share, 1e-12))
    smoothed = counts**0.75
    noise = np.repeat(
        np.arange(size), np.round(smoothed / smoothed.sum() * 2e7).astype(np.int64)
    ).astype(np.int32)
    generator = np.random.default_rng(0)
    inputs = ((generator.random((size, dim)) - 0.5) / dim).astype(np.float32)
    outputs = np.zeros((size, dim), np.float32)
    started, wall = time.process_time(), time.time()
    train_word2vec(*both, inputs, outputs, 5, 5, epochs, 0.025, keep, noise, 0, 256)
    np.save(work / f"w2v_d{dim}_e{epochs}.npy", inputs)
    report(
        step="word2vec",
        dim=dim,
        epochs=epochs,
        tokens=len(both[0]),
        train_cpu_s=round(time.process_time() - started, 1),
        train_wall_s=round(time.time() - wall, 1),
    )
    # A sanity look at the space: nearest neighbours of a few sentiment words.
    words = {}
    normed = inputs / (np.linalg.norm(inputs, axis=1, keepdims=True) + 1e-9)
    vocabulary = vocabulary_words(work)
    for word in ("great", "awful", "boring", "hitchcock"):
        if word in vocabulary:
            position = vocabulary[word]
            nearest = np.argsort(-(normed @ normed[position]))[1:6]
            words[word] = [vocabulary_list(work)[k] for k in nearest]
    report(neighbours=words)


def vocabulary_list(work: Path) -> list[str]:
    path = work / "w2v_vocabulary.json"
    return json.loads(path.read_text())


def vocabulary_words(work: Path) -> dict[str, int]:
    return {word: position for position, word in enumerate(vocabulary_list(work))}


def run_w2v_mean(work: Path, embedding: str, l2s: list[float], nbsvm) -> None:
    """Attempt 14a: mean of a review's word vectors -> logistic regression, and blends."""
    size = int((work / "num_words.txt").read_text())
    fit, val = load(work, "fit"), load(work, "val")
    y_fit, y_val = labels(work, "fit"), labels(work, "val")
    ratios, theta = word_nblr(work, fit, y_fit, size)
    references = {"word nblr": nblr_logits(val, ratios, theta)}
    if nbsvm is not None:
        references["nbsvm"] = nbsvm(val)
    table = np.load(work / embedding).astype(np.float64)
    table[:2] = 0.0
    features_fit = mean_embedding(*load_words(work, "fit"), table)
    features_val = mean_embedding(*load_words(work, "val"), table)
    mean, spread = features_fit.mean(0), features_fit.std(0) + 1e-9
    features_fit, features_val = (features_fit - mean) / spread, (features_val - mean) / spread
    for l2 in l2s:
        point = train_dense_lr(features_fit, y_fit, l2)
        logits = features_val @ point[:-1] + point[-1]
        report(
            model=f"{embedding} mean -> LR",
            l2=l2,
            val=accuracy(logits, y_val),
            blends=blend_report(logits, y_val, references),
        )


def padded_words(work: Path, split: str, length: int) -> np.ndarray:
    """The split's word ids, the last ``length`` of each review, zero-padded at the end."""
    ids, pointers = load_words(work, split)
    out = np.zeros((len(pointers) - 1, length), np.int32)
    for row in range(len(pointers) - 1):
        start = max(pointers[row], pointers[row + 1] - length)
        out[row, : pointers[row + 1] - start] = ids[start : pointers[row + 1]]
    return out


def build_cnn(table: np.ndarray, length: int, filters: int, width: int, fine_tune: bool):
    import keras
    from keras import layers

    inputs = keras.Input((length,), dtype="int32")
    x = layers.Embedding(
        table.shape[0],
        table.shape[1],
        embeddings_initializer=keras.initializers.Constant(table),
        trainable=fine_tune,
    )(inputs)
    x = layers.Dropout(0.2)(x)
    x = layers.Conv1D(filters, width, activation="relu")(x)
    x = layers.GlobalMaxPooling1D()(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(1)(x)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)],
    )
    return model


def run_cnn(work: Path, embedding: str, args: argparse.Namespace, nbsvm) -> None:
    """Attempt 15: a 1D CNN (one conv, global max pool) over the word2vec vectors."""
    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.utils.set_random_seed(0)
    y_fit, y_val = labels(work, "fit"), labels(work, "val")
    length = args.length
    x_fit, x_val = padded_words(work, "fit", length), padded_words(work, "val", length)
    if embedding == "random":
        size = int(np.load(work / "w2v_counts.npy").shape[0])
        table = np.random.default_rng(0).uniform(-0.05, 0.05, (size, args.dim))
    else:
        table = np.load(work / embedding)
    table = table.astype(np.float32)
    table[0] = 0.0
    tag = f"cnn_{Path(embedding).stem}_f{args.filters}_w{args.width}_l{length}" + (
        "_ft" if args.fine_tune else ""
    )
    model = build_cnn(table, length, args.filters, args.width, args.fine_tune)
    started, wall = time.process_time(), time.time()
    model.fit(
        x_fit,
        y_fit,
        batch_size=64,
        epochs=args.epochs,
        validation_data=(x_val, y_val),
        callbacks=[
            keras.callbacks.EarlyStopping(patience=1, restore_best_weights=True),
        ],
        verbose=2,
    )
    train_cpu, train_wall = time.process_time() - started, time.time() - wall
    model.save(work / f"{tag}.keras")
    wall = time.time()
    logits = model.predict(x_val, batch_size=1024, verbose=0).reshape(-1).astype(np.float64)
    predict_rate = len(x_val) / (time.time() - wall)
    np.save(work / f"{tag}_val_logits.npy", logits)
    references = {}
    if nbsvm is not None:
        references["nbsvm"] = nbsvm(load(work, "val"))
    report(
        model=tag,
        val=accuracy(logits, y_val),
        train_cpu_s=round(train_cpu, 1),
        train_wall_s=round(train_wall, 1),
        model_only_reviews_per_s=round(predict_rate),
        blends=blend_report(logits, y_val, references),
    )


def best_blend3(logits: list[np.ndarray], targets: np.ndarray) -> tuple[float, list[float]]:
    """Best validation accuracy of a standardized three-way logit average (grid of 0.05)."""
    scaled = [item / item.std() for item in logits]
    best = (0.0, [1.0, 0.0, 0.0])
    for first in np.linspace(0, 1, 21):
        for second in np.linspace(0, 1 - first, round((1 - first) / 0.05) + 1):
            shares = [first, second, max(0.0, 1 - first - second)]
            figure = accuracy(sum(s * x for s, x in zip(shares, scaled, strict=True)), targets)
            if figure > best[0]:
                best = (figure, shares)
    return best


def component_logits(work: Path, name: str, split: str, nbsvm) -> np.ndarray:
    """Logits of one blend component on ``split``, from models trained on the fit portion.

    ``name``: ``nbsvm``, ``nblr`` (word NB-LR, l2 1e-5), ``char:CONFIG:BITS:L2`` (a char
    NB-LR the ``char`` experiment trained) or ``cnn:TAG`` (a CNN the ``cnn`` experiment saved).
    """
    if name == "nbsvm":
        return nbsvm(load(work, split))
    if name == "nblr":
        size = int((work / "num_words.txt").read_text())
        ratios, theta = word_nblr(work, load(work, "fit"), labels(work, "fit"), size)
        return nblr_logits(load(work, split), ratios, theta)
    kind, *parts = name.split(":")
    if kind == "char":
        config, bits, l2 = parts
        smallest, largest, within = CHAR_CONFIGS[config]
        char_fit = char_bags(work, "fit", smallest, largest, int(bits), within)
        char_ratios = nb_ratios(char_fit, labels(work, "fit"), 1 << int(bits))
        theta = np.load(work / f"char_{config}_{bits}_{l2}_theta.npy")
        data = char_bags(work, split, smallest, largest, int(bits), within)
        return nblr_logits(data, char_ratios, theta)
    if kind == "dv":  # dv:TAG:L2, LR on the joint fit vectors of the dv-ngram experiment
        tag, l2 = parts
        features_fit = np.load(work / f"{tag}_fit.npy")
        mean, spread = features_fit.mean(0), features_fit.std(0) + 1e-9
        point = train_dense_lr((features_fit - mean) / spread, labels(work, "fit"), float(l2))
        path = work / f"{tag}_{split}_inferred.npy"
        if not path.exists():
            both = concatenate(load(work, "fit"), load(work, "unsup"))
            size = int((work / "num_words.txt").read_text())
            counts = np.bincount(both[0], minlength=size).astype(float)
            counts[:2] = 0.0
            smoothed = counts**0.75
            noise = np.repeat(
                np.arange(size), np.round(smoothed / smoothed.sum() * 2e7).astype(np.int64)
            ).astype(np.int32)
            outputs = np.load(work / f"{tag}_outputs.npy")
            epochs = int(tag.rsplit("_e", 1)[1])
            np.save(
                path, infer_dv_ngram(load(work, split), outputs, outputs.shape[1], epochs, noise)
            )
        features = (np.load(path).astype(np.float64) - mean) / spread
        return features @ point[:-1] + point[-1]
    if kind == "cnn":
        import keras

        model = keras.models.load_model(work / f"{parts[0]}.keras", safe_mode=True)
        length = model.input_shape[1]
        return model.predict(padded_words(work, split, length), batch_size=1024, verbose=0)[
            :, 0
        ].astype(np.float64)
    raise ValueError(f"Unknown component '{name}'.")


def run_blend(work: Path, components: list[str], nbsvm, with_test: bool) -> None:
    """Blend components with shares chosen on validation; with ``with_test`` score test once."""
    y_val = labels(work, "val")
    val_logits = [component_logits(work, name, "val", nbsvm) for name in components]
    for name, logits in zip(components, val_logits, strict=True):
        report(component=name, val=accuracy(logits, y_val))
    if len(components) == 2:
        figure, share = best_blend(val_logits[0], val_logits[1], y_val)
        shares = [share, 1 - share]
    elif len(components) == 3:
        figure, shares = best_blend3(val_logits, y_val)
    else:
        raise ValueError("Blend two or three components.")
    # The paired bootstrap of the validation gain over the first component, at the chosen
    # shares (optimistic: the shares were chosen on these same reviews).
    blended_val = sum(
        share * logits / logits.std() for share, logits in zip(shares, val_logits, strict=True)
    )
    gain = ((blended_val > 0) == (y_val > 0.5)).astype(float) - (
        (val_logits[0] > 0) == (y_val > 0.5)
    ).astype(float)
    generator = np.random.default_rng(0)
    draws = generator.integers(0, len(gain), (10_000, len(gain)))
    resampled = gain[draws].mean(axis=1)
    report(
        blend=components,
        shares=[round(float(share), 2) for share in shares],
        val=figure,
        val_gain=float(gain.mean()),
        val_gain_ci95=[float(np.quantile(resampled, 0.025)), float(np.quantile(resampled, 0.975))],
    )
    if not with_test:
        return
    from sentiment.release.metrics import bootstrap_accuracy_interval

    y_test = labels(work, "test")
    test_logits = [component_logits(work, name, "test", nbsvm) for name in components]
    # Standardized with the validation spreads: nothing is fit on test.
    blended = sum(
        share * test / val.std()
        for share, test, val in zip(shares, test_logits, val_logits, strict=True)
    )
    for name, logits in [*zip(components, test_logits, strict=True), ("blend", blended)]:
        correct = (logits > 0) == (y_test > 0.5)
        low, high = bootstrap_accuracy_interval(correct)
        report(model=name, test=float(correct.mean()), ci95=[low, high])


def run_dv_ngram(work: Path, args: argparse.Namespace, l2s: list[float], nbsvm) -> None:
    """Attempt 16: DV-ngram review vectors -> logistic regression, and blends.

    The n-gram vectors are learned with the fit + unlabeled reviews' own vectors; the
    validation (and, in ``blend --test``, test) vectors are then inferred by the same
    objective with the n-gram vectors frozen. No label enters either step.
    """
    numba.set_num_threads(args.threads)
    size = int((work / "num_words.txt").read_text())
    fit, unsup = load(work, "fit"), load(work, "unsup")
    both = concatenate(fit, unsup)
    counts = np.bincount(both[0], minlength=size).astype(float)
    counts[:2] = 0.0
    smoothed = counts**0.75
    noise = np.repeat(
        np.arange(size), np.round(smoothed / smoothed.sum() * 2e7).astype(np.int64)
    ).astype(np.int32)
    dim, epochs = args.dim, args.epochs
    generator = np.random.default_rng(0)
    rows = len(both[1]) - 1
    documents = ((generator.random((rows, dim)) - 0.5) / dim).astype(np.float32)
    outputs = np.zeros((size, dim), np.float32)
    started, wall = time.process_time(), time.time()
    train_dv_ngram(*both, documents, outputs, epochs, 0.05, 5, noise, 0, 256, True)
    report(
        step="dv-ngram",
        dim=dim,
        epochs=epochs,
        train_cpu_s=round(time.process_time() - started, 1),
        train_wall_s=round(time.time() - wall, 1),
    )
    tag = f"dvngram_d{dim}_e{epochs}"
    np.save(work / f"{tag}_outputs.npy", outputs)
    features_fit = documents[: len(fit[1]) - 1].astype(np.float64)
    val = load(work, "val")
    started = time.process_time()
    val_documents = infer_dv_ngram(val, outputs, dim, epochs, noise)
    report(step="dv-ngram inference", val_cpu_s=round(time.process_time() - started, 1))
    np.save(work / f"{tag}_fit.npy", features_fit)
    features_val = val_documents.astype(np.float64)
    # The fit vectors were trained jointly; the validation vectors inferred. Re-infer the
    # fit vectors too, so the classifier trains on vectors made the way new reviews' are.
    started = time.process_time()
    inferred_fit = infer_dv_ngram(fit, outputs, dim, epochs, noise).astype(np.float64)
    report(step="dv-ngram re-inference of fit", fit_cpu_s=round(time.process_time() - started, 1))
    y_fit, y_val = labels(work, "fit"), labels(work, "val")
    references = {"nbsvm": nbsvm(val)} if nbsvm is not None else {}
    for name, train_features in (("joint fit vectors", features_fit), ("inferred", inferred_fit)):
        mean, spread = train_features.mean(0), train_features.std(0) + 1e-9
        scaled_fit, scaled_val = (train_features - mean) / spread, (features_val - mean) / spread
        for l2 in l2s:
            point = train_dense_lr(scaled_fit, y_fit, l2)
            logits = scaled_val @ point[:-1] + point[-1]
            np.save(work / f"{tag}_{name.split()[0]}_{l2:g}_val_logits.npy", logits)
            report(
                model=f"{tag} ({name}) -> LR",
                l2=l2,
                val=accuracy(logits, y_val),
                blends=blend_report(logits, y_val, references),
            )


def infer_dv_ngram(data: Sparse, outputs: np.ndarray, dim: int, epochs: int, noise) -> np.ndarray:
    documents = ((np.random.default_rng(1).random((len(data[1]) - 1, dim)) - 0.5) / dim).astype(
        np.float32
    )
    train_dv_ngram(*data, documents, outputs, epochs, 0.05, 5, noise, 1, 256, False)
    return documents


CHAR_CONFIGS = {
    "w2-5": (2, 5, True),
    "w3-6": (3, 6, True),
    "a3-6": (3, 6, False),
    "a2-5": (2, 5, False),
}


def run_char(
    work: Path, configs: list[str], bits: int, l2s: list[float], nbsvm, joint: bool
) -> None:
    """Attempt 13: NB-LR on hashed character n-grams, alone, blended, and joined with words."""
    size = int((work / "num_words.txt").read_text())
    fit, val = load(work, "fit"), load(work, "val")
    y_fit, y_val = labels(work, "fit"), labels(work, "val")
    ratios, theta = word_nblr(work, fit, y_fit, size)
    references = {"word nblr": nblr_logits(val, ratios, theta)}
    if nbsvm is not None:
        references["nbsvm"] = nbsvm(val)
    for name, reference in references.items():
        report(model=name, val=accuracy(reference, y_val))
    for config in configs:
        smallest, largest, within = CHAR_CONFIGS[config]
        started = time.process_time()
        char_fit = char_bags(work, "fit", smallest, largest, bits, within)
        char_val = char_bags(work, "val", smallest, largest, bits, within)
        report(
            step=f"char bags {config}",
            bag_cpu_s=round(time.process_time() - started, 1),
            ids_per_review=len(char_fit[0]) / (len(char_fit[1]) - 1),
        )
        char_ratios = nb_ratios(char_fit, y_fit, 1 << bits)
        report(model=f"char nb {config}", val=accuracy(row_sums(*char_val, char_ratios), y_val))
        for l2 in l2s:
            started = time.process_time()
            path = work / f"char_{config}_{bits}_{l2:g}_theta.npy"
            if not path.exists():  # reruns only re-blend
                np.save(path, train_nblr(char_fit, y_fit, char_ratios, l2))
            char_theta = np.load(path)
            logits = nblr_logits(char_val, char_ratios, char_theta)
            np.save(work / f"char_{config}_{bits}_{l2:g}_val_logits.npy", logits)
            report(
                model=f"char nblr {config}",
                bits=bits,
                l2=l2,
                train_cpu_s=round(time.process_time() - started, 1),
                val=accuracy(logits, y_val),
                blends=blend_report(logits, y_val, references),
            )
        if not joint:
            continue
        # One model over both views: word ids 0 .. size - 1, character ids after them.
        both_fit = joined(fit, shifted(char_fit, size))
        both_val = joined(val, shifted(char_val, size))
        both_ratios = np.concatenate([ratios, char_ratios])
        for l2 in l2s:
            started = time.process_time()
            both_theta = train_nblr(both_fit, y_fit, both_ratios, l2)
            logits = nblr_logits(both_val, both_ratios, both_theta)
            report(
                model=f"word + char {config} nblr (one model)",
                l2=l2,
                train_cpu_s=round(time.process_time() - started, 1),
                val=accuracy(logits, y_val),
                blends=blend_report(logits, y_val, references),
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--unlabeled-vocabulary", action="store_true")
    parser.add_argument("--num-words", type=int, help="prepare: the bag's id space")
    parser.add_argument(
        "--negation", type=int, default=0, help="prepare: mark up to N words after a negator"
    )
    parser.add_argument(
        "--negation-marks-only", action="store_true", help="prepare: only ! and ? end a scope"
    )
    parser.add_argument(
        "--negation-scope", type=int, default=0, help="prepare: the vectorizer's own marking"
    )
    parser.add_argument(
        "--contrast", type=int, default=0, help="prepare: mark N words after 'but'/'however'"
    )
    parser.add_argument(
        "--nbsvm-bundle", type=Path, help="a trained nbsvm bundle whose logits to blend with"
    )
    parser.add_argument("--char", default="w2-5", help="comma-separated CHAR_CONFIGS names")
    parser.add_argument("--char-bits", type=int, default=21)
    parser.add_argument("--joint", action="store_true", help="also one NB-LR over words + chars")
    parser.add_argument("--l2", default="1e-5", help="comma-separated L2 strengths")
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--embedding", default="w2v_d100_e1.npy")
    parser.add_argument("--length", type=int, default=400)
    parser.add_argument("--filters", type=int, default=100)
    parser.add_argument("--width", type=int, default=3)
    parser.add_argument("--fine-tune", action="store_true")
    parser.add_argument("--components", default="nbsvm,nblr", help="blend: comma-separated")
    parser.add_argument("--test", action="store_true", help="blend: also score test (final)")
    parser.add_argument(
        "experiment",
        choices=[
            "prepare",
            "tokens",
            "nblr",
            "self-train",
            "fasttext",
            "doc2vecc",
            "char",
            "word2vec",
            "w2v-mean",
            "cnn",
            "blend",
            "dv-ngram",
            "final",
        ],
    )
    args = parser.parse_args()
    work = args.work
    if args.experiment == "prepare":
        prepare(
            args.home,
            work,
            args.unlabeled_vocabulary,
            args.num_words,
            args.negation,
            args.negation_marks_only,
            args.negation_scope,
            args.contrast,
        )
        return
    if args.experiment == "tokens":
        prepare_tokens(args.home, work)
        return
    l2s = [float(value) for value in args.l2.split(",")]
    if args.experiment == "char":
        configs = args.char.split(",")
        run_char(work, configs, args.char_bits, l2s, nbsvm_scorer(args.nbsvm_bundle), args.joint)
        return
    if args.experiment == "word2vec":
        run_word2vec(work, args.dim, args.epochs, 5, args.threads)
        return
    if args.experiment == "dv-ngram":
        run_dv_ngram(work, args, l2s, nbsvm_scorer(args.nbsvm_bundle))
        return
    if args.experiment == "blend":
        components = args.components.split(",")
        run_blend(work, components, nbsvm_scorer(args.nbsvm_bundle), args.test)
        return
    if args.experiment == "cnn":
        run_cnn(work, args.embedding, args, nbsvm_scorer(args.nbsvm_bundle))
        return
    if args.experiment == "w2v-mean":
        run_w2v_mean(work, args.embedding, l2s, nbsvm_scorer(args.nbsvm_bundle))
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
        from sentiment.release.metrics import bootstrap_accuracy_interval

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

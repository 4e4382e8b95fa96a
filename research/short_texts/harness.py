"""Short texts: the product's nbsvm retrained in numba with variants aimed at short texts.

A research harness (issue 30), not the product's training path. ``prepare`` encodes with
the vectorizer the product's preprocessing fitted (``--home``): the fit / validation /
test reviews, the sentences of the fit and validation reviews (each with its review's
label), the SST-2 dev sentences and the checklist (tests/data/short_checklist.csv), as
sparse bags under ``--work``. ``run --variants a,b`` trains each variant as the product
trains nbsvm (NB ratios x weights, Adam 1e-3, batch 32, early stopping on validation
loss, patience 1; the trainer of ``benchmarks/toward_93_nbsvm.py`` with per-row weights),
calibrates on validation, and prints one JSON line per variant: validation, SST dev,
checklist and IMDB test accuracy, test accuracy by length bucket. Settings are chosen on
validation and SST dev; the test column is reported, never used to choose.

Usage::

    nice -n 10 /work/main/.venv/bin/python -m research.short_texts.harness \
        --home /work/homes/short --work /work/homes/short/research prepare
    nice -n 10 /work/main/.venv/bin/python -m research.short_texts.harness \
        --home /work/homes/short --work /work/homes/short/research run --variants base
"""

from __future__ import annotations

import argparse
import json
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np

from research.toward_93 import column_sums, row_sums, split_texts

ROOT = Path(__file__).resolve().parents[2]

Sparse = tuple[np.ndarray, np.ndarray]
CHECKLIST = ROOT / "tests" / "data" / "short_checklist.csv"
SST_DEV = Path("/work/shared/data/short-texts/sst2_dev.parquet")
BUCKETS = ((0, 10), (11, 50), (51, 200), (201, 10**9))
# Sentence boundaries in the raw text (the product's tokens drop "." and line breaks).
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|<br\s*/?>", re.IGNORECASE)
WORD = re.compile(r"\w+")


# --- data ---------------------------------------------------------------------------------


def sentences_of(texts: list[str]) -> tuple[list[str], np.ndarray]:
    pieces, owners = [], []
    for review, text in enumerate(texts):
        own = [piece for piece in SENTENCE_END.split(text) if WORD.search(piece)] or [text]
        pieces.extend(own)
        owners.extend([review] * len(own))
    return pieces, np.asarray(owners, np.int64)


def encode(vectorizer, texts: list[str], batch: int = 4000) -> Sparse:
    """Distinct-id bags of ``texts`` (batched: the encoder pads to max_length)."""
    ids, lengths = [], []
    for start in range(0, len(texts), batch):
        block = vectorizer.encode(texts[start : start + batch])
        present = block > 0
        ids.append(block[present].astype(np.int32))
        lengths.append(present.sum(axis=1))
    lengths = np.concatenate(lengths)
    pointers = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=pointers[1:])
    return np.concatenate(ids), pointers


def save(work: Path, name: str, data: Sparse, labels: np.ndarray, words: np.ndarray) -> None:
    np.save(work / f"{name}_ids.npy", data[0])
    np.save(work / f"{name}_pointers.npy", data[1])
    np.save(work / f"{name}_labels.npy", labels)
    np.save(work / f"{name}_words.npy", words)


def load(work: Path, name: str) -> tuple[Sparse, np.ndarray, np.ndarray]:
    data = (np.load(work / f"{name}_ids.npy"), np.load(work / f"{name}_pointers.npy"))
    return data, np.load(work / f"{name}_labels.npy"), np.load(work / f"{name}_words.npy")


def word_counts(texts: list[str]) -> np.ndarray:
    return np.asarray([len(text.split()) for text in texts], np.int64)


def prepare(home: Path, work: Path) -> None:
    import pandas as pd

    from sentiment.data.config import PreprocessConfig
    from sentiment.data.preprocess import find_processed
    from sentiment.encoding.vectorizer import Vectorizer
    from sentiment.modeling.config import get_model_spec

    work.mkdir(parents=True, exist_ok=True)
    processed = find_processed(
        home, PreprocessConfig(vectorizer=get_model_spec("nbsvm").vectorizer)
    )
    vectorizer = Vectorizer.load(processed.vectorizer_path)
    (work / "num_words.txt").write_text(str(vectorizer.config.num_words))
    texts, targets = split_texts(home)
    for split in ("fit", "val", "test"):
        started = time.time()
        save(
            work, split, encode(vectorizer, texts[split]), targets[split], word_counts(texts[split])
        )
        print(split, round(time.time() - started, 1), flush=True)
    for split in ("fit", "val"):
        pieces, owners = sentences_of(texts[split])
        save(
            work,
            f"{split}_sent",
            encode(vectorizer, pieces),
            targets[split][owners],
            word_counts(pieces),
        )
        np.save(work / f"{split}_sent_owners.npy", owners)
        (work / f"{split}_sent.txt").write_text("\n".join(p.replace("\n", " ") for p in pieces))
        print(split, "sentences", len(pieces), flush=True)
    sst = pd.read_parquet(SST_DEV)
    save(
        work,
        "sst",
        encode(vectorizer, list(sst.text)),
        sst.label.to_numpy(),
        word_counts(list(sst.text)),
    )
    checklist = pd.read_csv(CHECKLIST)
    texts_ = list(checklist.text)
    save(
        work,
        "checklist",
        encode(vectorizer, texts_),
        checklist.label.to_numpy(),
        word_counts(texts_),
    )
    (work / "vocabulary.txt").write_text("\n".join(vectorizer.vocabulary))


# --- training -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """One way to train and calibrate the weights."""

    sentences: float = 0.0  # weight of each fit sentence (0: reviews only, as today)
    sentence_ratios: bool = False  # NB ratios count the weighted sentences too
    confident: float = (
        0.0  # keep only sentences the base model puts on their label's side by this logit
    )
    epochs: int = 4
    patience: int = 1
    alpha: float = 1.0
    calibration: str = "platt"  # platt | length (logit, 1, log words) | platt-mixed
    lexicon: float = 0.0  # VADER prior: ratio += lexicon * valence/4 for lexicon unigrams
    lexicon_rare: int = 0  # only where the unigram is in fewer fit reviews than this (0: all)
    stop_mixed: bool = False  # early stopping on validation reviews + sentences
    ratio_sentences: float = (
        0.0  # NB ratios also count fit sentences at this weight (training rows unchanged)
    )
    lexicon_offset: float = (
        0.0  # fixed offset lexicon_offset * valence/4 per lexicon id, trained around
    )
    lexicon_post: float = (
        0.0  # after training: weight += lexicon_post * valence/4 (unigrams; negated: -half)
    )
    negated_prior: float = -0.5  # a negated lexicon word's prior, relative to the word's
    gate_full: int = 0  # lexicon_post only at full strength up to this many words ...
    gate_zero: int = 0  # ... falling linearly to 0 at this many (0: no gate, every length)
    dropout: float = 0.0  # share of a review's ids dropped per step (toward_93_nbsvm's trainer)
    grams: int = 3  # train on ids of n-grams up to this order only (unigrams: 1)
    combine: str = ""  # add this saved variant's weights ...
    combine_weight: float = 0.0  # ... times this, after training
    naive_bayes: bool = False  # no training: the weights are the NB ratios themselves
    from_weights: str = ""  # start from a saved variant's trained weights instead of training
    seed: int = 42


GATES = ((10, 30), (10, 50), (10, 80), (20, 30), (20, 50), (20, 80), (30, 50), (30, 80))

VARIANTS: dict[str, Variant] = {
    "base": Variant(),
    "sent1": Variant(sentences=1.0),
    "sent0.5": Variant(sentences=0.5),
    "sent0.25": Variant(sentences=0.25),
    "sent1r": Variant(sentences=1.0, sentence_ratios=True),
    "sent0.5r": Variant(sentences=0.5, sentence_ratios=True),
    "sent1conf1": Variant(sentences=1.0, confident=1.0),
    "sent1conf0": Variant(sentences=1.0, confident=1e-9),
    "len": Variant(calibration="length"),
    "mixed": Variant(calibration="platt-mixed"),
    "sent0.5len": Variant(sentences=0.5, calibration="length"),
    "sent1len": Variant(sentences=1.0, calibration="length"),
    "lex1": Variant(lexicon=1.0),
    "lex0.5": Variant(lexicon=0.5),
    "lex1rare": Variant(lexicon=1.0, lexicon_rare=50),
    **{f"lex{v}len": Variant(lexicon=v, calibration="length") for v in (0.5, 1.0, 2.0)},
    "lex1neg": Variant(lexicon=1.0, negated_prior=-0.5, calibration="length"),
    "ratiosent1len": Variant(ratio_sentences=1.0, calibration="length"),
    "ratiosent0.3len": Variant(ratio_sentences=0.3, calibration="length"),
    "sent0.25mixlen": Variant(sentences=0.25, stop_mixed=True, calibration="length"),
    "sentconf1len": Variant(sentences=1.0, confident=1.0, calibration="length"),
    "sentconf2len": Variant(sentences=0.5, confident=2.0, calibration="length"),
    "ratiosent1": Variant(ratio_sentences=1.0),
    "drop0.5mix": Variant(dropout=0.5, epochs=10, calibration="platt-mixed"),
    "drop0.8mix": Variant(dropout=0.8, epochs=16, calibration="platt-mixed"),
    "uni": Variant(grams=1, calibration="platt-mixed"),
    "bi": Variant(grams=2, calibration="platt-mixed"),
    **{
        f"base+uni{v}": Variant(
            from_weights="base", combine="uni", combine_weight=v, calibration="platt-mixed"
        )
        for v in (0.25, 0.5, 1.0)
    },
    **{
        f"base+bi{v}": Variant(
            from_weights="base", combine="bi", combine_weight=v, calibration="platt-mixed"
        )
        for v in (0.5, 1.0)
    },
    "nb": Variant(naive_bayes=True, calibration="platt-mixed"),
    "nbsent": Variant(naive_bayes=True, ratio_sentences=1.0, calibration="platt-mixed"),
    **{
        f"base+nb{v}": Variant(
            from_weights="base", combine="nb", combine_weight=v, calibration="platt-mixed"
        )
        for v in (0.05, 0.1, 0.2, 0.4)
    },
    **{
        f"base+nbsent{v}": Variant(
            from_weights="base", combine="nbsent", combine_weight=v, calibration="platt-mixed"
        )
        for v in (0.1, 0.2, 0.4)
    },
    **{
        f"post{v}rare{r}": Variant(
            from_weights="base", lexicon_post=v, lexicon_rare=r, calibration="platt-mixed"
        )
        for v in (0.5, 1.0)
        for r in (20, 100, 500)
    },
    "nobias": Variant(from_weights="base", calibration="nobias"),
    **{
        f"off{v}": Variant(lexicon_offset=v, calibration="platt-mixed")
        for v in (0.1, 0.3, 0.5, 1.0)
    },
    **{f"off{v}len": Variant(lexicon_offset=v, calibration="length") for v in (0.3, 0.5, 1.0)},
    "ratiosent0.3": Variant(ratio_sentences=0.3),
    **{f"post{v}": Variant(from_weights="base", lexicon_post=v) for v in (0.1, 0.2, 0.3, 0.5, 1.0)},
    **{
        f"post{v}len": Variant(from_weights="base", lexicon_post=v, calibration="length")
        for v in (0.2, 0.3, 0.5, 1.0)
    },
    # Length-gated lexicon prior: g(words) * prior added to a text's sum, g = 1 up to
    # gate_full words, 0 from gate_zero on, so long reviews score as with the base weights.
    **{
        f"gate{v}n{full}m{zero}{suffix}": Variant(
            from_weights="base",
            lexicon_post=v,
            gate_full=full,
            gate_zero=zero,
            calibration=calibration,
        )
        for v in (0.2, 0.3, 0.5, 1.0)
        for full, zero in GATES
        for suffix, calibration in (("", "platt-mixed"), ("len", "length"), ("cal", "gated"))
    },
    # The calibration alone gated by length (no prior): Platt for short texts and for long.
    **{
        f"gatecaln{full}m{zero}": Variant(
            from_weights="base", calibration="gated", gate_full=full, gate_zero=zero
        )
        for full, zero in GATES
    },
}


@numba.njit(cache=True)
def _epoch(
    ids,
    pointers,
    targets,
    row_weights,
    order,
    ratios,
    weights,
    offset,
    m,
    v,
    gradient,
    step,
    rate,
    batch,
):
    beta1, beta2, epsilon = 0.9, 0.999, 1e-7
    size = weights.shape[0]
    for start in range(0, order.shape[0], batch):
        stop = min(start + batch, order.shape[0])
        count = stop - start
        for position in range(start, stop):
            row = order[position]
            logit = 0.0
            for k in range(pointers[row], pointers[row + 1]):
                logit += ratios[ids[k]] * weights[ids[k]] + offset[ids[k]]
            probability = 1.0 / (1.0 + math.exp(-logit))
            error = row_weights[row] * (probability - targets[row]) / count
            for k in range(pointers[row], pointers[row + 1]):
                gradient[ids[k]] += error * ratios[ids[k]]
        step += 1
        alpha = rate * math.sqrt(1.0 - beta2**step) / (1.0 - beta1**step)
        for i in range(size):
            g = gradient[i]
            m[i] += (g - m[i]) * (1.0 - beta1)
            v[i] += (g * g - v[i]) * (1.0 - beta2)
            weights[i] -= m[i] * alpha / (math.sqrt(v[i]) + epsilon)
            gradient[i] = 0.0
    return step


def concatenate(first: Sparse, second: Sparse) -> Sparse:
    return (
        np.concatenate([first[0], second[0]]),
        np.concatenate([first[1], second[1][1:] + first[1][-1]]),
    )


def subset(data: Sparse, rows: np.ndarray) -> Sparse:
    ids, pointers = data
    lengths = pointers[rows + 1] - pointers[rows]
    new = np.zeros(len(rows) + 1, np.int64)
    np.cumsum(lengths, out=new[1:])
    if len(rows) == 0:
        return ids[:0], new
    return np.concatenate([ids[pointers[r] : pointers[r + 1]] for r in rows]), new


def only_ids(data: Sparse, keep: np.ndarray) -> Sparse:
    """The bags with only the ids ``keep`` marks."""
    ids, pointers = data
    mask = keep[ids]
    counts = np.add.reduceat(mask.astype(np.int64), pointers[:-1]) if len(ids) else mask
    counts = np.where(np.diff(pointers) > 0, counts, 0)
    new = np.zeros(len(pointers), np.int64)
    np.cumsum(counts, out=new[1:])
    return ids[mask], new


def nb_ratios(data: Sparse, targets: np.ndarray, row_weights: np.ndarray, size: int, alpha: float):
    positive = column_sums(*data, targets * row_weights, size) + alpha
    negative = column_sums(*data, (1.0 - targets) * row_weights, size) + alpha
    positive[:2] = negative[:2] = alpha
    ratios = np.log((positive / positive.sum()) / (negative / negative.sum()))
    ratios[:2] = 0.0
    return ratios


def lexicon_prior(work: Path, size: int, negated: float = 0.0) -> np.ndarray:
    """Per id, VADER's mean valence / 4 for unigram ids in its lexicon, ``negated`` times
    that for the negated unigram (``_word``), 0 elsewhere."""
    vocabulary = (work / "vocabulary.txt").read_text().split("\n")
    valence = {}
    for line in (
        Path("/tmp/vader/vaderSentiment/vader_lexicon.txt").read_text(encoding="utf-8").splitlines()
    ):
        parts = line.split("\t")
        if len(parts) >= 2:
            valence[parts[0]] = float(parts[1])
    prior = np.zeros(size)
    for index, gram in enumerate(vocabulary[:size]):
        if gram in valence:
            prior[index] = valence[gram] / 4.0
        elif gram.startswith("_") and gram[1:] in valence:
            prior[index] = negated * valence[gram[1:]] / 4.0
    return prior


def train(
    work, fit, y_fit, w_fit, stop, y_stop, size, variant: Variant, ratios: np.ndarray, offset=None
):
    offset = np.zeros(size) if offset is None else offset
    generator = np.random.default_rng(variant.seed)
    scale = math.sqrt(2.0 / (size + 1))
    weights = np.clip(generator.normal(0.0, scale, size), -2 * scale, 2 * scale)
    m, v, gradient = np.zeros(size), np.zeros(size), np.zeros(size)
    step, best_loss, best, waited, epochs = 0, np.inf, weights.copy(), 0, 0
    for epoch in range(1, variant.epochs + 1):
        order = generator.permutation(len(y_fit))
        step = _epoch(
            *fit, y_fit, w_fit, order, ratios, weights, offset, m, v, gradient, step, 1e-3, 32
        )
        logits = row_sums(*stop, ratios * weights + offset)
        loss = float(np.mean(np.logaddexp(0.0, logits) - y_stop * logits))
        if loss < best_loss:
            best_loss, best, waited, epochs = loss, weights.copy(), 0, epoch
        else:
            waited += 1
            if waited > variant.patience:
                break
    return best * ratios + offset, epochs


# --- calibration --------------------------------------------------------------------------


def _newton(design: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Logistic regression by Newton's method with step halving (finite on separable data:
    Platt's smoothed targets, as ``sentiment.modeling.calibration.fit_platt``)."""
    positives = labels.sum()
    negatives = labels.size - positives
    targets = np.where(labels > 0.5, (positives + 1) / (positives + 2), 1 / (negatives + 2))
    parameters = np.zeros(design.shape[1])
    parameters[0] = 1.0

    def loss(values):
        z = design @ values
        return float(np.sum(np.logaddexp(0.0, z) - targets * z))

    current = loss(parameters)
    for _ in range(100):
        p = 0.5 * (1 + np.tanh(0.5 * (design @ parameters)))
        gradient = design.T @ (p - targets)
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + 1e-9 * np.eye(design.shape[1])
        step = np.linalg.solve(hessian, gradient)
        scale = 1.0
        while scale > 1e-6:
            value = loss(parameters - scale * step)
            if value <= current:
                break
            scale /= 2
        else:
            break
        parameters = parameters - scale * step
        converged = current - value < 1e-12 * max(1.0, abs(current))
        current = value
        if converged:
            break
    return parameters


def gate(words: np.ndarray, full: int, zero: int) -> np.ndarray:
    """1 for texts of at most ``full`` words, 0 from ``zero`` words on, linear between."""
    if not zero:
        return np.ones(len(words))
    return np.clip((zero - words) / (zero - full), 0.0, 1.0)


# The gate of the calibration (kind "gated"), set per variant by ``run``.
CALIBRATION_GATE = [0, 0]


def features(logits: np.ndarray, words: np.ndarray, kind: str) -> np.ndarray:
    if kind == "length":
        return np.column_stack([logits, np.ones_like(logits), np.log1p(words)])
    if kind == "gated":
        # Two Platt fits blended by the gate: one for short texts, one for long ones.
        short = gate(words, *CALIBRATION_GATE)
        return np.column_stack([logits * (1 - short), 1 - short, logits * short, short])
    return np.column_stack([logits, np.ones_like(logits)])


def calibrate(kind: str, val_logits, y_val, val_words, sent_logits, y_sent, sent_words):
    if kind == "platt":
        return _newton(features(val_logits, val_words, kind), y_val)
    if kind == "nobias":
        return np.array([_newton(val_logits[:, None], y_val)[0], 0.0])
    # Validation reviews and their sentences, the sentences weighted to count as many
    # rows as the reviews (a sample of them, equal in number).
    generator = np.random.default_rng(0)
    take = generator.choice(len(sent_logits), size=len(val_logits), replace=False)
    logits = np.concatenate([val_logits, sent_logits[take]])
    labels = np.concatenate([y_val, y_sent[take]])
    words = np.concatenate([val_words, sent_words[take]])
    return _newton(features(logits, words, feature_kind(kind)), labels)


def feature_kind(kind: str) -> str:
    return kind if kind in ("length", "gated") else "platt"


def accuracy(parameters, logits, labels, words, kind) -> float:
    z = features(logits, words, feature_kind(kind)) @ parameters
    return float(np.mean((z >= 0) == (labels > 0.5)))


# --- experiments --------------------------------------------------------------------------


def run(work: Path, names: list[str], results: Path) -> None:
    size = int((work / "num_words.txt").read_text())
    fit, y_fit, _ = load(work, "fit")
    val, y_val, val_words = load(work, "val")
    test, y_test, test_words = load(work, "test")
    fit_sent, y_fit_sent, _ = load(work, "fit_sent")
    val_sent, y_val_sent, val_sent_words = load(work, "val_sent")
    sst, y_sst, sst_words = load(work, "sst")
    checklist, y_checklist, checklist_words = load(work, "checklist")
    y_fit, y_val, y_test = (y.astype(np.float64) for y in (y_fit, y_val, y_test))
    y_fit_sent, y_val_sent = y_fit_sent.astype(np.float64), y_val_sent.astype(np.float64)
    base_weights = None
    for name in names:
        variant = VARIANTS[name]
        started = time.time()
        data, targets, row_weights = fit, y_fit, np.ones(len(y_fit))
        if variant.sentences:
            keep = np.arange(len(y_fit_sent))
            if variant.confident:
                if base_weights is None:
                    ratios = nb_ratios(fit, y_fit, np.ones(len(y_fit)), size, variant.alpha)
                    base_weights, _ = train(
                        work,
                        fit,
                        y_fit,
                        np.ones(len(y_fit)),
                        val,
                        y_val,
                        size,
                        VARIANTS["base"],
                        ratios,
                    )
                logits = row_sums(*fit_sent, base_weights)
                signed = np.where(y_fit_sent > 0.5, logits, -logits)
                keep = np.flatnonzero(signed >= variant.confident)
            data = concatenate(fit, subset(fit_sent, keep))
            targets = np.concatenate([y_fit, y_fit_sent[keep]])
            row_weights = np.concatenate([row_weights, np.full(len(keep), variant.sentences)])
        if variant.sentence_ratios:
            ratios = nb_ratios(data, targets, row_weights, size, variant.alpha)
        elif variant.ratio_sentences:
            ratios = nb_ratios(
                concatenate(fit, fit_sent),
                np.concatenate([y_fit, y_fit_sent]),
                np.concatenate(
                    [np.ones(len(y_fit)), np.full(len(y_fit_sent), variant.ratio_sentences)]
                ),
                size,
                variant.alpha,
            )
        else:
            ratios = nb_ratios(fit, y_fit, np.ones(len(y_fit)), size, variant.alpha)
        if variant.lexicon:
            prior = lexicon_prior(
                work, size, variant.negated_prior if name.endswith("neg") else 0.0
            )
            if variant.lexicon_rare:
                counts = column_sums(*fit, np.ones(len(y_fit)), size)
                prior[counts >= variant.lexicon_rare] = 0.0
            ratios = ratios + variant.lexicon * prior
        stop, y_stop = val, y_val
        if variant.grams < 3:
            vocabulary = (work / "vocabulary.txt").read_text().split("\n")
            keep_ids = np.zeros(size, np.bool_)
            keep_ids[:2] = True
            for index, gram in enumerate(vocabulary[:size]):
                keep_ids[index] = gram.count(" ") < variant.grams
            data, stop = only_ids(data, keep_ids), only_ids(stop, keep_ids)
            ratios = np.where(keep_ids, ratios, 0.0)
        if variant.stop_mixed:
            stop, y_stop = concatenate(val, val_sent), np.concatenate([y_val, y_val_sent])
        if variant.dropout:
            from research import toward_93_nbsvm

            theirs = toward_93_nbsvm.Variant(
                dropout=variant.dropout, epochs=variant.epochs, alpha=variant.alpha
            )
            their_ratios, their_weights, epochs = toward_93_nbsvm.train(
                fit, y_fit, stop, y_stop, size, theirs, variant.seed
            )
            weights = their_ratios * their_weights
        elif variant.naive_bayes:
            weights, epochs = ratios.copy(), 0
        elif variant.from_weights:
            weights, epochs = (
                np.load(work / f"weights_{variant.from_weights}.npy").astype(np.float64),
                0,
            )
        else:
            offset = None
            if variant.lexicon_offset:
                offset = variant.lexicon_offset * lexicon_prior(work, size, variant.negated_prior)
            weights, epochs = train(
                work, data, targets, row_weights, stop, y_stop, size, variant, ratios, offset
            )
        if variant.lexicon_post:
            prior = lexicon_prior(work, size, variant.negated_prior)
            if variant.lexicon_rare:
                counts = column_sums(*fit, np.ones(len(y_fit)), size)
                prior[counts >= variant.lexicon_rare] = 0.0
            weights = weights + variant.lexicon_post * prior
        gated_prior = None
        if variant.lexicon_post and variant.gate_zero:
            # Gated: the prior is kept apart and added per text as g(words) * its sum.
            weights = weights - variant.lexicon_post * prior
            gated_prior = variant.lexicon_post * prior
        if variant.combine:
            other = np.load(work / f"weights_{variant.combine}.npy").astype(np.float64)
            weights = weights + variant.combine_weight * other
        if name == "base":
            base_weights = weights
        if not variant.from_weights or variant.naive_bayes:
            np.save(work / f"weights_{name}.npy", weights.astype(np.float32))
        sets = {"val": val, "val_sent": val_sent, "test": test, "sst": sst, "checklist": checklist}
        set_words = {
            "val": val_words,
            "val_sent": val_sent_words,
            "test": test_words,
            "sst": sst_words,
            "checklist": checklist_words,
        }
        logit = {key: row_sums(*value, weights) for key, value in sets.items()}
        if gated_prior is not None:
            for key, value in sets.items():
                logit[key] = logit[key] + gate(
                    set_words[key], variant.gate_full, variant.gate_zero
                ) * row_sums(*value, gated_prior)
        CALIBRATION_GATE[:] = [variant.gate_full, variant.gate_zero]
        parameters = calibrate(
            variant.calibration,
            logit["val"],
            y_val,
            val_words,
            logit["val_sent"],
            y_val_sent,
            val_sent_words,
        )
        kind = variant.calibration
        row = {
            "variant": name,
            "settings": {k: v for k, v in variant.__dict__.items() if v != getattr(Variant(), k)},
            "epochs": epochs,
            "calibration": [round(float(p), 4) for p in parameters],
            "val": accuracy(parameters, logit["val"], y_val, val_words, kind),
            "val_sent": accuracy(parameters, logit["val_sent"], y_val_sent, val_sent_words, kind),
            "sst_dev": accuracy(parameters, logit["sst"], y_sst, sst_words, kind),
            "checklist": accuracy(
                parameters, logit["checklist"], y_checklist, checklist_words, kind
            ),
            "test": accuracy(parameters, logit["test"], y_test, test_words, kind),
            "test_buckets": {},
            "seconds": round(time.time() - started, 1),
        }
        for low, high in BUCKETS:
            rows = (test_words >= low) & (test_words <= high)
            if rows.any():
                row["test_buckets"][f"{low}-{high}"] = [
                    int(rows.sum()),
                    round(
                        accuracy(
                            parameters, logit["test"][rows], y_test[rows], test_words[rows], kind
                        ),
                        4,
                    ),
                ]
        for low, high in ((0, 10), (11, 50)):
            rows = (sst_words >= low) & (sst_words <= high)
            row[f"sst_{low}-{high}"] = [
                int(rows.sum()),
                round(
                    accuracy(parameters, logit["sst"][rows], y_sst[rows], sst_words[rows], kind), 4
                ),
            ]
        wrong = [
            i
            for i in range(len(y_checklist))
            if (
                features(
                    logit["checklist"][i : i + 1],
                    checklist_words[i : i + 1],
                    feature_kind(kind),
                )
                @ parameters
                >= 0
            )[0]
            != (y_checklist[i] > 0.5)
        ]
        row["checklist_wrong"] = wrong
        for key in ("val", "val_sent", "sst_dev", "checklist", "test"):
            row[key] = round(row[key], 4)
        line = json.dumps(row)
        print(line, flush=True)
        with results.open("a") as handle:
            handle.write(line + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--variants", default="base")
    parser.add_argument("--results", type=Path, default=Path(__file__).parent / "results.jsonl")
    parser.add_argument("command", choices=["prepare", "run"])
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.home, args.work)
    else:
        run(args.work, args.variants.split(","), args.results)


if __name__ == "__main__":
    main()

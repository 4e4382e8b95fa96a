"""Cross-fitted training of a linear bag model: k fold models averaged into one.

With ``folds = k > 1`` the train and validation portions are pooled and cut into k folds
(seeded). Fold model f gets naive-Bayes ratios and weights from every review outside
fold f and stops early on fold f's loss, so every labelled review trains k - 1 models
and stops one, and no model ever sees the test split. A linear model's logit is
``sum_i r_i * w_i`` over a review's distinct ids, so the mean of the k logits is one
linear model whose per-id weight is the mean of the k products: the ensemble scores
exactly as fast as a single model. Each review's logit from the model that did not
train on it (out of fold) is what calibration and the reported validation metrics use.
See docs/decisions/0005-folds-option.md for what this is worth.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from sentiment.modeling import dataset as datasets
from sentiment.modeling.linear import folded_weights
from sentiment.modeling.zoo import naive_bayes_ratios, set_nb_ratios

if TYPE_CHECKING:
    from pathlib import Path

    import keras
    import tensorflow as tf

    from sentiment.modeling.fitting import EpochHook

logger = logging.getLogger(__name__)

# Fits one fold model: (model, fold, train data, stopping data) -> (history, best index).
FoldFit = Callable[["keras.Model", int, "tf.data.Dataset", "tf.data.Dataset"], tuple[list, int]]


@dataclass(frozen=True)
class FoldEnsemble:
    """The averaged model and what calibration and the metadata need.

    Attributes:
        weights: float32, one weight per id: the mean over folds of ``r * w``.
        out_of_fold_logits: Each pooled review's logit from the fold model it stopped.
        labels: The pooled reviews' labels (0/1), in the same order.
        folds: Per fold: rows trained on, rows held out, epochs run, best epoch.
        history: Every fold's epochs, each row tagged with its 1-based ``fold``.
    """

    weights: np.ndarray
    out_of_fold_logits: np.ndarray
    labels: np.ndarray
    folds: list[dict[str, Any]]
    history: list[dict[str, float]]


def fold_assignment(rows: int, folds: int, seed: int) -> list[np.ndarray]:
    """The pooled rows of each fold, a seeded permutation cut into ``folds`` parts."""
    order = np.random.default_rng(seed).permutation(rows)
    return [np.sort(part) for part in np.array_split(order, folds)]


def train_fold_ensemble(
    paths: tuple[Path, Path],
    max_length: int,
    num_words: int,
    folds: int,
    seed: int,
    nb_alpha: float,
    batch_size: int,
    build: Callable[[int], keras.Model],
    fit: FoldFit,
) -> FoldEnsemble:
    """Train ``folds`` linear models on the pooled train + validation reviews.

    Args:
        paths: The processed train and validation splits.
        max_length: Ids per review.
        num_words: The vectorizer's id space.
        folds: How many fold models (>= 2).
        seed: Seed of the fold assignment; fold f's model gets ``seed + f``.
        nb_alpha: Smoothing of the naive-Bayes ratios.
        batch_size: Reviews per training batch.
        build: A fresh, untrained linear model for a seed.
        fit: Trains a model on the first dataset, stopping early on the second.

    Returns:
        The averaged weights, out-of-fold logits and per-fold records.
    """
    arrays = [datasets.load_arrays(path, max_length) for path in paths]
    token_ids = np.concatenate([ids for ids, _ in arrays])
    labels = np.concatenate([split_labels for _, split_labels in arrays]).astype(np.int8)
    parts = fold_assignment(len(labels), folds, seed)
    total = np.zeros(num_words, np.float64)
    out_of_fold = np.zeros(len(labels), np.float64)
    records: list[dict[str, Any]] = []
    history: list[dict[str, float]] = []
    for fold, held in enumerate(parts):
        rest = np.setdiff1d(np.arange(len(labels)), held, assume_unique=True)
        model = build(seed + fold)
        positive, negative = datasets.count_ids_in_arrays(token_ids[rest], labels[rest], num_words)
        set_nb_ratios(model, naive_bayes_ratios(positive, negative, alpha=nb_alpha))
        train_data = datasets.array_dataset(
            token_ids[rest], labels[rest], batch_size, shuffle=True, seed=seed + fold
        )
        stop_data = datasets.array_dataset(
            token_ids[held], labels[held], max(batch_size, 256), shuffle=False
        )
        fold_history, best_index = fit(model, fold + 1, train_data, stop_data)
        folded = folded_weights(model)
        if folded is None:  # TrainConfig admits only linear models here
            raise TypeError(f"Model '{model.name}' is not linear.")
        weights = folded[0].astype(np.float64)
        total += weights
        out_of_fold[held] = weights[token_ids[held]].sum(axis=1)
        records.append(
            {
                "fold": fold + 1,
                "train_rows": int(rest.size),
                "held_out_rows": int(held.size),
                "epochs_run": len(fold_history),
                "best_epoch": best_index + 1,
            }
        )
        history.extend({**row, "fold": fold + 1} for row in fold_history)
        logger.info(
            "Fold %d/%d: %d reviews trained, %d held out, best epoch %d",
            fold + 1,
            folds,
            rest.size,
            held.size,
            best_index + 1,
        )
    return FoldEnsemble(
        weights=(total / folds).astype(np.float32),
        out_of_fold_logits=out_of_fold,
        labels=labels,
        folds=records,
        history=history,
    )


def tag_fold(on_epoch_end: EpochHook | None, fold: int) -> EpochHook | None:
    """The epoch hook with each epoch's metrics tagged with its fold."""
    if on_epoch_end is None:
        return None
    hook = on_epoch_end
    return lambda epoch, metrics: hook(epoch, {**metrics, "fold": fold})


def out_of_fold_metrics(logits: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Log loss and accuracy (at 0.5) of out-of-fold logits."""
    loss = np.logaddexp(0.0, logits) - labels * logits
    return {"loss": float(loss.mean()), "accuracy": float(np.mean((logits > 0) == (labels == 1)))}

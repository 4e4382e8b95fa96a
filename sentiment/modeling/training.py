"""Train a zoo model on a processed home and write a model bundle.

Training streams the processed Parquet splits through ``tf.data``, validates on the
validation split after every epoch, early-stops on validation loss when more than two
epochs are asked for (restoring the best weights), and writes the bundle only after
training finished cleanly, so a crash or a diverged run leaves nothing that looks done.
With ``folds > 1`` a linear model is instead trained as a fold ensemble over train and
validation together (:mod:`sentiment.modeling.folds`), each fold model validated and
stopped on its own held-out fold. The test split is never read here.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sentiment.core.atomic import file_fingerprint, remove_stale_temporaries
from sentiment.core.paths import HomeLayout
from sentiment.core.progress import PROGRESS_SECONDS, Progress
from sentiment.core.provenance import code_fingerprint
from sentiment.data.preprocess import find_processed
from sentiment.data.processed import PreprocessResult
from sentiment.encoding.vectorizer import Vectorizer
from sentiment.modeling import dataset as datasets
from sentiment.modeling.bundle import new_version, save_bundle
from sentiment.modeling.calibration import (
    DEFAULT_THRESHOLD,
    Calibration,
    best_threshold,
    brier_score,
    expected_calibration_error,
    fit_platt,
    logit,
)
from sentiment.modeling.config import ThresholdRule, TrainConfig, get_model_spec
from sentiment.modeling.fitting import EpochHook, fit_model, set_reproducible
from sentiment.modeling.folds import out_of_fold_metrics, tag_fold, train_fold_ensemble
from sentiment.modeling.linear import LINEAR_WEIGHTS_FILE, folded_weights, weights_file
from sentiment.modeling.profile import PROFILE_FILE, profile_training_data
from sentiment.modeling.sentences import validation_sentences
from sentiment.modeling.short_text_prior import (
    PRIOR_FILE,
    ShortTextPrior,
    build_prior,
    prior_file,
)
from sentiment.modeling.training_outputs import (
    CURVE_FILE,
    TrainResult,
    environment,
    training_curve_png,
)
from sentiment.modeling.zoo import (
    build_model,
    naive_bayes_ratios,
    parameter_count,
    set_linear_weights,
    set_nb_ratios,
)

if TYPE_CHECKING:
    import keras

logger = logging.getLogger(__name__)

# Sentences encoded at a time for the calibration.
_SENTENCE_BATCH = 4096


def calibrate_on_validation(
    model: keras.Model,
    validation_path: Path,
    vectorizer: Vectorizer,
    linear: np.ndarray | None,
    rule: ThresholdRule = TrainConfig.decision_threshold,
    sentences: tuple[list[str], np.ndarray] | None = None,
    sentence_weight: float = TrainConfig.calibration_sentences,
) -> dict[str, Any]:
    """Fit Platt scaling and choose the decision threshold on the validation split.

    Only validation rows are read: the test split never shapes the bundle.

    Args:
        model: The trained model.
        validation_path: The processed validation split.
        vectorizer: The model's vectorizer.
        linear: The folded per-id weights of a linear model (its exact logits are
            their sums), or None to take the logit of the model's probabilities.
        rule: How to set the decision threshold (see ``TrainConfig.decision_threshold``).
        sentences: The validation reviews' sentences and labels
            (:func:`sentiment.modeling.sentences.validation_sentences`), fitted beside
            the reviews, together weighing ``sentence_weight`` times as much.
        sentence_weight: See ``TrainConfig.calibration_sentences``.

    Returns:
        Metadata entries ``calibration`` and ``decision_threshold``.
    """

    def logits_of(token_ids: np.ndarray) -> np.ndarray:
        if linear is not None:
            return linear[token_ids].astype(np.float64).sum(axis=1)
        return logit(model.predict(token_ids, batch_size=1024, verbose=0).reshape(-1))

    token_ids, labels = datasets.load_arrays(validation_path, vectorizer.config.max_length)
    logits = logits_of(token_ids)
    if sentences is None or not len(sentences[1]):
        return calibrate_logits(logits, labels, "validation", rule)
    texts, sentence_labels = sentences
    # Encoded a batch at a time: each sentence pads to max_length ids.
    sentence_logits = np.concatenate(
        [
            logits_of(vectorizer.encode(texts[start : start + _SENTENCE_BATCH]))
            for start in range(0, len(texts), _SENTENCE_BATCH)
        ]
    )
    return calibrate_logits(
        logits,
        labels,
        f"validation reviews and their {len(texts):,} sentences",
        rule,
        (sentence_logits, sentence_labels, sentence_weight),
    )


def calibrate_logits(
    logits: np.ndarray,
    labels: np.ndarray,
    fitted_on: str,
    rule: ThresholdRule = TrainConfig.decision_threshold,
    short_texts: tuple[np.ndarray, np.ndarray, float] | None = None,
) -> dict[str, Any]:
    """Platt scaling and the decision threshold fitted on held-out logits and labels.

    Args:
        logits: Logits of reviews the model did not train on.
        labels: Their labels (0/1).
        fitted_on: Which reviews they are, for the metadata (``validation``, or the
            out-of-fold reviews of a fold ensemble).
        rule: ``calibrated`` keeps 0.5 of the calibrated score; ``max-accuracy`` takes
            the calibrated score that maximizes these reviews' accuracy. Either way the
            metadata records both thresholds and their accuracies.
        short_texts: Logits and labels of short texts from the same reviews, and how
            much they weigh together, as a multiple of the reviews: fitted beside them
            by the Platt scaling only; the metrics and thresholds recorded are the
            reviews'.

    Returns:
        Metadata entries ``calibration`` and ``decision_threshold``.
    """
    if short_texts is None:
        calibration = fit_platt(logits, labels)
    else:
        short_logits, short_labels, weight = short_texts
        calibration = fit_platt(
            np.concatenate([logits, short_logits]),
            np.concatenate([labels, short_labels]),
            np.concatenate(
                [
                    np.ones(labels.size),
                    np.full(short_labels.size, weight * labels.size / short_labels.size),
                ]
            ),
        )
    raw = Calibration().apply_logits(logits)
    calibrated = calibration.apply_logits(logits)
    best, best_accuracy = best_threshold(calibrated, labels)
    accuracy_at_half = float(np.mean((calibrated >= DEFAULT_THRESHOLD) == (labels == 1)))
    if rule == "max-accuracy":
        threshold, accuracy = best, best_accuracy
        criterion = "maximum validation accuracy of calibrated scores"
    else:
        threshold, accuracy = DEFAULT_THRESHOLD, accuracy_at_half
        criterion = "calibrated probability 0.5"
    entries = {
        "calibration": {
            **calibration.to_dict(),
            "fitted_on": fitted_on,
            "rows": int(labels.size),
            "validation_ece_before": expected_calibration_error(labels, raw),
            "validation_ece": expected_calibration_error(labels, calibrated),
            "validation_brier": brier_score(labels, calibrated),
            **(
                {"short_texts": {"rows": int(short_texts[1].size), "weight": short_texts[2]}}
                if short_texts is not None
                else {}
            ),
        },
        "decision_threshold": {
            "value": threshold,
            "chosen_on": fitted_on,
            "rule": rule,
            "criterion": criterion,
            "validation_accuracy": accuracy,
            "validation_accuracy_at_0.5": accuracy_at_half,
            "max_accuracy_threshold": best,
            "validation_accuracy_at_max_accuracy_threshold": best_accuracy,
        },
    }
    logger.info(
        "Calibrated on %d %s reviews: slope %.4f, intercept %.4f, ECE %.4f -> %.4f; "
        "threshold %.4f (validation accuracy %.4f)",
        labels.size,
        fitted_on,
        calibration.slope,
        calibration.intercept,
        entries["calibration"]["validation_ece_before"],
        entries["calibration"]["validation_ece"],
        threshold,
        accuracy,
    )
    return entries


def _training_inputs(home: Path, processed: PreprocessResult) -> list[Path]:
    """The raw files whose reviews ``processed``'s train and validation splits hold: the
    IMDB training split, then each labelled batch's training portion in snapshot order
    (their fingerprints are part of the processed key, so they are the very data)."""
    layout = HomeLayout(Path(home))
    batches = processed.manifest.get("labelled_batches") or []
    return [
        layout.raw_split("train"),
        *(layout.labelled_batch(batch) / "train.parquet" for batch in batches),
    ]


def train(
    home: Path,
    config: TrainConfig,
    on_epoch_end: EpochHook | None = None,
    progress_seconds: float = PROGRESS_SECONDS,
) -> TrainResult:
    """Train ``config.model`` on the home's processed data and save a bundle.

    Every step is logged as it starts (reading the processed data, each epoch, the
    calibration, the training profile, the bundle), and each epoch's batches done at
    most every ``progress_seconds``.

    Args:
        home: The pipeline home.
        config: The run's settings.
        on_epoch_end: Called after every epoch with the 1-based epoch and its metrics
            (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, ``seconds``).
        progress_seconds: The least time between two progress lines of an epoch.

    Returns:
        The bundle's version, directory, validation metrics and history.

    Raises:
        StageOutputMissingError: If the preprocessing output for the model's settings is
            missing or stale (the message says which command to run).
        TrainingDivergedError: If the loss became NaN or infinite.
        DataError: If the processed files are unreadable.
    """
    import keras

    started = time.perf_counter()
    home = Path(home)
    remove_stale_temporaries(HomeLayout(home).models_dir)
    spec = get_model_spec(config.model)
    phase = f"Training {spec.name}"
    progress = Progress(logger, phase, seconds=progress_seconds)
    progress.step("reading the processed data")
    processed = find_processed(home, config.preprocess_config)
    vectorizer = Vectorizer.load(processed.vectorizer_path)
    vector_config = vectorizer.config
    train_path = processed.split_path("train")
    validation_path = processed.split_path("validation")
    train_info = datasets.inspect_split(train_path, vector_config.max_length)
    validation_info = datasets.inspect_split(validation_path, vector_config.max_length)

    set_reproducible(config.seed)
    keras.backend.clear_session()
    model = build_model(spec.name, vector_config, config.resolved_learning_rate, config.seed)
    if spec.uses_nb_ratios and config.folds == 1:
        progress.step("naive-Bayes ratios of the training split")
        positive, negative = datasets.count_ids_by_label(
            train_path, vector_config.num_words, vector_config.max_length
        )
        set_nb_ratios(model, naive_bayes_ratios(positive, negative, alpha=config.nb_alpha))

    batch_size = config.resolved_batch_size
    logger.info(
        "Training %s on %s (%d train / %d validation reviews%s), %d epochs of batch %d",
        spec.name,
        processed.key,
        train_info.num_rows,
        validation_info.num_rows,
        f", {config.folds} folds of both" if config.folds > 1 else "",
        config.resolved_epochs,
        batch_size,
    )
    ensemble = None
    if config.folds > 1:
        ensemble = train_fold_ensemble(
            (train_path, validation_path),
            vector_config.max_length,
            vector_config.num_words,
            config.folds,
            config.seed,
            config.nb_alpha,
            batch_size,
            build=lambda seed: build_model(
                spec.name, vector_config, config.resolved_learning_rate, seed
            ),
            fit=lambda fold_model, fold, data, stop: fit_model(
                fold_model,
                data,
                stop,
                config,
                tag_fold(on_epoch_end, fold),
                f"{phase}, fold {fold}/{config.folds}",
                progress_seconds,
            ),
        )
        set_linear_weights(model, ensemble.weights)
        history = ensemble.history
        # One number for the summary and the manifest: the folds' mean best epoch (each
        # fold's own is in metadata["folds"]).
        best_index = round(float(np.mean([fold["best_epoch"] for fold in ensemble.folds]))) - 1
        validation_metrics = out_of_fold_metrics(ensemble.out_of_fold_logits, ensemble.labels)
    else:
        train_data = datasets.make_dataset(
            train_path,
            batch_size,
            shuffle=True,
            seed=config.seed,
            max_length=vector_config.max_length,
        )
        validation_data = datasets.make_dataset(
            validation_path,
            max(batch_size, 256),
            shuffle=False,
            max_length=vector_config.max_length,
        )
        history, best_index = fit_model(
            model, train_data, validation_data, config, on_epoch_end, phase, progress_seconds
        )
        best = history[best_index]
        validation_metrics = {"loss": best["val_loss"], "accuracy": best["val_accuracy"]}

    progress.step("calibrating the scores")
    extra_files: dict[str, bytes] = {}
    linear_entry: dict[str, Any] | None = None
    folded = folded_weights(model) if spec.linear else None
    if folded is not None:
        content, linear_entry = weights_file(*folded)
        extra_files[LINEAR_WEIGHTS_FILE] = content
    if ensemble is not None:
        calibration_entries = calibrate_logits(
            ensemble.out_of_fold_logits,
            ensemble.labels,
            f"out-of-fold train + validation ({config.folds} folds)",
            config.decision_threshold,
        )
    else:
        sentences = None
        if config.calibration_sentences > 0:
            sentences = validation_sentences(validation_path, _training_inputs(home, processed))
        calibration_entries = calibrate_on_validation(
            model,
            validation_path,
            vectorizer,
            None if folded is None else folded[0],
            config.decision_threshold,
            sentences,
            config.calibration_sentences,
        )

    # Scoring judges drift against the reviews this model learned from, through its own
    # vectorizer, whatever home the bundle is later scored from.
    progress.step("profiling the training reviews (scoring's drift reference)")
    inputs = _training_inputs(home, processed)
    profile = profile_training_data(inputs, vectorizer)

    created = datetime.now(UTC)
    version = new_version(spec.name, created)
    directory = HomeLayout(home).bundle(version)
    counts = parameter_count(model)
    seconds = time.perf_counter() - started
    metadata: dict[str, Any] = {
        "version": version,
        "created_at": created.isoformat(timespec="seconds"),
        "model": {"name": spec.name, "description": spec.description, **config.to_dict()},
        "preprocessing": {
            "key": processed.key,
            "directory": str(processed.directory),
            "config": config.preprocess_config.to_dict(),
            "manifest": processed.manifest,
        },
        # What the no-churn check of a retrain compares with the champion's.
        "data_snapshot": processed.data_snapshot,
        "code_fingerprint": code_fingerprint(),
        "data_fingerprints": {
            "train": file_fingerprint(train_path),
            "validation": file_fingerprint(validation_path),
            "vectorizer": file_fingerprint(processed.vectorizer_path),
        },
        "rows": {"train": train_info.num_rows, "validation": validation_info.num_rows},
        "training_profile": {
            "file": PROFILE_FILE,
            "inputs": [str(path.relative_to(home)) for path in inputs],
            "rows": profile.rows,
        },
        "history": history,
        "best_epoch": best_index + 1,
        "epochs_run": len(history),
        "validation_metrics": validation_metrics,
        **({"folds": ensemble.folds} if ensemble is not None else {}),
        "seed": config.seed,
        "environment": environment(),
        "training_seconds": round(seconds, 3),
        "parameter_count": counts,
        **calibration_entries,
    }
    if linear_entry is not None:
        metadata["linear"] = linear_entry
        if config.short_text_prior > 0:
            content, metadata["linear"]["short_text_prior"] = _short_text_prior(vectorizer, config)
            extra_files[PRIOR_FILE] = content
    progress.step(f"writing the bundle {version}")
    extra_files[CURVE_FILE] = training_curve_png(history, f"{spec.name} {version}")
    save_bundle(directory, model, vectorizer, metadata, extra_files=extra_files, profile=profile)
    logger.info(
        "Trained %s in %.1f s: validation accuracy %.4f, loss %.4f -> %s",
        spec.name,
        seconds,
        validation_metrics["accuracy"],
        validation_metrics["loss"],
        directory,
    )
    return TrainResult(
        version=version,
        directory=directory,
        validation_metrics=validation_metrics,
        history=history,
        best_epoch=best_index + 1,
        seconds=seconds,
        parameter_count=counts,
        preprocessing_key=processed.key,
        metadata=metadata,
    )


def _short_text_prior(vectorizer: Vectorizer, config: TrainConfig) -> tuple[bytes, dict[str, Any]]:
    """The bundle's short-text prior file and metadata entry.

    The calibration is fitted without the prior, so reviews of ``long_text_tokens`` or
    more score exactly as the model alone scores them.
    """
    prior = ShortTextPrior(
        build_prior(vectorizer.vocabulary, config.short_text_prior, vectorizer.config.num_words),
        config.short_text_tokens,
        config.long_text_tokens,
    )
    content, entry = prior_file(prior, config.short_text_prior)
    logger.info(
        "Short-text prior: %d lexicon ids at strength %.2f, whole up to %d tokens, none from %d",
        entry["polar_ids"],
        config.short_text_prior,
        config.short_text_tokens,
        config.long_text_tokens,
    )
    return content, entry

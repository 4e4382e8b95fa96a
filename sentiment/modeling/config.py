"""Settings of the modeling stage: the zoo's per-model defaults and training runs.

Imports nothing heavy (no Keras, numpy or pyarrow), so the CLI can list the models and
build its options from these dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal, get_args

from sentiment.core.errors import ConfigError
from sentiment.core.settings import described
from sentiment.data.config import PreprocessConfig
from sentiment.encoding.config import VectorizerConfig


@dataclass(frozen=True)
class ModelSpec:
    """One architecture of the zoo and the settings it trains best with (its builder is
    in :data:`sentiment.modeling.zoo.BUILDERS`).

    Attributes:
        name: The name users pass to ``sentiment train --model``.
        description: One line for help texts and reports.
        vectorizer: The preprocessing the model expects by default.
        epochs: Default number of epochs.
        batch_size: Default batch size.
        learning_rate: Default Adam learning rate.
        uses_nb_ratios: Whether training must fill the frozen naive-Bayes ratio layer.
        bag_input: Whether the model needs bag-of-n-gram input (``bag=True``).
        linear: Whether the model is a linear function of its bag (one weight per id),
            so its bundle scores through the compiled linear scorer and can explain.
    """

    name: str
    description: str
    vectorizer: VectorizerConfig
    epochs: int
    batch_size: int
    learning_rate: float
    uses_nb_ratios: bool = False
    bag_input: bool = False
    linear: bool = False


MODEL_SPECS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="mlp",
            description="The tutorial's multilayer perceptron over 500 word ids.",
            vectorizer=VectorizerConfig(num_words=5000, max_length=500),
            epochs=2,
            batch_size=128,
            learning_rate=1e-3,
        ),
        ModelSpec(
            name="cnn",
            description="The tutorial's 1D convolutional network over 500 word ids.",
            vectorizer=VectorizerConfig(num_words=5000, max_length=500),
            epochs=2,
            batch_size=128,
            learning_rate=1e-3,
        ),
        ModelSpec(
            name="nbsvm",
            description="Neural NBSVM over the bag of distinct uni/bi/trigrams.",
            # Negation marking: chosen by 5-fold cross-validation over the 25,000
            # labelled reviews (docs/decisions/0003-negation-marking.md); its scope ends
            # at a sentence's end (docs/decisions/0020).
            vectorizer=VectorizerConfig(
                num_words=800_000,
                max_length=2000,
                ngram_max=3,
                bag=True,
                negation_scope=3,
                sentence_scope=True,
            ),
            # Validation loss still falls slowly after Maiya's 3 epochs; early stopping
            # (patience 1) ends the run sooner when it stops falling.
            epochs=4,
            batch_size=32,
            learning_rate=1e-3,
            uses_nb_ratios=True,
            bag_input=True,
            linear=True,
        ),
    )
}
MODEL_NAMES: tuple[str, ...] = tuple(MODEL_SPECS)
DEFAULT_MODEL = "nbsvm"
# The zoo's names as a type, so a Prefect run form offers them.
ModelName = Literal["mlp", "cnn", "nbsvm"]
assert get_args(ModelName) == MODEL_NAMES, "ModelName must list the zoo's MODEL_NAMES"
# Training reads its preprocessing output's split settings, so it documents them as that
# stage does: each setting's help is written once.
_PREPROCESS_FIELDS = {setting.name: setting for setting in fields(PreprocessConfig)}


def get_model_spec(name: str) -> ModelSpec:
    """Return the zoo entry for ``name``.

    Raises:
        ConfigError: If the name is unknown; the message lists the known names.
    """
    try:
        return MODEL_SPECS[name]
    except KeyError:
        raise ConfigError(
            f"Unknown model '{name}' (setting 'model'); choose one of: {', '.join(MODEL_NAMES)}."
        ) from None


ThresholdRule = Literal["calibrated", "max-accuracy"]
# "calibrated": label positive at calibrated probability >= 0.5, the accuracy-optimal rule
# for calibrated scores. "max-accuracy": at the calibrated score that maximized held-out
# accuracy, which on 2,500 validation reviews gains nothing on average and adds about
# +-0.15 points of spread (docs/decisions/0004-decision-threshold.md).
THRESHOLD_RULES: tuple[str, ...] = ("calibrated", "max-accuracy")


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one training run; ``None`` means the model's own default.

    Attributes:
        model: The zoo model's name.
        epochs: Maximum number of epochs.
        batch_size: Reviews per batch.
        learning_rate: Adam's learning rate.
        seed: Seed for weights and shuffling; same seed and data give the same metrics.
        patience: Epochs without a validation-loss improvement before stopping (used
            only when more than two epochs are asked for).
        vectorizer: The preprocessing to train on (default: the model's own).
        validation_fraction: Share of the train split held out for validation.
        split_seed: Seed of the train/validation split made by preprocessing.
        nb_alpha: Smoothing of the naive-Bayes ratios (NBSVM only).
        folds: 1 to train one model on the train portion, stopped early on validation;
            k > 1 (linear models only) to train k models, each on all labelled reviews
            (train + validation) but one fold and stopped early on that fold, and keep
            their average, which is again one weight per id (see
            ``sentiment.modeling.folds``).
        calibration_sentences: How much the validation reviews' sentences weigh in the
            Platt scaling, all together, as a multiple of the reviews (see
            ``sentiment.modeling.sentences``); 0 fits the reviews only.
        decision_threshold: How the bundle's decision threshold is set on the held-out
            reviews that calibrate it: ``calibrated`` (0.5 of the calibrated score) or
            ``max-accuracy`` (the calibrated score that maximizes their accuracy).
        preprocess: Whether ``train`` preprocesses first when the model's processed data
            is missing; when False it fails, naming the command to run. Not a setting of
            the model: it is not in :meth:`to_dict`.
    """

    model: ModelName = field(
        default=DEFAULT_MODEL, metadata=described(f"The zoo model: {', '.join(MODEL_NAMES)}.")
    )
    epochs: int | None = field(
        default=None, metadata=described("Maximum epochs (default: the model's own).")
    )
    batch_size: int | None = field(
        default=None, metadata=described("Reviews per batch (default: the model's own).")
    )
    learning_rate: float | None = field(
        default=None, metadata=described("Adam's learning rate (default: the model's own).")
    )
    seed: int = field(
        default=42,
        metadata=described("Seed of the initial weights and shuffling.", flag="--training-seed"),
    )
    patience: int = field(
        default=1,
        metadata=described("Epochs without validation-loss improvement before stopping."),
    )
    vectorizer: VectorizerConfig | None = None
    validation_fraction: float = field(
        default=PreprocessConfig.validation_fraction,
        metadata=_PREPROCESS_FIELDS["validation_fraction"].metadata,
    )
    split_seed: int = field(
        default=PreprocessConfig.seed, metadata=_PREPROCESS_FIELDS["seed"].metadata
    )
    nb_alpha: float = field(
        default=1.0, metadata=described("Smoothing of the naive-Bayes ratios (nbsvm only).")
    )
    folds: int = field(
        default=1,
        metadata=described(
            "Cross-fitted ensemble: train this many models, each on all labelled "
            "reviews but one fold, and average them (nbsvm only; 1: one model)."
        ),
    )
    calibration_sentences: float = field(
        default=1.0,
        metadata=described(
            "Weight of the validation reviews' sentences (each with its review's label) "
            "in the calibration, all together, as a multiple of the reviews', so that "
            "short texts are calibrated too (0: the reviews only; one-model training only)."
        ),
    )
    short_text_prior: float = field(
        default=0.3,
        metadata=described(
            "Strength of the lexicon prior added to texts of few tokens, so that clearly "
            "polar words decide short texts (linear models only; 0: none)."
        ),
    )
    short_text_tokens: int = field(
        default=10,
        metadata=described("Texts of up to this many tokens get the whole short-text prior."),
    )
    long_text_tokens: int = field(
        default=30,
        metadata=described(
            "Texts of this many tokens or more get no short-text prior and score as "
            "without it (between the two counts: a linear share)."
        ),
    )
    decision_threshold: ThresholdRule = field(
        default="calibrated",
        metadata=described(
            "Decision threshold: 0.5 of the calibrated score ('calibrated') or the "
            "score that maximizes held-out accuracy ('max-accuracy').",
            choices=THRESHOLD_RULES,
        ),
    )
    preprocess: bool = field(
        default=True,
        metadata=described(
            "Preprocess first when the model's processed data is missing (--no-preprocess: "
            "fail instead, naming the command to run)."
        ),
    )

    def __post_init__(self) -> None:
        spec = get_model_spec(self.model)
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"Setting '{name}' must be >= 1, not {value}.")
        if self.learning_rate is not None and not self.learning_rate > 0:
            raise ConfigError(f"Setting 'learning_rate' must be > 0, not {self.learning_rate}.")
        if self.patience < 0:
            raise ConfigError(f"Setting 'patience' must be >= 0, not {self.patience}.")
        if self.folds < 1:
            raise ConfigError(f"Setting 'folds' must be >= 1, not {self.folds}.")
        if self.folds > 1 and not spec.linear:
            raise ConfigError(
                f"Setting 'folds' is {self.folds} but model '{self.model}' is not linear, "
                "so its fold models cannot be averaged into one; use folds=1 or model nbsvm."
            )
        if self.decision_threshold not in THRESHOLD_RULES:
            raise ConfigError(
                f"Setting 'decision_threshold' is {self.decision_threshold!r}; pass "
                "--decision-threshold calibrated or max-accuracy."
            )
        if not self.calibration_sentences >= 0:
            raise ConfigError(
                f"Setting 'calibration_sentences' must be >= 0, not {self.calibration_sentences}."
            )
        if not self.short_text_prior >= 0:
            raise ConfigError(
                f"Setting 'short_text_prior' must be >= 0, not {self.short_text_prior}."
            )
        if not 0 <= self.short_text_tokens < self.long_text_tokens:
            raise ConfigError(
                f"Settings 'short_text_tokens' ({self.short_text_tokens}) and "
                f"'long_text_tokens' ({self.long_text_tokens}) must satisfy "
                "0 <= short_text_tokens < long_text_tokens."
            )
        if not self.nb_alpha > 0:
            raise ConfigError(f"Setting 'nb_alpha' must be > 0, not {self.nb_alpha}.")
        if spec.bag_input and not self.resolved_vectorizer.bag:
            raise ConfigError(
                f"Model '{self.model}' needs bag-of-n-gram input; leave setting 'vectorizer' "
                "at the model's default or set bag=True."
            )

    @property
    def resolved_vectorizer(self) -> VectorizerConfig:
        return self.vectorizer or get_model_spec(self.model).vectorizer

    @property
    def resolved_epochs(self) -> int:
        return self.epochs or get_model_spec(self.model).epochs

    @property
    def resolved_batch_size(self) -> int:
        return self.batch_size or get_model_spec(self.model).batch_size

    @property
    def resolved_learning_rate(self) -> float:
        spec = get_model_spec(self.model)
        return spec.learning_rate if self.learning_rate is None else self.learning_rate

    @property
    def preprocess_config(self) -> PreprocessConfig:
        """The preprocessing output this run trains on."""
        return PreprocessConfig(
            vectorizer=self.resolved_vectorizer,
            validation_fraction=self.validation_fraction,
            seed=self.split_seed,
        )

    def to_dict(self) -> dict[str, Any]:
        """The resolved settings, JSON-serializable."""
        return {
            "model": self.model,
            "epochs": self.resolved_epochs,
            "batch_size": self.resolved_batch_size,
            "learning_rate": self.resolved_learning_rate,
            "seed": self.seed,
            "patience": self.patience,
            "early_stopping": self.resolved_epochs > 2,
            "vectorizer": self.resolved_vectorizer.to_dict(),
            "validation_fraction": self.validation_fraction,
            "split_seed": self.split_seed,
            "nb_alpha": self.nb_alpha,
            "folds": self.folds,
            "calibration_sentences": self.calibration_sentences,
            "short_text_prior": self.short_text_prior,
            "short_text_tokens": self.short_text_tokens,
            "long_text_tokens": self.long_text_tokens,
            "decision_threshold": self.decision_threshold,
        }

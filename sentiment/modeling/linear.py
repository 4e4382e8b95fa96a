"""The compiled scorer of bundles that are a linear function of their bag of n-grams.

``nbsvm`` scores ``sigmoid(sum over a review's distinct n-gram ids of r_i * w_i)``. At
training time ``r * w`` is folded into one float32 weight per id and saved in the bundle
(``linear_weights.npy``, its fingerprint in the metadata), so scoring needs neither Keras
nor TensorFlow: one compiled pass per batch tokenizes, looks the n-grams up, sums the
distinct ids' weights and applies the sigmoid, without building the ``(n, max_length)``
id array (:meth:`sentiment.encoding.vectorizer.Vectorizer.weigh_bags`). Keras stays the
path of training and the reference the tests compare with.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from sentiment.core.arrays import arrow_array
from sentiment.core.atomic import content_fingerprint
from sentiment.encoding.vectorizer import Vectorizer
from sentiment.modeling.calibration import Calibration, sigmoid
from sentiment.modeling.zoo import NB_RATIOS_LAYER, NB_WEIGHTS_LAYER

if TYPE_CHECKING:
    import keras

    from sentiment.modeling.short_text_prior import ShortTextPrior

logger = logging.getLogger(__name__)

LINEAR_WEIGHTS_FILE = "linear_weights.npy"
REASON_TYPE = pa.struct([pa.field("ngram", pa.string()), pa.field("contribution", pa.float32())])
REASONS_TYPE = pa.list_(REASON_TYPE)


def folded_weights(model: keras.Model) -> tuple[np.ndarray, float] | None:
    """One float32 weight per id (``r * w``) and the bias of a linear bag model.

    The product is taken in float32, as the model's own forward pass takes it.

    Returns:
        ``(weights, bias)``, or None when the model is not an NBSVM-style linear model.
    """
    names = {layer.name for layer in model.layers}
    if not {NB_RATIOS_LAYER, NB_WEIGHTS_LAYER} <= names:
        return None
    ratios = np.asarray(model.get_layer(NB_RATIOS_LAYER).get_weights()[0], np.float32)
    weights = np.asarray(model.get_layer(NB_WEIGHTS_LAYER).get_weights()[0], np.float32)
    return (ratios * weights).reshape(-1).astype(np.float32), 0.0


def weights_file(weights: np.ndarray, bias: float) -> tuple[bytes, dict[str, Any]]:
    """The ``linear_weights.npy`` bytes and the metadata entry that describes them."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(weights, np.float32), allow_pickle=False)
    content = buffer.getvalue()
    entry = {
        "file": LINEAR_WEIGHTS_FILE,
        "fingerprint": content_fingerprint(content),
        "ids": len(weights),
        "bias": float(bias),
    }
    return content, entry


def read_weights(directory: Path, entry: Any, num_words: int) -> tuple[np.ndarray, float] | None:
    """The weights a bundle's metadata entry describes, or None where they are absent,
    altered or do not fit the vectorizer (the caller then falls back to Keras)."""
    if not isinstance(entry, dict):
        return None
    path = Path(directory) / LINEAR_WEIGHTS_FILE
    try:
        content = path.read_bytes()
    except OSError:
        return None
    if entry.get("fingerprint") != content_fingerprint(content):
        logger.warning("%s does not match its fingerprint; scoring through Keras instead.", path)
        return None
    try:
        weights = np.load(io.BytesIO(content), allow_pickle=False)
        bias = float(entry.get("bias", 0.0))
    except (ValueError, TypeError, OSError):
        return None
    if weights.dtype != np.float32 or weights.shape != (num_words,):
        logger.warning(
            "%s holds %s weights, not %d; scoring through Keras.", path, weights.shape, num_words
        )
        return None
    return weights, bias


@dataclass(frozen=True)
class TextScores:
    """Scores of a batch of reviews and the counts the scorer reports.

    Attributes:
        scores: float32 probability of a positive review, calibrated unless asked not.
        logits: float64 logits before calibration.
        token_counts: Word tokens per review.
        oov_counts: Out-of-vocabulary word tokens per review.
        reasons: ``list<struct<ngram, contribution>>`` per review (the ``explain``
            largest positive contributions, largest first, then the most negative),
            or None when not asked for. An n-gram's contribution is its weight, plus its
            gated prior in a short text: all of them with the bias and padding add up to
            the logit.
    """

    scores: np.ndarray
    logits: np.ndarray
    token_counts: np.ndarray
    oov_counts: np.ndarray
    reasons: pa.Array | None = None


class LinearScorer:
    """Scores raw reviews with per-id weights, no Keras: see the module docstring.

    Attributes:
        vectorizer: The bundle's vectorizer.
        weights: float32 weight (``r * w``) of each id.
        bias: Added to every review's sum.
        calibration: Applied to the logits.
        prior: Added to short texts' sums, by their token count
            (:mod:`sentiment.modeling.short_text_prior`); None: no prior.
    """

    def __init__(
        self,
        vectorizer: Vectorizer,
        weights: np.ndarray,
        bias: float = 0.0,
        calibration: Calibration | None = None,
        prior: ShortTextPrior | None = None,
    ) -> None:
        self.vectorizer = vectorizer
        self.weights = np.ascontiguousarray(weights, np.float32)
        self.bias = float(bias)
        self.calibration = calibration or Calibration()
        self._prior = prior
        self._paired: np.ndarray | None = None
        self._ngrams: pa.Array | None = None
        # Built once here, not by whichever encoding thread scores first.
        vectorizer.prepare_text_tables()

    @property
    def prior(self) -> ShortTextPrior | None:
        """The prior added to short texts, if any (settable: research compares both)."""
        return self._prior

    @prior.setter
    def prior(self, prior: ShortTextPrior | None) -> None:
        self._prior = prior
        self._paired = None

    def score_texts(
        self, texts: pa.Array | pa.ChunkedArray, explain: int = 0, calibrated: bool = True
    ) -> TextScores:
        """Score every review (nulls and blank ones as empty texts; callers pass those
        with text: see :func:`sentiment.encoding.tokens.has_text`).

        Args:
            texts: An Arrow text column.
            explain: Reasons per sign and review (0: none).
            calibrated: Apply the bundle's calibration (off: the model's own sigmoid).

        Returns:
            The scores, counts and, with ``explain``, the reasons.
        """
        _, scores = self._score(texts, explain, calibrated, every_row=True)
        return scores

    def score_column(
        self, texts: pa.Array | pa.ChunkedArray, explain: int = 0
    ) -> tuple[np.ndarray, TextScores]:
        """Score the reviews of a column that hold text, in one compiled pass.

        Args:
            texts: An Arrow text column, as read (nulls and blank texts allowed).
            explain: Reasons per sign and review (0: none).

        Returns:
            ``(valid, scores)``: which reviews hold text (as
            :func:`sentiment.encoding.tokens.has_text` decides), and their calibrated
            scores, counts and reasons, one per valid review.
        """
        return self._score(texts, explain, calibrated=True, every_row=False)

    def _score(
        self, texts: pa.Array | pa.ChunkedArray, explain: int, calibrated: bool, every_row: bool
    ) -> tuple[np.ndarray, TextScores]:
        prior = self._prior
        if prior is not None and self._paired is None:
            self._paired = self.vectorizer.paired_weights(self.weights, prior.weights)
        valid, bags = self.vectorizer.weigh_texts(
            texts,
            self.weights,
            top=explain,
            every_row=every_row,
            prior=None if prior is None else self._paired,
            prior_tokens=(0, 0) if prior is None else (prior.full_tokens, prior.no_tokens),
        )
        logits = bags.sums + self.bias
        if prior is not None and bags.prior_sums is not None:
            logits += prior.gate(bags.token_counts) * bags.prior_sums
        scores = self.calibration.apply_logits(logits) if calibrated else sigmoid(logits)
        reasons = self._reasons(bags.top_ids, bags.top_weights) if explain else None
        return valid, TextScores(scores, logits, bags.token_counts, bags.oov_counts, reasons)

    def _reasons(self, top_ids: np.ndarray, top_weights: np.ndarray) -> pa.Array:
        if self._ngrams is None:
            self._ngrams = pa.array(self.vectorizer.vocabulary, pa.string())
        found = top_ids >= 0
        offsets = np.zeros(len(top_ids) + 1, np.int32)
        np.cumsum(found.sum(axis=1), out=offsets[1:])
        ids = top_ids[found]
        structs = pa.StructArray.from_arrays(
            [self._ngrams.take(arrow_array(ids)), pa.array(top_weights[found], pa.float32())],
            fields=list(REASON_TYPE),
        )
        return pa.ListArray.from_arrays(arrow_array(offsets), structs, type=REASONS_TYPE)

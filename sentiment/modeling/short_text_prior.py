"""The lexicon prior of short texts: known polar words weigh in texts of a few words.

A linear bundle's weights are learned from IMDB reviews of 230 words on average. A text of
a few words has few n-grams, so its side is decided by the bias, by words that are only
weakly polar across long reviews and by names that carry IMDB's verdict on their films.
The prior adds a known polarity to such texts only (docs/decisions/0019):

    logit = sum of the weights + gate(tokens) x sum of the prior over the distinct ids

``gate`` is 1 for texts of up to ``full_tokens`` tokens, 0 from ``no_tokens`` on (those
texts score exactly as without the prior) and linear between. The prior of an id is
``strength x valence / 4`` for a word of VADER's lexicon (Hutto and Gilbert 2014, MIT;
valence in [-4, 4]), :data:`NEGATED_SHARE` times that for the word negated (``_word``),
and 0 for every other id. It is computed once, at training, from the bundle's own
vocabulary and saved in the bundle, so scoring never reads the lexicon.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from sentiment.core.atomic import content_fingerprint
from sentiment.core.errors import DataError

PRIOR_FILE = "short_text_prior.npy"
LEXICON = "vaderSentiment 3.3.2 vader_lexicon.txt"
# A negated polar word leans the other way, less strongly ("not good" is not "bad"): VADER's
# own negation scalar. -0.5 and -0.74 give the same SST-2 dev and validation-sentence
# decisions; -0.74 leaves more room on the checklist and names (research/short_texts).
NEGATED_SHARE = -0.74
_VALENCE_SCALE = 4.0


@dataclass(frozen=True)
class ShortTextPrior:
    """A bundle's prior per id and the token counts it applies between.

    Attributes:
        weights: float32 prior of each id (strength included), 0 for ids off the lexicon.
        full_tokens: Texts of up to this many tokens get the whole prior.
        no_tokens: Texts of this many tokens or more get none.
    """

    weights: np.ndarray
    full_tokens: int
    no_tokens: int

    def gate(self, token_counts: np.ndarray) -> np.ndarray:
        """The share of the prior each text gets, from its token count: 1, 0 or between
        (the compiled scorer's reasons take the same: ``kernels.bags.prior_share``).

        Args:
            token_counts: Tokens per text, as the scorer counts them.

        Returns:
            float64 shares in [0, 1].
        """
        span = self.no_tokens - self.full_tokens
        return np.clip((self.no_tokens - np.asarray(token_counts, np.float64)) / span, 0.0, 1.0)


def lexicon_valences() -> dict[str, float]:
    """VADER's mean valence (-4 to 4) of each entry of its lexicon."""
    text = (resources.files("vaderSentiment") / "vader_lexicon.txt").read_text(encoding="utf-8")
    valences = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2:
            valences[parts[0]] = float(parts[1])
    return valences


def build_prior(vocabulary: Sequence[str], strength: float, num_words: int) -> np.ndarray:
    """The prior of each id of a vectorizer (see the module docstring).

    Args:
        vocabulary: The vectorizer's n-grams by id (negated words as ``_word``).
        strength: Scale of the prior; 0 gives all zeros.
        num_words: The vectorizer's ids (its vocabulary may hold fewer n-grams).

    Returns:
        float32 prior per id, ``num_words`` of them.
    """
    valences = lexicon_valences()
    prior = np.zeros(max(num_words, len(vocabulary)), np.float64)
    for identifier, gram in enumerate(vocabulary):
        if gram in valences:
            prior[identifier] = valences[gram]
        elif gram.startswith("_") and gram[1:] in valences:
            prior[identifier] = NEGATED_SHARE * valences[gram[1:]]
    # Padding (id 0) and out-of-vocabulary words (id 1) carry no prior: padding slots are
    # summed once each, like every weight's.
    prior[:2] = 0.0
    return (strength / _VALENCE_SCALE * prior[:num_words]).astype(np.float32)


def prior_file(prior: ShortTextPrior, strength: float) -> tuple[bytes, dict[str, Any]]:
    """The ``short_text_prior.npy`` bytes and the metadata entry that describes them."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(prior.weights, np.float32), allow_pickle=False)
    content = buffer.getvalue()
    entry = {
        "file": PRIOR_FILE,
        "fingerprint": content_fingerprint(content),
        "lexicon": LEXICON,
        "strength": float(strength),
        "negated_share": NEGATED_SHARE,
        "full_tokens": int(prior.full_tokens),
        "no_tokens": int(prior.no_tokens),
        "polar_ids": int(np.count_nonzero(prior.weights)),
    }
    return content, entry


def read_prior(directory: Path, entry: Any, num_words: int) -> ShortTextPrior | None:
    """The prior a bundle's metadata entry describes, None for a bundle without one.

    Raises:
        DataError: If the entry names a file that is missing, altered or does not fit the
            vectorizer (scoring without it would change every short text's score).
    """
    if not isinstance(entry, dict):
        return None
    path = Path(directory) / PRIOR_FILE
    fix = "retrain the bundle with 'sentiment train'"
    try:
        content = path.read_bytes()
    except OSError as error:
        raise DataError(f"Model bundle file {path} cannot be read ({error}); {fix}.") from error
    if entry.get("fingerprint") != content_fingerprint(content):
        raise DataError(f"Model bundle file {path} does not match its fingerprint; {fix}.")
    weights = np.load(io.BytesIO(content), allow_pickle=False)
    if weights.dtype != np.float32 or weights.shape != (num_words,):
        raise DataError(
            f"Model bundle file {path} holds {weights.dtype} {weights.shape}, not one float32 "
            f"per id of the vectorizer's {num_words:,}; {fix}."
        )
    return ShortTextPrior(weights, int(entry["full_tokens"]), int(entry["no_tokens"]))

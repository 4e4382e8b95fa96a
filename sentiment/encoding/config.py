"""Settings of the encoding stage: how texts become id sequences.

Imports nothing heavy (no numpy, pyarrow or numba), so the CLI can build its options
from these dataclasses without loading the compiled kernels.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from sentiment.core.errors import ConfigError
from sentiment.core.settings import described

MAX_NGRAM = 3
# Bits per word in a packed n-gram key: 3 x 21 = 63 bits fit a uint64.
WORD_BITS = 21
MAX_WORDS = (1 << WORD_BITS) - 1

# The range of each integer setting, (least, most): a vectorizer (one trained, or one
# in a bundle) outside them is refused. The upper bounds keep a scoring batch's memory
# sane (read_rows x max_length ids; an embedding of num_words rows); nbsvm, the widest
# default, uses 800,000 words and 2,000 ids per review.
SETTING_RANGES: dict[str, tuple[int, int]] = {
    "num_words": (2, 1 << 24),
    "max_length": (1, 10_000),
    "ngram_max": (1, MAX_NGRAM),
    "min_document_count": (1, 1 << 31),
    "negation_scope": (0, 100),
}

Side = Literal["pre", "post"]
_SIDES = ("pre", "post")


@dataclass(frozen=True)
class VectorizerConfig:
    """How texts become id sequences.

    Attributes:
        num_words: Size of the id space including padding (0) and out-of-vocabulary (1):
            the ``input_dim`` of an Embedding, as Keras' ``num_words``.
        max_length: Ids per review after cutting and padding.
        padding: Pad short sequences at the start (``pre``) or the end (``post``).
        truncating: Cut long sequences at the start (``pre``) or the end (``post``).
        ngram_max: 1 for words only; 2 or 3 to add bigrams (and trigrams).
        bag: Each distinct id of a review once, sorted ascending, then padded.
        min_document_count: Keep only tokens seen in at least this many training reviews.
        negation_scope: Mark this many words after a negator ("not", "never", "didn't",
            ...; a "!" or "?" ends the scope) as negated words of their own, "_good" in
            "not good" (0: no marking; see ``sentiment.encoding.negation``).
        sentence_scope: A sentence's end (a "." before whitespace or a tag) ends a
            negation scope too, as "!" and "?" do; needs ``negation_scope``. Off in
            settings saved before it existed (docs/decisions/0020).
    """

    num_words: int = field(
        default=5000,
        metadata=described("Id space including padding (0) and out-of-vocabulary (1)."),
    )
    max_length: int = field(default=500, metadata=described("Ids per review."))
    padding: Side = field(default="pre", metadata=described("Pad side.", choices=_SIDES))
    truncating: Side = field(default="pre", metadata=described("Cut side.", choices=_SIDES))
    ngram_max: int = field(
        default=1, metadata=described("1 for words; 2 or 3 to add bigrams (and trigrams).")
    )
    bag: bool = field(
        default=False,
        metadata=described("Encode each review as its sorted distinct ids (bag of n-grams)."),
    )
    min_document_count: int = field(
        default=1, metadata=described("Keep tokens seen in at least this many training reviews.")
    )
    negation_scope: int = field(
        default=0,
        metadata=described("Mark this many words after a negator as negated (0: none)."),
    )
    sentence_scope: bool = field(
        default=False,
        metadata=described("End a negation scope at a sentence's end too (needs negation)."),
    )

    def __post_init__(self) -> None:
        for name in SETTING_RANGES:
            _require_int(name, getattr(self, name))
        for name in ("padding", "truncating"):
            value = getattr(self, name)
            if value not in _SIDES:
                raise ConfigError(
                    f"Setting '{name}' is {value!r} but must be 'pre' or 'post'; pass "
                    f"--{name} pre or --{name} post."
                )
        for name in ("bag", "sentence_scope"):
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise ConfigError(f"Setting '{name}' must be true or false, got {value!r}.")
        if self.sentence_scope and not self.negation_scope:
            raise ConfigError(
                "Setting 'sentence_scope' ends negation scopes, but 'negation_scope' is 0; "
                "pass --no-sentence-scope with --negation-scope 0, or a scope of 1 or more."
            )
        if self.ngram_max > 1 and self.num_words - 2 > MAX_WORDS:
            raise ConfigError(
                f"Setting 'num_words' is {self.num_words:,} but n-gram mode supports at most "
                f"{MAX_WORDS + 2:,}; pass a smaller --num-words."
            )

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-serializable dict."""
        payload = asdict(self)
        # Settings without negation (or sentence scopes) serialize as they did before the
        # setting existed, so their preprocessing keys and saved vectorizers stay the same.
        if not self.negation_scope:
            del payload["negation_scope"]
        if not self.sentence_scope:
            del payload["sentence_scope"]
        return payload

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> VectorizerConfig:
        """Build settings from :meth:`to_dict`'s output.

        Raises:
            ConfigError: On an unknown or invalid setting.
        """
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(payload) - known)
        if unknown:
            raise ConfigError(
                f"Unknown vectorizer setting(s) {', '.join(unknown)}; use only "
                f"{', '.join(sorted(known))}."
            )
        return cls(**payload)


def out_of_range(name: str, value: object) -> str | None:
    """What is wrong with ``value`` for the integer setting ``name`` (SETTING_RANGES),
    as words to finish a sentence, or None if nothing is."""
    least, most = SETTING_RANGES[name]
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
        reason = " (ids 0 and 1 are reserved)" if name == "num_words" else ""
        return f"must be an integer from {least:,} to {most:,}{reason}, got {value!r}"
    return None


def _require_int(name: str, value: object) -> None:
    problem = out_of_range(name, value)
    if problem is not None:
        raise ConfigError(
            f"Setting '{name}' {problem}; pass --{name.replace('_', '-')} within that range."
        )

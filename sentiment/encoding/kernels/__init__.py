"""Compiled inner loops (numba) of tokenizing and n-gram encoding, grouped by what they
compute: ``tokenizing`` (character tables, the batch tokenizer), ``tables`` (hash tables
of n-gram keys and words), ``bags`` (each review's distinct ids, padded or weighted),
``words`` (one review's tokens and word indices, for the byte scorer), ``scoring``
(scoring reviews straight from their bytes) and ``negation`` (negation marking).

Tokenizing in Python costs ~25 µs per review even with ``str`` primitives, more than
everything else preprocessing does, and probing n-gram keys with whole-array numpy
operations makes several passes over millions of keys. These loops do both in one pass
over the bytes, without a Python object per token. The unit tests check each against
the plain Python definition.

The first process after an install compiles the kernels (~13 s) and caches the machine
code next to each module (``cache=True``); every process loads them when this package
is imported (~0.5 s, see :func:`sentiment.encoding.kernels.warmup.load_kernels`). They
release the GIL, so scoring threads encode while TensorFlow predicts.

Numba checks a cached kernel against its own module's source only: a kernel inlines the
helpers it calls from a sibling module, so after editing a helper, remove the
``__pycache__/*.nbi``/``*.nbc`` files of this package (a fresh install has none).

This package's names are the kernels' public interface; callers use
``kernels.<name>`` and need not know which module holds it.
"""

from __future__ import annotations

from sentiment.encoding.kernels.bags import ngram_bags, pad_rows, weighted_bags
from sentiment.encoding.kernels.negation import (
    NEGATOR,
    SCOPE_END,
    SENTENCE_END,
    negate_word_index,
    negate_words,
)
from sentiment.encoding.kernels.scoring import NEEDS_PYTHON, NO_TEXT, SCORED, score_reviews
from sentiment.encoding.kernels.tables import (
    EMPTY_KEY,
    fill_compact_table,
    fill_table,
    fill_word_table,
    probe_all,
)
from sentiment.encoding.kernels.tokenizing import (
    CLASSES,
    LOWERED,
    python_rows,
    tokenize_bytes,
)
from sentiment.encoding.kernels.warmup import load_kernels
from sentiment.encoding.kernels.words import SPACES

__all__ = [
    "CLASSES",
    "EMPTY_KEY",
    "LOWERED",
    "NEEDS_PYTHON",
    "NEGATOR",
    "NO_TEXT",
    "SCOPE_END",
    "SCORED",
    "SENTENCE_END",
    "SPACES",
    "fill_compact_table",
    "fill_table",
    "fill_word_table",
    "negate_word_index",
    "negate_words",
    "ngram_bags",
    "pad_rows",
    "probe_all",
    "python_rows",
    "score_reviews",
    "tokenize_bytes",
    "weighted_bags",
]

load_kernels()

"""Batches of reviews tokenized into Arrow ``list<string>`` arrays.

The tokens are exactly :func:`sentiment.encoding.text.tokenize`'s; a compiled loop
(:mod:`sentiment.encoding.kernels`) produces them from the reviews' UTF-8 bytes, with no Python
object per review or token. The few reviews it cannot standardize exactly (HTML
entities, characters whose lowercase depends on context or lies outside the Basic
Multilingual Plane) go through :func:`sentiment.encoding.text.token_text` first.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sentiment.core.arrays import (
    arrow_array,
    list_lengths,
    numpy_values,
    string_array,
    string_buffers,
)
from sentiment.encoding import kernels
from sentiment.encoding.text import SENTENCE_END, token_text

# Reviews per batch when encoding or fitting from plain texts.
BATCH_TEXTS = 8192

# What str.strip() removes from ASCII text: str.isspace() there is these characters.
_ASCII_WHITESPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"


def string_column(texts: pa.Array | pa.ChunkedArray) -> pa.StringArray:
    """Any Arrow text column (string, large or view strings, dictionary, all-null) as
    one string array, nulls kept."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks() if texts.num_chunks else pa.array([], texts.type)
    if pa.types.is_dictionary(texts.type):
        texts = texts.dictionary_decode()
    if not pa.types.is_string(texts.type):
        texts = texts.cast(pa.string())
    return texts


def _filled_string_column(texts: pa.Array | pa.ChunkedArray) -> pa.StringArray:
    """Reviews as one string array without nulls (``None`` becomes empty)."""
    texts = string_column(texts)
    return pc.fill_null(texts, "") if texts.null_count else texts


def has_text(texts: Sequence[object] | pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Which entries are reviews to score: strings not empty after ``str.strip()``.

    Scoring, evaluation and :meth:`sentiment.modeling.bundle.ModelBundle.predict_texts` all use
    this one rule, so a row gets no score in one exactly when it gets none in another.

    Args:
        texts: Python objects (anything not a ``str`` has no text) or an Arrow text
            column (nulls have no text).

    Returns:
        A boolean mask.
    """
    if not isinstance(texts, pa.Array | pa.ChunkedArray):
        return np.fromiter(
            (isinstance(text, str) and bool(text.strip()) for text in texts),
            dtype=bool,
            count=len(texts),
        )
    column = string_column(texts)
    if len(column) == 0:
        return np.zeros(0, bool)
    stripped = pc.ascii_trim(column, characters=_ASCII_WHITESPACE)
    mask = numpy_values(pc.greater(pc.binary_length(stripped), 0), fill=0).astype(bool)
    # Text left after removing ASCII whitespace may still be only Unicode whitespace
    # (a no-break space, an ideographic space): Python decides for those few rows.
    unsure = mask & ~numpy_values(pc.string_is_ascii(stripped), fill=1).astype(bool)
    if unsure.any():
        rows = np.flatnonzero(unsure)
        mask[rows] = has_text(column.take(arrow_array(rows)).to_pylist())
    return mask


def token_lists(
    texts: Sequence[str | None] | pa.Array | pa.ChunkedArray, sentence_ends: bool = False
) -> pa.ListArray:
    """Tokenize reviews into an Arrow ``list<string>`` array, one list per review.

    Args:
        texts: Raw reviews; ``None`` and empty texts give empty lists.
        sentence_ends: Also give each sentence end as a ``SENTENCE_END`` token (for a
            vectorizer with ``sentence_scope``, which drops them; see
            :func:`token_counts`).

    Returns:
        The tokens of :func:`sentiment.encoding.text.tokenize` for every review, in order.
    """
    if isinstance(texts, pa.Array | pa.ChunkedArray):
        strings, column = None, _filled_string_column(texts)
    else:
        strings = [text or "" for text in texts]
        column = string_array(strings)
    data, offsets = string_buffers(column)
    in_python = kernels.python_rows(data, offsets, kernels.CLASSES)
    if in_python.any():
        rows = np.flatnonzero(in_python)
        originals = (
            column.take(arrow_array(rows)).to_pylist()
            if strings is None
            else [strings[row] for row in rows]
        )
        cleaned = string_array([token_text(text, sentence_ends) for text in originals])
        column = pc.replace_with_mask(column, arrow_array(in_python), cleaned)
        data, offsets = string_buffers(column)
    token_bytes, token_offsets, row_offsets = kernels.tokenize_bytes(
        data, offsets, in_python, kernels.CLASSES, kernels.LOWERED, sentence_ends, kernels.SPACES
    )
    values = pa.StringArray.from_buffers(
        len(token_offsets) - 1, pa.py_buffer(token_offsets), pa.py_buffer(token_bytes)
    )
    return pa.ListArray.from_arrays(arrow_array(row_offsets), values)


def token_counts(lists: pa.ListArray) -> np.ndarray:
    """Tokens per review of :func:`token_lists`, sentence ends not counted."""
    lengths = list_lengths(lists)
    values = lists.flatten()
    ends = numpy_values(pc.equal(values, SENTENCE_END), fill=0).astype(bool)
    if ends.any():
        parents = numpy_values(pc.list_parent_indices(lists)).astype(np.int64)
        lengths = lengths - np.bincount(parents[ends], minlength=len(lengths))
    return lengths


def dictionary_tokens(lists: pa.ListArray) -> tuple[pa.DictionaryArray, np.ndarray]:
    """A batch's tokens, reviews concatenated and dictionary-encoded, plus their lengths.

    The form :meth:`sentiment.encoding.vocabulary.VocabularyCounter.add_dictionary` and
    :meth:`sentiment.encoding.vectorizer.Vectorizer.encode_dictionary` take: every token is
    hashed once.
    """
    return pc.dictionary_encode(lists.flatten()), list_lengths(lists)


def text_batches(items: Iterable[str | None], size: int) -> Iterator[list[str | None]]:
    """Lists of at most ``size`` consecutive items."""
    batch: list[str | None] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch

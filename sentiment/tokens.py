"""Batches of reviews tokenized into Arrow ``list<string>`` arrays.

The tokens are exactly :func:`sentiment.text.tokenize`'s; a compiled loop
(:mod:`sentiment.kernels`) produces them from the reviews' UTF-8 bytes, with no Python
object per review or token. The few reviews it cannot standardize exactly (HTML
entities, characters whose lowercase depends on context or lies outside the Basic
Multilingual Plane) go through :func:`sentiment.text.token_text` first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sentiment import kernels
from sentiment.arrays import arrow_array, list_lengths, string_array, string_buffers
from sentiment.text import token_text


def _string_column(texts: pa.Array | pa.ChunkedArray) -> pa.StringArray:
    """Reviews as one string array without nulls (``None`` becomes empty)."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks() if texts.num_chunks else pa.array([], pa.string())
    if not pa.types.is_string(texts.type):
        texts = texts.cast(pa.string())
    return pc.fill_null(texts, "") if texts.null_count else texts


def token_lists(texts: Sequence[str | None] | pa.Array | pa.ChunkedArray) -> pa.ListArray:
    """Tokenize reviews into an Arrow ``list<string>`` array, one list per review.

    Args:
        texts: Raw reviews; ``None`` and empty texts give empty lists.

    Returns:
        The tokens of :func:`sentiment.text.tokenize` for every review, in order.
    """
    if isinstance(texts, pa.Array | pa.ChunkedArray):
        strings, column = None, _string_column(texts)
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
        cleaned = string_array([token_text(text) for text in originals])
        column = pc.replace_with_mask(column, arrow_array(in_python), cleaned)
        data, offsets = string_buffers(column)
    token_bytes, token_offsets, row_offsets = kernels.tokenize_bytes(
        data, offsets, in_python, kernels.CLASSES, kernels.LOWERED
    )
    values = pa.StringArray.from_buffers(
        len(token_offsets) - 1, pa.py_buffer(token_offsets), pa.py_buffer(token_bytes)
    )
    return pa.ListArray.from_arrays(arrow_array(row_offsets), values)


def dictionary_tokens(lists: pa.ListArray) -> tuple[pa.DictionaryArray, np.ndarray]:
    """A batch's tokens, reviews concatenated and dictionary-encoded, plus their lengths.

    The form :meth:`sentiment.vectorizer.VocabularyCounter.add_dictionary` and
    :meth:`sentiment.vectorizer.Vectorizer.encode_dictionary` take: every token is
    hashed once.
    """
    return pc.dictionary_encode(lists.flatten()), list_lengths(lists)

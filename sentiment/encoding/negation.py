"""Negation marking: words after a negator become negated words of their own.

"not good" is encoded as "not _good", so a review that is "not good at all" no longer
counts as evidence for "good" (Das & Chen 2001; Pang et al. 2002). Up to
``VectorizerConfig.negation_scope`` words after each negator are marked; a "!" or "?"
ends the scope early (the only punctuation tokens keep). A negated word is its word with
``NEGATED_PREFIX`` in front, which no token can start with (``_`` is not a word
character), so the vocabulary holds negated words and their n-grams like any other.

With ``VectorizerConfig.sentence_scope`` a sentence's end ends the scope too: the
tokenizers then give each one as a ``SENTENCE_END`` token, which marking drops, so the
words, n-grams and counts are those without it (docs/decisions/0020).

Marking works on word indices, after the words are looked up, so every encoding path
(vocabulary counting, preprocessing, scoring from token lists or straight from bytes)
marks the same positions with the same compiled loop (``kernels.negate_words``).
The gain is measured in docs/decisions/0003-negation-marking.md.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sentiment.core.arrays import arrow_array, numpy_values, string_array
from sentiment.encoding import kernels
from sentiment.encoding.text import SENTENCE_END

NEGATED_PREFIX = "_"
NEGATORS = frozenset(
    {
        "not",
        "no",
        "never",
        "nothing",
        "nobody",
        "none",
        "nowhere",
        "neither",
        "nor",
        "cannot",
        "without",
        "hardly",
        "barely",
    }
)
# Besides NEGATORS, every contraction ending in "n't" (didn't, isn't, can't, ...).
_NEGATOR_SUFFIX = "n't"
_SCOPE_ENDS = ("!", "?")


def word_roles(words: pa.StringArray) -> np.ndarray:
    """Per 1-based word index (0: unknown word), ``kernels.NEGATOR``,
    ``kernels.SCOPE_END``, ``kernels.SENTENCE_END`` or 0."""
    negator = pc.or_(
        pc.is_in(words, value_set=string_array(sorted(NEGATORS))),
        pc.ends_with(words, _NEGATOR_SUFFIX),
    )
    scope_end = pc.is_in(words, value_set=string_array(_SCOPE_ENDS))
    roles = np.zeros(len(words) + 1, np.uint8)
    roles[1:][numpy_values(negator, fill=False).astype(bool)] = kernels.NEGATOR
    roles[1:][numpy_values(scope_end, fill=False).astype(bool)] = kernels.SCOPE_END
    sentence_end = pc.equal(words, SENTENCE_END)
    roles[1:][numpy_values(sentence_end, fill=False).astype(bool)] = kernels.SENTENCE_END
    return roles


def negated_words(words: pa.StringArray) -> pa.StringArray:
    """Each word with the negation prefix."""
    return pc.binary_join_element_wise(NEGATED_PREFIX, words, "")


def with_plain_words(words: pa.StringArray, sentence_ends: bool = False) -> pa.StringArray:
    """``words`` plus what marking must recognize that they lack: the plain form of
    each negated word among them, the negators and the scope ends (and
    ``SENTENCE_END`` with ``sentence_ends``).

    A word that the training reviews only ever had negated ("at" of "not good at all")
    must still be looked up, or its negated form could never be found; and a negator
    that did not make the vocabulary must still start a scope, as it did when the
    vocabulary was counted. (Negators ending in "n't" are recognized only if they are
    among the vocabulary's words: they cannot all be listed.)
    """
    negated = numpy_values(pc.starts_with(words, NEGATED_PREFIX), fill=False).astype(bool)
    plain = pc.utf8_slice_codeunits(words.filter(arrow_array(negated)), len(NEGATED_PREFIX))
    ends = (*_SCOPE_ENDS, SENTENCE_END) if sentence_ends else _SCOPE_ENDS
    wanted = pa.concat_arrays([plain, string_array(sorted(NEGATORS)), string_array(ends)])
    missing = pc.unique(wanted.filter(pc.invert(pc.is_in(wanted, value_set=words))))
    return pa.concat_arrays([words, missing]) if len(missing) else words


def negated_indices(words: pa.StringArray) -> np.ndarray:
    """Per 1-based word index, the 1-based index of its negated word among ``words``
    (0 where that is not one of them, or for the unknown word)."""
    found = pc.index_in(negated_words(words), value_set=words)
    negated = np.zeros(len(words) + 1, np.int64)
    negated[1:] = numpy_values(found, fill=-1).astype(np.int64) + 1
    return negated


def negate_dictionary(
    encoded: pa.DictionaryArray, lengths: np.ndarray, scope: int
) -> tuple[pa.DictionaryArray, np.ndarray]:
    """A batch's dictionary-encoded tokens with negation marked (see module docstring)
    and sentence ends left out, and the tokens per review then.

    The dictionary gains the negated words that occur, after the batch's own words.

    Args:
        encoded: Every token of the batch, reviews concatenated.
        lengths: Tokens per review.
        scope: Words marked after each negator.
    """
    dictionary = encoded.dictionary
    size = len(dictionary)
    # 1-based, so that index 0 can stand for "no word" as in the vectorizer's tables;
    # word i's negated form is provisionally i + size.
    word_index = numpy_values(encoded.indices).astype(np.int64) + 1
    negated = np.arange(size + 1, dtype=np.int64) + size
    negated[0] = 0
    kept = kernels.negate_word_index(
        word_index, np.asarray(lengths, np.int64), negated, word_roles(dictionary), scope
    )
    word_index = word_index[: int(kept.sum())]
    marked = word_index > size
    if not marked.any():
        if len(word_index) == len(encoded):
            return encoded, kept
        indices = arrow_array((word_index - 1).astype(np.int32))
        return pa.DictionaryArray.from_arrays(indices, dictionary), kept
    used = np.unique(word_index[marked]) - size
    renumbered = np.zeros(size + 1, np.int64)
    renumbered[used] = np.arange(size + 1, size + 1 + len(used))
    word_index[marked] = renumbered[word_index[marked] - size]
    words = pa.concat_arrays([dictionary, negated_words(dictionary.take(arrow_array(used - 1)))])
    indices = arrow_array((word_index - 1).astype(np.int32))
    return pa.DictionaryArray.from_arrays(indices, words), kept

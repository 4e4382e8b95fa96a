"""Weighted bags: the sum over the ids a review encodes to, without the ids."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from sentiment.encoding.config import VectorizerConfig
from sentiment.encoding.tokens import token_lists
from sentiment.encoding.vectorizer import Vectorizer
from sentiment.encoding.vocabulary import fit_vectorizer

WORDS = ["a", "b", "c", "d", "e", "f", "g", "h", "it's", "!"]


# Negators and scope ends (sentence ends among them), for the runs with negation marking.
NEGATION_WORDS = ["not", "never", "didn't", "?", "c.", "d.\u00a0", "e.<br />"]
SCOPES = [(0, False), (2, False), (2, True)]


def _texts(seed: int, words: list[str] = WORDS) -> list[str | None]:
    generator = np.random.default_rng(seed)
    texts: list[str | None] = [
        " ".join(generator.choice(words, size=generator.integers(0, 40)).tolist())
        for _ in range(300)
    ]
    return [*texts, None, "", "... ;;", "a", "zzz unknown words"]


@pytest.mark.parametrize("ngram_max", [1, 2, 3])
@pytest.mark.parametrize(("padding", "truncating"), [("pre", "pre"), ("post", "post")])
@pytest.mark.parametrize(("negation_scope", "sentence_scope"), SCOPES)
def test_sums_equal_the_weights_of_the_encoded_row(
    ngram_max: int, padding: str, truncating: str, negation_scope: int, sentence_scope: bool
) -> None:
    texts = _texts(ngram_max, WORDS + NEGATION_WORDS if negation_scope else WORDS)
    # A short row: many bags are cut, so the cut side matters.
    config = VectorizerConfig(
        num_words=150,
        max_length=12,
        ngram_max=ngram_max,
        bag=True,
        padding=padding,
        truncating=truncating,
        negation_scope=negation_scope,
        sentence_scope=sentence_scope,
    )
    vectorizer = fit_vectorizer(texts[:40], config)
    weights = np.random.default_rng(7).normal(size=config.num_words).astype(np.float32)
    ids = vectorizer.encode(texts)
    expected = weights[ids].astype(np.float64).sum(axis=1)

    lists = vectorizer.token_lists(texts)
    bags = vectorizer.weigh_bags(lists, weights)

    np.testing.assert_allclose(bags.sums, expected, rtol=0, atol=1e-9)
    _, stats = vectorizer.encode_token_lists(lists)
    assert int(bags.oov_counts.sum()) == stats.oov_tokens
    assert int(bags.token_counts.sum()) == stats.tokens


def _shares(token_counts: np.ndarray, full_tokens: int, no_tokens: int) -> np.ndarray:
    return np.clip((no_tokens - token_counts) / (no_tokens - full_tokens), 0.0, 1.0)


@pytest.mark.parametrize("with_prior", [False, True])
def test_top_weights_are_the_largest_and_most_negative_kept_ids(with_prior: bool) -> None:
    texts = _texts(11)
    config = VectorizerConfig(num_words=150, max_length=10, ngram_max=3, bag=True)
    vectorizer = fit_vectorizer(texts[:40], config)
    generator = np.random.default_rng(3)
    weights = generator.normal(size=config.num_words).astype(np.float32)
    weights[:2] = 0.0
    prior = generator.normal(size=config.num_words).astype(np.float32)
    prior[:2] = 0.0
    top = 3
    lists = token_lists(texts)
    if with_prior:
        # Texts of up to 5 tokens weigh their whole prior, from 15 none: an id's top
        # weight is its whole contribution, weight and share of its prior.
        paired = vectorizer.paired_weights(weights, prior)
        bags = vectorizer.weigh_bags(lists, weights, top, paired, (5, 15))
        shares = _shares(bags.token_counts, 5, 15)
        assert 0 < np.count_nonzero(shares == 1) < np.count_nonzero(shares) < len(shares)
    else:
        bags = vectorizer.weigh_bags(lists, weights, top=top)
        shares = np.zeros(len(texts))
    ids = vectorizer.encode(texts)
    for row, row_ids in enumerate(ids):
        kept = np.unique(row_ids[row_ids > 1])
        contributions = np.zeros(config.num_words, np.float32)
        contributions[kept] = weights[kept] + shares[row] * prior[kept].astype(np.float64)
        positive = kept[contributions[kept] > 0]
        negative = kept[contributions[kept] < 0]
        positive = positive[np.argsort(-contributions[positive], kind="stable")][:top]
        negative = negative[np.argsort(contributions[negative], kind="stable")][:top]
        expected_ids = np.full(2 * top, -1)
        expected_ids[: len(positive)] = positive
        expected_ids[top : top + len(negative)] = negative
        np.testing.assert_array_equal(bags.top_ids[row], expected_ids)
        found = bags.top_ids[row] >= 0
        np.testing.assert_array_equal(
            bags.top_weights[row][found], contributions[bags.top_ids[row][found]]
        )


def test_bags_need_a_bag_vectorizer_and_one_weight_per_id() -> None:
    texts = _texts(5)
    plain = fit_vectorizer(texts, VectorizerConfig(num_words=20, max_length=5))
    with pytest.raises(ValueError, match="bag=True"):
        plain.weigh_bags(token_lists(texts), np.zeros(20, np.float32))
    bag = fit_vectorizer(texts, VectorizerConfig(num_words=20, max_length=5, bag=True))
    with pytest.raises(ValueError, match="20 ids"):
        bag.weigh_bags(token_lists(texts), np.zeros(19, np.float32))
    assert isinstance(bag, Vectorizer)


# Reviews the one-pass scorer must treat exactly as has_text + token_lists do: blank and
# null rows, Unicode whitespace, HTML tags and entities, characters only Python lowercases
# exactly, apostrophes, marks, long words, malformed tags.
EDGE_TEXTS: list[str | None] = [
    None,
    "",
    "   ",
    "\u00a0",
    "\u00a0a",
    " \u3000 ",
    "x\x1c\x1d",
    "... ;;",
    "a &amp; b &#39; & c",
    "ΣΑΣ σ a",
    "emoji 😀 a",
    "it's don't 'b' c'd'e",
    "<br />a<br/>b",
    "<b>ÜNÏ a</b>",
    "<a é>b</a>",
    "<a &x>b</a>",
    "<&b",
    "A B !!! ??? !?",
    "ﬁne ǅ İ a",
    "averyveryverylongword a averyveryverylongwore",
    "not a. b",
    "not a.\u00a0b. c.\u3000d",
    "never a.<br />b a.<i x>",
    "not é. b c",
    "didn't a.&amp; b",
    "not ΣΑΣ. b",
    "not a.b. . c.",
]


@pytest.mark.parametrize("truncating", ["pre", "post"])
@pytest.mark.parametrize(("negation_scope", "sentence_scope"), SCOPES)
def test_one_pass_over_the_bytes_equals_has_text_tokens_and_bags(
    truncating: str, negation_scope: int, sentence_scope: bool
) -> None:
    from sentiment.core.arrays import arrow_array
    from sentiment.encoding.tokens import has_text, string_column

    words = [*WORDS, "averyveryverylongword", "ü", "é", "b", "σας", "fine"]
    words += NEGATION_WORDS if negation_scope else []
    generator = np.random.default_rng(2)
    texts = [
        *EDGE_TEXTS,
        *(" ".join(generator.choice(words, size=generator.integers(0, 60))) for _ in range(300)),
    ]
    config = VectorizerConfig(
        num_words=200,
        max_length=12,
        ngram_max=3,
        bag=True,
        truncating=truncating,
        negation_scope=negation_scope,
        sentence_scope=sentence_scope,
    )
    vectorizer = fit_vectorizer(texts[20:80], config)
    weights = np.random.default_rng(7).normal(size=config.num_words).astype(np.float32)
    prior = np.random.default_rng(8).normal(size=config.num_words).astype(np.float32)
    paired = vectorizer.paired_weights(weights, prior)
    column = pa.array(texts, pa.string())
    for top, with_prior in ((0, False), (2, False), (0, True), (2, True)):
        # A prior whole up to 3 tokens, none from 20: the rows Python cleans first have
        # a share of it too.
        prior_settings = (paired, (3, 20)) if with_prior else (None, (0, 0))
        valid, bags = vectorizer.weigh_texts(column, weights, top, False, *prior_settings)
        expected_valid = has_text(column)
        np.testing.assert_array_equal(valid, expected_valid)
        selected = string_column(column).filter(arrow_array(expected_valid))
        lists = vectorizer.token_lists(selected)
        expected = vectorizer.weigh_bags(lists, weights, top, *prior_settings)
        fields = ["sums", "token_counts", "oov_counts", "top_ids", "top_weights"]
        for field in [*fields, "prior_sums"] if with_prior else fields:
            np.testing.assert_array_equal(getattr(bags, field), getattr(expected, field), field)
    # Every row, nulls and blanks as empty texts, as weigh_bags sees them.
    valid, bags = vectorizer.weigh_texts(column, weights, every_row=True)
    assert valid.all()
    expected = vectorizer.weigh_bags(vectorizer.token_lists(column), weights)
    np.testing.assert_array_equal(bags.sums, expected.sums)


def test_threads_sharing_a_fresh_vectorizer_weigh_the_same() -> None:
    # The tables of weigh_texts are built on first use; encoding threads that all
    # start on a fresh vectorizer must still see complete tables.
    from concurrent.futures import ThreadPoolExecutor

    texts = [t for t in _texts(21) if t]
    config = VectorizerConfig(num_words=150, max_length=40, ngram_max=3, bag=True)
    weights = np.random.default_rng(1).normal(size=config.num_words).astype(np.float32)
    column = pa.array(texts, pa.string())
    for _ in range(5):
        vectorizer = fit_vectorizer(texts, config)
        expected = vectorizer.weigh_bags(token_lists(column), weights).sums
        fresh = fit_vectorizer(texts, config)

        def weigh(_: int, vectorizer: Vectorizer = fresh) -> np.ndarray:
            return vectorizer.weigh_texts(column, weights)[1].sums

        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(weigh, range(8)))
        for sums in results:
            np.testing.assert_array_equal(sums, expected)


def test_trigrams_whose_first_two_words_are_no_bigram_are_still_found() -> None:
    # The compact tables look a trigram up only where the bigram of its first two words
    # is marked as starting one; "x y" is no bigram of this vocabulary, so it is an
    # entry of its own (id 0) that must add no weight, while "x y z" must be found.
    reserved = fit_vectorizer(["a"], VectorizerConfig(num_words=10, bag=True)).vocabulary[:2]
    vocabulary = [*reserved, "x", "y", "z", "y z", "x y z", "y z x", "z x"]
    config = VectorizerConfig(num_words=len(vocabulary), max_length=20, ngram_max=3, bag=True)
    vectorizer = Vectorizer(vocabulary, config)
    weights = np.arange(1, len(vocabulary) + 1, dtype=np.float32) * 0.25
    texts = ["x y z", "x y", "y z x y z", "z x y", "x z y", "y z x", "z y x z y"]

    valid, bags = vectorizer.weigh_texts(pa.array(texts), weights)

    expected = vectorizer.weigh_bags(token_lists(texts), weights)
    assert valid.all()
    np.testing.assert_array_equal(bags.sums, expected.sums)
    ids = vectorizer.encode(texts)
    np.testing.assert_array_equal(bags.sums, weights[ids].astype(np.float64).sum(axis=1))

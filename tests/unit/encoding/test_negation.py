"""Negation marking: the words after a negator are encoded as negated words."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from sentiment.core.errors import ConfigError
from sentiment.encoding.config import VectorizerConfig
from sentiment.encoding.negation import NEGATED_PREFIX, NEGATORS
from sentiment.encoding.text import tokenize
from sentiment.encoding.vectorizer import Vectorizer
from sentiment.encoding.vocabulary import fit_vectorizer

BAG = VectorizerConfig(num_words=500, max_length=64, ngram_max=3, bag=True, negation_scope=3)


def _marked(tokens: list[str], scope: int) -> list[str]:
    """The plain-Python definition: up to ``scope`` tokens after a negator get the
    prefix; "!" or "?" ends a scope, and so does a sentence end ("."), which is left out;
    a negator in a scope is marked and starts another."""
    out, left = [], 0
    for token in tokens:
        if token == ".":
            left = 0
            continue
        if token in ("!", "?"):
            left = 0
            out.append(token)
            continue
        out.append(NEGATED_PREFIX + token if left > 0 else token)
        left -= 1
        if token in NEGATORS or token.endswith("n't"):
            left = scope
    return out


def _entries(vectorizer: Vectorizer, text: str) -> set[str]:
    vocabulary = vectorizer.vocabulary
    return {vocabulary[i] for i in vectorizer.encode([text])[0] if i > 1}


def test_words_after_a_negator_are_their_negated_forms() -> None:
    vectorizer = fit_vectorizer(["not good at all", "good fun", "never not dull"], BAG)
    assert _entries(vectorizer, "not good at all") == {
        "not", "_good", "_at", "_all", "not _good", "_good _at", "_at _all",
        "not _good _at", "_good _at _all",
    }  # fmt: skip
    # The plain word is another entry: "good" in "not good" is no evidence for "good".
    assert _entries(vectorizer, "good") == {"good"}
    # A negator inside a scope is marked and starts a new one.
    assert _entries(vectorizer, "never not dull") >= {"never", "_not", "_dull"}


def test_the_scope_is_so_many_words_and_ends_at_a_mark() -> None:
    config = VectorizerConfig(num_words=500, max_length=64, bag=True, negation_scope=1)
    vectorizer = fit_vectorizer(["didn't like it", "no ! fun", "good"], config)
    assert _entries(vectorizer, "didn't like it") == {"didn't", "_like", "it"}
    assert _entries(vectorizer, "no ! fun") == {"no", "!", "fun"}


def test_a_word_seen_only_negated_in_training_is_still_found() -> None:
    # "at" and "all" never occur plain in these reviews; their negated forms must be
    # found anyway when a scored review negates them.
    vectorizer = fit_vectorizer(["not good at all"] * 3, BAG)
    assert "at" not in vectorizer.vocabulary and "_at" in vectorizer.vocabulary
    assert "_at" in _entries(vectorizer, "not at all")


def test_a_negator_outside_the_vocabulary_still_starts_a_scope() -> None:
    # Each negator occurs once, "_good" four times: a vocabulary of one entry keeps
    # only "_good", and scoring must still mark "good" after any of the negators.
    config = VectorizerConfig(num_words=3, max_length=8, negation_scope=1)
    vectorizer = fit_vectorizer(["never good", "not good", "no good", "hardly good"], config)
    assert vectorizer.vocabulary[2:] == ["_good"]
    assert _entries(vectorizer, "never good") == {"_good"}
    assert _entries(vectorizer, "good") == set()


@pytest.mark.parametrize("sentence_scope", [False, True])
def test_vocabulary_counts_the_marked_tokens_of_a_plain_reference(sentence_scope: bool) -> None:
    generator = np.random.default_rng(4)
    words = ["a", "b", "c", "good", "bad", "not", "never", "isn't", "!", "?", "c.", "bad.<br />"]
    texts = [" ".join(generator.choice(words, size=generator.integers(0, 30))) for _ in range(200)]
    scope = 2
    marked = [_marked(tokenize(text, sentence_scope), scope) for text in texts]
    counts: dict[str, int] = {}
    for tokens in marked:
        for token in tokens:
            counts[token] = counts.get(token, 0) + 1
    config = VectorizerConfig(
        num_words=1000, max_length=64, negation_scope=scope, sentence_scope=sentence_scope
    )
    vectorizer = fit_vectorizer(texts, config)
    expected = sorted(counts, key=lambda token: (-counts[token], token))
    assert vectorizer.vocabulary[2:] == expected
    # Encoding a review gives the ids of its marked tokens, in order.
    index = {token: i for i, token in enumerate(vectorizer.vocabulary)}
    for text, tokens in zip(texts[:50], marked[:50], strict=True):
        row = vectorizer.encode([text])[0]
        assert [int(i) for i in row if i] == [index[token] for token in tokens][-64:]


def test_without_negation_the_settings_and_saved_files_are_unchanged(tmp_path: Path) -> None:
    assert "negation_scope" not in VectorizerConfig().to_dict()
    assert BAG.to_dict()["negation_scope"] == 3
    with pytest.raises(ConfigError, match="negation_scope"):
        VectorizerConfig(negation_scope=-1)
    vectorizer = fit_vectorizer(["not good", "good"], BAG)
    vectorizer.save(tmp_path / "vectorizer.json")
    loaded = Vectorizer.load(tmp_path / "vectorizer.json")
    assert loaded == vectorizer and loaded.config.negation_scope == 3
    np.testing.assert_array_equal(loaded.encode(["not good"]), vectorizer.encode(["not good"]))


SENTENCES = ["The film was not great. Excellent.", "Not worth watching. Boring.", "not bad"]


def _negated_entries(vectorizer: Vectorizer, texts: list[str]) -> list[set[str]]:
    """The negated words each text encodes to, by every encoding path, all equal."""
    from sentiment.encoding.tokens import dictionary_tokens

    vocabulary = vectorizer.vocabulary
    words = [
        {vocabulary[i] for i in row if i > 1 and " " not in vocabulary[i]}
        for row in vectorizer.encode(texts)
    ]
    # Preprocessing: dictionary-encoded tokens from another process.
    tokens, lengths = dictionary_tokens(vectorizer.token_lists(texts))
    batch = vectorizer.encode_dictionary(tokens, lengths)
    np.testing.assert_array_equal(batch.ids, vectorizer.encode(texts))
    # Linear scoring: from token lists, from the bytes, and the rows Python cleans first
    # (an HTML entity), with the ids' weights summed.
    weights = np.random.default_rng(1).normal(size=vectorizer.config.num_words).astype(np.float32)
    expected = weights[vectorizer.encode(texts)].astype(np.float64).sum(axis=1)
    lists = vectorizer.token_lists(texts)
    bags = vectorizer.weigh_bags(lists, weights)
    np.testing.assert_allclose(bags.sums, expected, rtol=0, atol=1e-9)
    _, stats = vectorizer.encode_token_lists(lists)
    assert int(bags.token_counts.sum()) == stats.tokens == batch.stats().tokens
    # "&amp;" is no token, but sends the row through Python first.
    for column in (pa.array(texts), pa.array([f"{text} &amp;" for text in texts])):
        valid, scored = vectorizer.weigh_texts(column, weights)
        assert valid.all()
        np.testing.assert_allclose(scored.sums, bags.sums, rtol=0, atol=1e-9)
        np.testing.assert_array_equal(scored.token_counts, bags.token_counts)
    return [{word for word in row if word.startswith(NEGATED_PREFIX)} for row in words]


def test_a_sentence_end_ends_the_negation_scope_in_every_path() -> None:
    config = dataclasses.replace(BAG, sentence_scope=True)
    vectorizer = fit_vectorizer([*SENTENCES, "excellent boring great"], config)
    assert "." not in vectorizer.vocabulary
    assert _negated_entries(vectorizer, SENTENCES) == [
        {"_great"},
        {"_worth", "_watching"},
        {"_bad"},
    ]
    # Token counts leave the sentence ends out: "the film was not great excellent".
    assert vectorizer.encode_with_stats(SENTENCES[:1])[1].tokens == 6


def test_without_sentence_scope_a_scope_crosses_a_sentence_end_as_before() -> None:
    vectorizer = fit_vectorizer([*SENTENCES, "excellent boring great"], BAG)
    assert _negated_entries(vectorizer, SENTENCES) == [
        {"_great", "_excellent"},
        {"_worth", "_watching", "_boring"},
        {"_bad"},
    ]
    assert vectorizer.encode_with_stats(SENTENCES[:1])[1].tokens == 6


def test_sentence_scope_needs_negation_and_is_saved_only_when_on(tmp_path: Path) -> None:
    assert "sentence_scope" not in BAG.to_dict()
    on = dataclasses.replace(BAG, sentence_scope=True)
    assert on.to_dict()["sentence_scope"] is True
    assert VectorizerConfig.from_dict(on.to_dict()) == on
    with pytest.raises(ConfigError, match="negation_scope"):
        VectorizerConfig(sentence_scope=True)
    with pytest.raises(ConfigError, match="sentence_scope"):
        VectorizerConfig(negation_scope=3, sentence_scope=1)  # type: ignore[arg-type]
    vectorizer = fit_vectorizer(SENTENCES, on)
    vectorizer.save(tmp_path / "vectorizer.json")
    loaded = Vectorizer.load(tmp_path / "vectorizer.json")
    assert loaded.config.sentence_scope
    np.testing.assert_array_equal(loaded.encode(SENTENCES), vectorizer.encode(SENTENCES))

"""The vectorizer and the tokenizer it builds on: hand-checked expectations."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from sentiment.core.arrays import arrow_array, numpy_values, string_array
from sentiment.core.errors import ConfigError, DataError
from sentiment.encoding.config import VectorizerConfig
from sentiment.encoding.kernels import bags
from sentiment.encoding.lookup import KeyTable as _KeyTable
from sentiment.encoding.text import tokenize
from sentiment.encoding.tokens import dictionary_tokens, token_lists
from sentiment.encoding.vectorizer import Vectorizer, pad_sequences
from sentiment.encoding.vocabulary import VocabularyCounter, fit_vectorizer

PAD, OOV = Vectorizer.PADDING_ID, Vectorizer.OOV_ID

# --- configuration --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"num_words": 1}, "num_words"),
        ({"max_length": 0}, "max_length"),
        ({"padding": "middle"}, "padding"),
        ({"truncating": "both"}, "truncating"),
        ({"ngram_max": 4}, "ngram_max"),
        ({"ngram_max": 0}, "ngram_max"),
        ({"min_document_count": 0}, "min_document_count"),
        ({"num_words": 5.5}, "num_words"),
    ],
)
def test_bad_settings_name_the_setting(settings: dict, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        VectorizerConfig(**settings)


def test_config_round_trips_through_a_dict() -> None:
    config = VectorizerConfig(num_words=10, max_length=7, padding="post", ngram_max=2, bag=True)
    assert VectorizerConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match="colour"):
        VectorizerConfig.from_dict({**config.to_dict(), "colour": "red"})


# --- fitting --------------------------------------------------------------------------

TRAIN = ["the cat sat on the mat", "the dog! the dog?", "a cat and a dog"]


def test_vocabulary_is_ranked_by_count_then_text() -> None:
    vectorizer = fit_vectorizer(TRAIN, VectorizerConfig(num_words=7, max_length=4))
    # the: 4, a: 2, cat: 2, dog: 3; then every count-1 token, "!" < "?" < "and" < ...
    assert vectorizer.vocabulary == ["", "[UNK]", "the", "dog", "a", "cat", "!"]


def test_num_words_counts_the_reserved_ids() -> None:
    vectorizer = fit_vectorizer(TRAIN, VectorizerConfig(num_words=5, max_length=6))
    assert len(vectorizer.vocabulary) == 5
    ids = vectorizer.encode(TRAIN)
    assert ids.max() == 4


def test_vocabulary_comes_from_the_fitted_texts_only() -> None:
    vectorizer = fit_vectorizer(["good film", "bad film"], VectorizerConfig(max_length=3))
    # "zebra" appears only in text the vectorizer was not fitted on: out of vocabulary.
    ids = vectorizer.encode(["good zebra film"])
    film, good = vectorizer.vocabulary.index("film"), vectorizer.vocabulary.index("good")
    assert ids.tolist() == [[good, OOV, film]]
    assert "zebra" not in vectorizer.vocabulary


def test_fitting_is_deterministic_and_independent_of_batching() -> None:
    config = VectorizerConfig(num_words=9, max_length=5, ngram_max=2)
    whole = fit_vectorizer(TRAIN * 3, config)
    one_by_one = fit_vectorizer(TRAIN * 3, config, batch_size=1)
    assert whole == one_by_one
    assert whole.vocabulary == fit_vectorizer(list(TRAIN * 3), config).vocabulary


def test_min_document_count_drops_tokens_of_a_single_review() -> None:
    config = VectorizerConfig(num_words=50, max_length=5, min_document_count=2)
    vectorizer = fit_vectorizer(TRAIN, config)
    # "a" occurs twice but in one review; "cat", "dog" and "the" are in two reviews each.
    assert sorted(vectorizer.vocabulary[2:]) == ["cat", "dog", "the"]


def test_counter_skips_reviews_outside_the_mask() -> None:
    counter = VocabularyCounter(VectorizerConfig(num_words=50, max_length=5))
    counter.add_token_lists(token_lists(["kept words", "held out"]), np.array([True, False]))
    vectorizer = counter.build()
    assert sorted(vectorizer.vocabulary[2:]) == ["kept", "words"]
    assert counter.documents == 1
    assert counter.distinct_words == 2


# --- encoding -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("padding", "truncating", "expected"),
    [
        ("pre", "pre", [[0, 0, 1, 2], [4, 5, 6, 7]]),
        ("post", "pre", [[1, 2, 0, 0], [4, 5, 6, 7]]),
        ("pre", "post", [[0, 0, 1, 2], [3, 4, 5, 6]]),
        ("post", "post", [[1, 2, 0, 0], [3, 4, 5, 6]]),
    ],
)
def test_pad_and_truncate_on_both_sides(padding: str, truncating: str, expected: list) -> None:
    flat = np.array([1, 2, 3, 4, 5, 6, 7], np.int32)
    result = pad_sequences(flat, np.array([2, 5]), 4, padding, truncating)  # type: ignore[arg-type]
    assert result.dtype == np.int32
    assert result.tolist() == expected


def test_encode_maps_none_and_empty_to_padding_and_counts_them() -> None:
    vectorizer = fit_vectorizer(TRAIN, VectorizerConfig(num_words=20, max_length=3))
    ids, stats = vectorizer.encode_with_stats(["the cat", None, "", "!!! the the the the"])
    the, cat, bang = (vectorizer.vocabulary.index(token) for token in ("the", "cat", "!"))
    assert ids.tolist() == [[PAD, the, cat], [PAD] * 3, [PAD] * 3, [the, the, the]]
    assert (stats.documents, stats.empty_documents, stats.truncated_documents) == (4, 2, 1)
    assert stats.tokens == 2 + 7
    assert bang in vectorizer.encode(["!"])


def test_oov_rate_counts_unknown_words() -> None:
    vectorizer = fit_vectorizer(TRAIN, VectorizerConfig(num_words=20, max_length=10))
    assert vectorizer.oov_rate(["the zebra ate a yak"]) == pytest.approx(3 / 5)
    assert vectorizer.oov_rate([None]) == 0.0


def test_ngram_sequence_is_words_then_bigrams_then_trigrams() -> None:
    config = VectorizerConfig(num_words=40, max_length=8, ngram_max=3)
    vectorizer = fit_vectorizer(["the cat sat", "the cat sat", "the dog"], config)
    vocabulary = vectorizer.vocabulary
    ids = vectorizer.encode(["the cat sat down"])[0].tolist()
    expected_tokens = ["the", "cat", "sat", "[UNK]", "the cat", "cat sat", "the cat sat"]
    assert ids == [PAD] + [vocabulary.index(token) for token in expected_tokens]


def test_bag_mode_gives_sorted_distinct_ids() -> None:
    config = VectorizerConfig(num_words=40, max_length=8, ngram_max=2, bag=True, padding="post")
    vectorizer = fit_vectorizer(["the cat sat", "the cat", "the dog"], config)
    ids = vectorizer.encode(["the cat the cat zebra"])[0]
    present = ids[ids != PAD]
    vocabulary = vectorizer.vocabulary
    wanted = {vocabulary.index(t) for t in ("the", "cat", "the cat", "[UNK]")}
    assert present.tolist() == sorted(wanted)
    assert ids[len(present) :].tolist() == [PAD] * (8 - len(present))


def test_big_inputs_are_encoded_in_batches_identically() -> None:
    vectorizer = fit_vectorizer(TRAIN, VectorizerConfig(num_words=20, max_length=6))
    texts = [TRAIN[index % 3] for index in range(9000)]
    ids = vectorizer.encode(texts)
    assert ids.shape == (9000, 6)
    assert (ids[3::3] == vectorizer.encode([TRAIN[0]])).all()


def _reference_encode(vectorizer: Vectorizer, text: str | None) -> list[int]:
    """Encode one review the plain way: n-grams as joined strings, a dict, lists."""
    config = vectorizer.config
    index = {token: position for position, token in enumerate(vectorizer.vocabulary)}
    words = tokenize(text) if text else []
    sequence = [index.get(word, OOV) for word in words]
    for order in range(2, config.ngram_max + 1):
        grams = (" ".join(words[start : start + order]) for start in range(len(words)))
        sequence += [
            index[gram] for gram in grams if gram.count(" ") == order - 1 and gram in index
        ]
    if config.bag:
        sequence = sorted(set(sequence))
    kept = (
        sequence[-config.max_length :]
        if config.truncating == "pre"
        else sequence[: config.max_length]
    )
    padding = [PAD] * (config.max_length - len(kept))
    return padding + kept if config.padding == "pre" else kept + padding


@pytest.mark.parametrize("ngram_max", [1, 2, 3])
@pytest.mark.parametrize("bag", [False, True])
@pytest.mark.parametrize(("padding", "truncating"), [("pre", "pre"), ("post", "post")])
def test_ngram_encoding_matches_a_plain_reference(
    ngram_max: int, bag: bool, padding: str, truncating: str
) -> None:
    generator = np.random.default_rng(ngram_max * 10 + bag)
    words = ["a", "b", "c", "d", "e", "f", "g", "h", "it's", "!"]
    texts: list[str | None] = [
        " ".join(generator.choice(words, size=generator.integers(0, 30)).tolist())
        for _ in range(400)
    ]
    texts += [None, "", "... ;;", "a", "a b"]
    config = VectorizerConfig(
        num_words=150,
        max_length=24,
        ngram_max=ngram_max,
        bag=bag,
        padding=padding,
        truncating=truncating,
    )
    # Fitted on part of the texts with a small id space: some n-grams stay unknown.
    vectorizer = fit_vectorizer(texts[:40], config)
    ids = vectorizer.encode(texts)
    expected = np.array([_reference_encode(vectorizer, text) for text in texts], np.int32)
    assert ids.dtype == np.int32
    np.testing.assert_array_equal(ids, expected)


@pytest.mark.parametrize("passes", [1, 2, 3])
def test_radix_sort_of_a_bag_matches_numpy(passes: int) -> None:
    generator = np.random.default_rng(passes)
    for count in (0, 1, 2, 700):
        values = generator.integers(0, 1 << (10 * passes), size=count + 3).astype(np.int32)
        ordered = bags._radix_sort(values.copy(), count, np.empty_like(values), passes)
        np.testing.assert_array_equal(ordered[:count], np.sort(values[:count]))


def test_key_table_finds_every_key_and_nothing_else() -> None:
    generator = np.random.default_rng(7)
    keys = np.unique(generator.integers(0, 2**63 - 1, size=6000, dtype=np.uint64))
    stored, absent = keys[:5000], keys[5000:]
    # Keys differing only in low bits share the hash's top bits: long probe chains.
    stored = np.concatenate([stored, np.arange(1, 3000, dtype=np.uint64)])
    ids = np.arange(len(stored), dtype=np.int32) + 2
    table = _KeyTable(stored, ids)
    assert len(table) == len(stored)
    queries = np.concatenate([stored, absent, stored[::-1]])
    expected = np.concatenate([ids, np.full(len(absent), -1, np.int32), ids[::-1]])
    np.testing.assert_array_equal(table.lookup(queries), expected)
    assert table.lookup(np.zeros(0, np.uint64)).tolist() == []
    assert _KeyTable(np.zeros(0, np.uint64), np.zeros(0, np.int32)).lookup(keys).min() == -1


# --- persistence ----------------------------------------------------------------------


@pytest.mark.parametrize("ngram_max", [1, 3])
def test_save_and_load_round_trip(tmp_path: Path, ngram_max: int) -> None:
    config = VectorizerConfig(num_words=30, max_length=9, ngram_max=ngram_max, bag=ngram_max > 1)
    vectorizer = fit_vectorizer(TRAIN, config)
    path = tmp_path / "vectorizer.json"
    vectorizer.save(path)
    loaded = Vectorizer.load(path)
    assert loaded == vectorizer
    assert loaded.vocabulary == vectorizer.vocabulary
    texts = ["the cat and the zebra", "a dog", None]
    np.testing.assert_array_equal(loaded.encode(texts), vectorizer.encode(texts))
    payload = json.loads(path.read_text())
    assert payload["vocabulary"][:2] == ["", "[UNK]"]
    assert payload["config"] == config.to_dict()


def test_load_refuses_missing_and_corrupt_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="missing"):
        Vectorizer.load(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(DataError, match=r"broken\.json"):
        Vectorizer.load(broken)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(DataError, match=r"wrong\.json"):
        Vectorizer.load(wrong)


# --- Arrow helpers (no pandas import) ------------------------------------------------


def test_string_array_matches_pa_array() -> None:
    strings = ["plain", "", "café naïve", "日本語 text", "a"]
    built = string_array(strings)
    assert built.equals(pa.array(strings, pa.string()))
    assert string_array([]).equals(pa.array([], pa.string()))


def test_numpy_values_handles_offsets_nulls_and_booleans() -> None:
    integers = pa.array([5, None, 7, 8], pa.int32()).slice(1)
    assert numpy_values(integers, fill=-1).tolist() == [-1, 7, 8]
    with pytest.raises(ValueError, match="nulls"):
        numpy_values(integers)
    flags = pa.array([True, False, True, True, False, False, True, False, True], pa.bool_())
    assert numpy_values(flags.slice(3)).tolist() == [True, False, False, True, False, True]
    assert numpy_values(pa.chunked_array([[1, 2], [3]], pa.int64())).tolist() == [1, 2, 3]


def test_arrow_array_round_trips_numbers_and_booleans() -> None:
    numbers = np.array([3, -1, 4], np.int64)
    assert arrow_array(numbers).to_pylist() == [3, -1, 4]
    mask = np.array([True, False, True, True, False, False, False, False, True, False])
    assert arrow_array(mask).to_pylist() == mask.tolist()


def test_add_dictionary_counts_like_add_token_lists() -> None:
    texts = ["a b a c", "", "b b d !", "held out e"]
    documents = np.array([True, True, True, False])
    config = VectorizerConfig(num_words=6, max_length=4)
    direct, split = VocabularyCounter(config), VocabularyCounter(config)
    direct.add_token_lists(token_lists(texts), documents)
    split.add_dictionary(*dictionary_tokens(token_lists(texts)), documents)
    assert direct.build() == split.build()
    assert split.build().vocabulary == ["", "[UNK]", "b", "a", "!", "c"]

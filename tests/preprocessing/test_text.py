import json

import numpy as np
import pytest

import loom
from loom.errors import ConfigError
from loom.preprocessing.text import Tokenizer, hashing_trick, one_hot, text_to_word_sequence, tokenizer_from_json

TEXTS = ["The cat sat on the mat.", "The dog ate my homework!", "Dog and cat"]


def test_word_sequence_and_hashing():
    assert text_to_word_sequence("Hello,\tWorld! x-y") == ["hello", "world", "x", "y"]
    assert text_to_word_sequence("A;B", filters="", split=";", lower=False) == ["A", "B"]
    hashed = hashing_trick("a b a c", 5, hash_function="md5")
    assert hashed[0] == hashed[2] and all(1 <= h < 5 for h in hashed)
    assert all(1 <= h < 7 for h in one_hot("x y z", 7))
    with pytest.raises(ConfigError):
        hashing_trick("a", 1)


def test_tokenizer_index_sequences_and_oov():
    t = Tokenizer(num_words=5, oov_token="<oov>")
    t.fit_on_texts(TEXTS)
    assert list(t.word_index)[:4] == ["<oov>", "the", "cat", "dog"] and t.document_count == 3
    assert t.word_counts["the"] == 3 and t.word_docs["cat"] == 2
    assert t.texts_to_sequences(["the cat flew"]) == [[2, 3, 1]]
    assert t.sequences_to_texts([[2, 3, 9]]) == ["the cat <oov>"]


@pytest.mark.parametrize("mode", ["binary", "count", "freq", "tfidf"])
def test_matrices(mode):
    t = Tokenizer()
    t.fit_on_texts(TEXTS)
    m = t.texts_to_matrix(["the the cat"], mode=mode)
    the, cat = t.word_index["the"], t.word_index["cat"]
    assert m.shape == (1, len(t.word_index) + 1)
    expected = {"binary": (1, 1), "count": (2, 1), "freq": (2 / 3, 1 / 3),
                "tfidf": ((1 + np.log(2)) * np.log(1 + 3 / 3), np.log(1 + 3 / 3))}[mode]
    np.testing.assert_allclose([m[0, the], m[0, cat]], expected)
    assert m.sum() == pytest.approx(sum(expected))


def test_json_round_trip_and_errors():
    t = Tokenizer(num_words=10, char_level=False)
    t.fit_on_texts(TEXTS)
    again = tokenizer_from_json(t.to_json())
    assert again.word_index == t.word_index and again.texts_to_sequences(TEXTS) == t.texts_to_sequences(TEXTS)
    assert json.loads(t.to_json())["class_name"] == "Tokenizer"
    with pytest.raises(ConfigError, match="mode"):
        t.texts_to_matrix(TEXTS, mode="bag")
    with pytest.raises(ConfigError, match="num_words"):
        Tokenizer().texts_to_matrix(TEXTS)


def test_bag_of_words_model_trains():
    t = Tokenizer(num_words=20)
    t.fit_on_texts(TEXTS)
    x = t.texts_to_matrix(TEXTS).astype("float32")
    model = loom.Sequential([loom.Input((20,)), loom.layers.Dense(1, activation="sigmoid")])
    model.compile("sgd", "binary_crossentropy")
    model.fit(x, np.array([0.0, 1.0, 1.0]), epochs=1, verbose=0)

"""TextVectorization: standardize, split, n-grams, output modes and lengths, adapt sources; parity with
Keras 3 (which needs TensorFlow for this layer, imported only here)."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, InputError
from tests.keras_oracle import keras

tf = pytest.importorskip("tensorflow")

CORPUS = np.array(["The quick brown fox.", "jumped over the LAZY dog!!", "the fox, the dog; and the cat",
                   "Ünïcode É café  tabs\there", ""])
QUERY = np.array(["the cat and the fox", "unknown words here", "", "É café"])


@pytest.mark.parametrize("kwargs", [
    {}, {"output_sequence_length": 3}, {"output_sequence_length": 12}, {"max_tokens": 6},
    {"standardize": "lower"}, {"standardize": None}, {"standardize": "strip_punctuation"}, {"split": "character"},
    {"ngrams": 2}, {"ngrams": (1, 3)}, {"output_mode": "multi_hot"}, {"output_mode": "count", "ngrams": 2},
    {"output_mode": "tf_idf"}, {"output_mode": "tf_idf", "max_tokens": 8, "pad_to_max_tokens": True}])
def test_adapt_and_call_match_keras(kwargs):
    ours, theirs = loom.layers.TextVectorization(**kwargs), keras.layers.TextVectorization(**kwargs)
    ours.adapt(CORPUS)
    theirs.adapt(CORPUS)
    assert ours.get_vocabulary() == theirs.get_vocabulary()
    for query in (QUERY, QUERY[:, None]):
        np.testing.assert_allclose(ours(query).numpy(), np.asarray(theirs(query)), atol=1e-6)
    assert ours.get_config().keys() == theirs.get_config().keys()


def test_split_none_and_scalar_inputs_match_keras():
    ours, theirs = loom.layers.TextVectorization(split=None), keras.layers.TextVectorization(split=None)
    ours.adapt(CORPUS)
    theirs.adapt(CORPUS)
    assert ours.get_vocabulary() == theirs.get_vocabulary()
    np.testing.assert_array_equal(ours(QUERY).numpy(), np.asarray(theirs(QUERY)))
    assert int(ours("the fox")) == int(np.asarray(theirs("the fox")))


def test_adapt_sources_agree():
    whole = loom.layers.TextVectorization()
    whole.adapt(list(CORPUS))
    for source in (iter([CORPUS[:2], CORPUS[2:]]), torch.utils.data.DataLoader(list(CORPUS), batch_size=2)):
        layer = loom.layers.TextVectorization()
        layer.adapt(source)
        assert layer.get_vocabulary() == whole.get_vocabulary()


def test_callable_standardize_and_split():
    def shout(texts):
        return np.char.upper(texts)

    def on_commas(texts):
        return [t.split(",") for t in texts]

    layer = loom.layers.TextVectorization(standardize=shout, split=on_commas)
    layer.adapt(["a,b", "b,c"])
    assert layer.get_vocabulary() == ["", "[UNK]", "B", "C", "A"]
    assert layer(["c,a,z"]).tolist() == [[3, 4, 1]]


def test_config_round_trip_keeps_the_vocabulary():
    layer = loom.layers.TextVectorization(output_mode="tf_idf", ngrams=2)
    layer.adapt(CORPUS)
    copy = loom.layers.TextVectorization.from_config(layer.get_config())
    np.testing.assert_allclose(copy(QUERY).numpy(), layer(QUERY).numpy())


def test_bad_input():
    with pytest.raises(ConfigError, match="output_mode"):
        loom.layers.TextVectorization(output_mode="words")
    with pytest.raises(ConfigError, match="standardize"):
        loom.layers.TextVectorization(standardize="upper")
    with pytest.raises(ConfigError, match="output_sequence_length"):
        loom.layers.TextVectorization(output_mode="count", output_sequence_length=3)
    with pytest.raises(ConfigError, match="ngrams"):
        loom.layers.TextVectorization(ngrams="2")
    with pytest.raises(InputError, match="no terms"):
        loom.layers.TextVectorization().adapt([])
    with pytest.raises(InputError, match=r"\(batch, 1\)"):
        loom.layers.TextVectorization(vocabulary=["a"])(np.array([["a", "b"]]))
    with pytest.raises(InputError, match="repeats"):
        loom.layers.TextVectorization(vocabulary=["a", "a"])
    with pytest.raises(InputError, match="vocabulary"):
        loom.layers.TextVectorization(output_mode="count")(["a"])


def test_in_a_data_pipeline_feeding_fit():
    vectorizer = loom.layers.TextVectorization(max_tokens=30, output_sequence_length=5)
    vectorizer.adapt(CORPUS)
    pairs = [(text, float(i % 2)) for i, text in enumerate(CORPUS)] * 4

    def collate(batch):
        texts, labels = zip(*batch)
        return vectorizer(list(texts)), torch.tensor(labels).reshape(-1, 1)

    loader = torch.utils.data.DataLoader(pairs, batch_size=4, collate_fn=collate)
    model = loom.Sequential([loom.Input((5,), dtype="int64"), loom.layers.Embedding(30, 4),
                             loom.layers.GlobalAveragePooling1D(), loom.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(loader, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])

"""StringLookup (and the shared index-lookup core): adapt order, OOV hashing, mask, invert, output modes,
vocabulary files; parity with Keras 3 (its lookup layers need TensorFlow, imported only here)."""

import numpy as np
import pytest

import loom
from loom.errors import ConfigError, InputError
from tests.keras_oracle import keras

tf = pytest.importorskip("tensorflow")

DATA = np.array([["a", "b", "a", "c"], ["c", "a", "d", "e"], ["f", "a", "b", "b"]])
QUERY = np.array([["a", "zz", "b", ""], ["q", "e", "a", "m"]])


@pytest.mark.parametrize("kwargs", [
    {}, {"mask_token": ""}, {"num_oov_indices": 3}, {"num_oov_indices": 3, "salt": 5}, {"max_tokens": 4},
    {"output_mode": "multi_hot"}, {"output_mode": "count", "mask_token": ""}, {"output_mode": "tf_idf"},
    {"output_mode": "tf_idf", "pad_to_max_tokens": True, "max_tokens": 10}])
def test_adapt_and_call_match_keras(kwargs):
    ours, theirs = loom.layers.StringLookup(**kwargs), keras.layers.StringLookup(**kwargs)
    ours.adapt(DATA)
    theirs.adapt(DATA)
    assert ours.get_vocabulary() == theirs.get_vocabulary()
    assert ours.vocabulary_size() == theirs.vocabulary_size()
    for query in (QUERY, QUERY[0]):
        np.testing.assert_allclose(ours(query).numpy(), np.asarray(theirs(query)), atol=1e-6)
    assert ours.get_config().keys() == theirs.get_config().keys()


def test_one_hot_matches_keras():
    ours, theirs = (cls(vocabulary=["a", "b"], output_mode="one_hot") for cls in
                    (loom.layers.StringLookup, keras.layers.StringLookup))
    for query in (np.array([["a"], ["z"]]), np.array(["a", "b", "z"])):
        np.testing.assert_allclose(ours(query).numpy(), np.asarray(theirs(query)))


def test_invert_and_mask():
    layer = loom.layers.StringLookup(vocabulary=["x", "y"], invert=True, mask_token="m")
    assert layer(np.array([[0, 1, 2, 3, 7]])).tolist() == [["m", "[UNK]", "x", "y", "[UNK]"]]
    forward = loom.layers.StringLookup(vocabulary=["x", "y"], mask_token="m")
    assert forward(["m", "x", "q"]).tolist() == [0, 2, 1]


def test_vocabulary_file_and_special_tokens(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("[UNK]\ncat\ndog\n", encoding="utf-8")
    layer = loom.layers.StringLookup(vocabulary=str(path))
    assert layer.get_vocabulary() == ["[UNK]", "cat", "dog"]
    assert layer(["dog", "cow"]).tolist() == [2, 0]
    copy = loom.layers.StringLookup.from_config(layer.get_config())
    assert copy.get_vocabulary() == layer.get_vocabulary()


def test_adapt_on_batches_and_bytes():
    layer = loom.layers.StringLookup()
    layer.adapt(iter([np.array([b"a", b"b"]), ["b", "c", "b"]]))
    assert layer.get_vocabulary() == ["[UNK]", "b", "c", "a"]  # ties: the higher term first


def test_adapted_vocabulary_survives_a_config_round_trip():
    layer = loom.layers.StringLookup(output_mode="tf_idf")
    layer.adapt(DATA)
    copy = loom.layers.StringLookup.from_config(layer.get_config())
    np.testing.assert_allclose(copy(QUERY).numpy(), layer(QUERY).numpy())


def test_bad_input(tmp_path):
    with pytest.raises(InputError, match="repeats"):
        loom.layers.StringLookup(vocabulary=["a", "b", "a"])
    dup = tmp_path / "dup.txt"
    dup.write_text("a\nb\na\n")
    with pytest.raises(InputError, match="repeats"):
        loom.layers.StringLookup(vocabulary=str(dup))
    with pytest.raises(InputError, match="does not exist"):
        loom.layers.StringLookup(vocabulary=str(tmp_path / "missing.txt"))
    with pytest.raises(ConfigError, match="output_mode"):
        loom.layers.StringLookup(output_mode="bag")
    with pytest.raises(ConfigError, match="invert"):
        loom.layers.StringLookup(invert=True, output_mode="count")
    with pytest.raises(InputError, match="empty"):
        loom.layers.StringLookup().adapt([])
    with pytest.raises(InputError, match="fixed vocabulary"):
        loom.layers.StringLookup(vocabulary=["a"]).adapt(["a"])
    with pytest.raises(InputError, match="num_oov_indices=0"):
        loom.layers.StringLookup(vocabulary=["a"], num_oov_indices=0)(["a", "b"])
    with pytest.raises(InputError, match="mask token"):
        loom.layers.StringLookup(vocabulary=["a", ""], mask_token="")
    with pytest.raises(ConfigError, match="max_tokens"):
        loom.layers.StringLookup(vocabulary=["a", "b", "c"], max_tokens=3)
    with pytest.raises(InputError, match="strings"):
        loom.layers.StringLookup(vocabulary=["a"])([1, 2])
    # (Hashing is no longer here: Keras hashes numeric model inputs inside the graph, and so does loom)
    for layer in (loom.layers.StringLookup(), loom.layers.TextVectorization()):
        with pytest.raises(InputError, match="symbolic graph"):
            layer(loom.Input((1,)))

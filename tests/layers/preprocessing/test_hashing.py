"""Hashing: FarmHash / salted SipHash bins of strings, ints and floats, masks, output modes; parity with
Keras 3 (which needs TensorFlow for this layer, imported only here)."""

import numpy as np
import pytest

import loom
from loom.errors import ConfigError, InputError
from loom.layers.preprocessing.string_hash import fingerprint64, siphash64
from tests.keras_oracle import keras

tf = pytest.importorskip("tensorflow")

STRINGS = np.array([["A"], ["B"], ["C"], ["D"], ["E"]])
INTS = np.array([[1, 2], [33, -4], [0, 7]])


@pytest.mark.parametrize("kwargs", [
    {"num_bins": 3}, {"num_bins": 5, "mask_value": "A"}, {"num_bins": 4, "salt": 133},
    {"num_bins": 4, "salt": [1, 2], "output_mode": "one_hot"}, {"num_bins": 6, "output_mode": "count"},
    {"num_bins": 6, "output_mode": "multi_hot"}])
def test_strings_match_keras(kwargs):
    for inputs in (STRINGS, STRINGS[:, 0]):
        ours = loom.layers.Hashing(**kwargs)(inputs)
        np.testing.assert_array_equal(ours.numpy(), np.asarray(keras.layers.Hashing(**kwargs)(inputs)))


@pytest.mark.parametrize("kwargs", [{"num_bins": 7}, {"num_bins": 7, "mask_value": 0}, {"num_bins": 3, "salt": 9}])
def test_numbers_match_keras(kwargs):
    for inputs in (INTS, np.array([1.7, -2.2, 3.0], "float32")):
        ours = loom.layers.Hashing(**kwargs)(inputs)
        np.testing.assert_array_equal(ours.numpy(), np.asarray(keras.layers.Hashing(**kwargs)(inputs)))


def test_hashes_match_tensorflow_for_every_length():
    texts = ["".join(chr(97 + (i * 7 + j) % 26) for j in range(n)) for i, n in enumerate(range(0, 150, 3))]
    texts += ["é" * 40, "x" * 1000]
    big = 2 ** 63 - 1
    fast = tf.strings.to_hash_bucket_fast(texts, big).numpy()
    strong = tf.strings.to_hash_bucket_strong(texts, big, key=[3, 2 ** 40 + 5]).numpy()
    assert [fingerprint64(t.encode()) % big for t in texts] == fast.tolist()
    assert [siphash64(t.encode(), (3, 2 ** 40 + 5)) % big for t in texts] == strong.tolist()


def test_config_matches_keras_keys():
    assert sorted(loom.layers.Hashing(3).get_config()) == sorted(keras.layers.Hashing(3).get_config())
    assert loom.layers.Hashing(3, salt=5).get_config()["salt"] == [5, 5]


def test_bad_input():
    with pytest.raises(ConfigError, match="num_bins"):
        loom.layers.Hashing(0)
    with pytest.raises(ConfigError, match="output_mode"):
        loom.layers.Hashing(3, output_mode="tf_idf")
    with pytest.raises(ConfigError, match="dtype"):
        loom.layers.Hashing(3, dtype="float32")
    with pytest.raises(ConfigError, match="salt"):
        loom.layers.Hashing(3, salt="x")
    with pytest.raises(InputError, match="strings or integers"):
        loom.layers.Hashing(3)(np.array([[None]], dtype=object))


@pytest.mark.parametrize("kwargs", [{"num_bins": 16, "salt": 1337}, {"num_bins": 5, "output_mode": "one_hot"},
                                    {"num_bins": 7, "mask_value": 3, "output_mode": "count"}])
def test_hashes_integer_model_inputs_inside_the_graph_as_keras(kwargs):
    data = np.array([[3], [77], [1000], [3]])
    outputs = {}
    for lib in (loom, keras):
        inputs = lib.Input(shape=(1,), dtype="int64")
        hashed = lib.layers.Hashing(**kwargs)(inputs)
        outputs[lib] = (tuple(hashed.shape), str(hashed.dtype), lib.Model(inputs, hashed).predict(data, verbose=0))
    assert outputs[loom][:2] == outputs[keras][:2]
    np.testing.assert_array_equal(outputs[loom][2], outputs[keras][2])

"""HashedCrossing: crossed string/int features hashed like tf.sparse.cross_hashed; parity with Keras 3."""

import numpy as np
import pytest

import loom
from loom.errors import ConfigError, InputError
from tests.keras_oracle import keras

tf = pytest.importorskip("tensorflow")

A = np.array(["A", "B", "A", "B", "A"])
B = np.array([101, 101, 101, 102, 102])


@pytest.mark.parametrize("kwargs", [{"num_bins": 5}, {"num_bins": 1000}, {"num_bins": 4, "output_mode": "one_hot"}])
def test_matches_keras(kwargs):
    for inputs in ([A, B], [A[:, None], B[:, None]], (B, B, A)):
        ours = loom.layers.HashedCrossing(**kwargs)(inputs)
        np.testing.assert_array_equal(ours.numpy(), np.asarray(keras.layers.HashedCrossing(**kwargs)(inputs)))


def test_documented_example():
    assert loom.layers.HashedCrossing(num_bins=5)([A, B]).tolist() == [1, 4, 1, 1, 3]


def test_config_matches_keras_keys():
    ours, theirs = loom.layers.HashedCrossing(3), keras.layers.HashedCrossing(3)
    assert sorted(ours.get_config()) == sorted(theirs.get_config())
    assert loom.layers.HashedCrossing.from_config(ours.get_config()).num_bins == 3


def test_bad_input():
    with pytest.raises(ConfigError, match="output_mode"):
        loom.layers.HashedCrossing(3, output_mode="count")
    with pytest.raises(InputError, match="at least two"):
        loom.layers.HashedCrossing(3)([A])
    with pytest.raises(InputError, match="same shape"):
        loom.layers.HashedCrossing(3)([A, B[:3]])
    with pytest.raises(InputError, match=r"\(batch, 1\)"):
        loom.layers.HashedCrossing(3)([np.zeros((2, 2), int), np.zeros((2, 2), int)])
    with pytest.raises(InputError, match="integers or strings"):
        loom.layers.HashedCrossing(3)([np.zeros(2), np.zeros(2)])


@pytest.mark.parametrize("output_mode", ["int", "one_hot"])
def test_crosses_integer_model_inputs_inside_the_graph_as_keras(output_mode):
    rooms, floors = np.array([[1], [2], [3], [1]]), np.array([[0], [0], [4], [2]])
    outputs = {}
    for lib in (loom, keras):
        a, b = lib.Input(shape=(1,), dtype="int64"), lib.Input(shape=(1,), dtype="int64")
        crossed = lib.layers.HashedCrossing(num_bins=8, output_mode=output_mode)((a, b))
        outputs[lib] = (tuple(crossed.shape), lib.Model([a, b], crossed).predict([rooms, floors], verbose=0))
    assert outputs[loom][0] == outputs[keras][0]
    np.testing.assert_array_equal(outputs[loom][1], outputs[keras][1])

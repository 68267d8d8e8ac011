"""IntegerLookup: adapt, floormod / FarmHash / SipHash OOV buckets, mask, invert; parity with Keras 3."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, InputError
from tests.keras_oracle import keras

tf = pytest.importorskip("tensorflow")

DATA = np.array([[1, 2, 2, 3], [3, 3, 7, 100], [5, 2, 1, 1]])
QUERY = np.array([[1, 9, -4, 2], [100, 3, 55, 0]])


@pytest.mark.parametrize("kwargs", [
    {}, {"mask_token": 0}, {"num_oov_indices": 3}, {"num_oov_indices": 3, "oov_method": "farmhash"},
    {"num_oov_indices": 3, "oov_method": "farmhash", "salt": [1, 2]}, {"output_mode": "multi_hot"},
    {"output_mode": "tf_idf"}, {"max_tokens": 3}])
def test_adapt_and_call_match_keras(kwargs):
    ours, theirs = loom.layers.IntegerLookup(**kwargs), keras.layers.IntegerLookup(**kwargs)
    ours.adapt(DATA)
    theirs.adapt(DATA)
    assert ours.get_vocabulary() == [int(v) for v in theirs.get_vocabulary()]
    for query in (QUERY, torch.as_tensor(QUERY[0])):
        np.testing.assert_allclose(ours(query).numpy(), np.asarray(theirs(np.asarray(query))), atol=1e-6)
    assert ours.get_config().keys() == theirs.get_config().keys()


def test_invert_matches_keras():
    ours = loom.layers.IntegerLookup(vocabulary=[4, 5], invert=True, mask_token=0)
    theirs = keras.layers.IntegerLookup(vocabulary=[4, 5], invert=True, mask_token=0)
    ids = np.array([[0, 1, 2, 3, 7]])
    np.testing.assert_array_equal(ours(ids).numpy(), np.asarray(theirs(ids)))


def test_symbolic_use_in_a_model():
    inputs = loom.Input((3,), dtype="int64")
    outputs = loom.layers.IntegerLookup(vocabulary=[10, 20], output_mode="int")(inputs)
    model = loom.Model(inputs, outputs)
    assert model.predict(np.array([[10, 20, 30]]), verbose=0).tolist() == [[1, 2, 0]]


def test_bad_input():
    with pytest.raises(ConfigError, match="salt"):
        loom.layers.IntegerLookup(salt=3)
    with pytest.raises(ConfigError, match="max_tokens"):
        loom.layers.IntegerLookup(max_tokens=1)
    with pytest.raises(ConfigError, match="num_oov_indices"):
        loom.layers.IntegerLookup(num_oov_indices=-1)
    with pytest.raises(InputError, match="integer"):
        loom.layers.IntegerLookup(vocabulary=[1, 2])(np.array([1.5]))
    with pytest.raises(InputError, match="repeats"):
        loom.layers.IntegerLookup(vocabulary=[1, 2, 1])

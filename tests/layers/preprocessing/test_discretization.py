"""Discretization: fixed boundaries, adapted quantiles and output modes; parity with Keras 3."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, InputError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test


@pytest.mark.parametrize("mode,shape", [("int", (4, 3)), ("one_hot", (4, 3, 4)), ("multi_hot", (4, 4)),
                                        ("count", (4, 4))])
def test_fixed_boundaries_match_keras(mode, shape):
    kwargs = {"bin_boundaries": [-0.5, 0.0, 0.5], "output_mode": mode}
    run_layer_test(loom.layers.Discretization, kwargs, input_shape=(4, 3), expected_output_shape=shape,
                   expected_num_trainable_weights=0, run_training_check=False,
                   keras_cls=keras.layers.Discretization)


@pytest.mark.parametrize("num_bins,epsilon", [(4, 0.01), (7, 0.001), (3, 0.1)])
def test_adapt_matches_keras(num_bins, epsilon):
    data = np.random.default_rng(1).normal(size=(500, 2)).astype("float32")
    ours = loom.layers.Discretization(num_bins=num_bins, epsilon=epsilon)
    theirs = keras.layers.Discretization(num_bins=num_bins, epsilon=epsilon)
    batches = [data[:200], data[200:]]
    ours.adapt(iter(batches))
    theirs.adapt(iter(batches))
    np.testing.assert_allclose(ours.bin_boundaries, theirs.bin_boundaries, rtol=1e-5, atol=1e-5)
    assert ours(data[:5]).dtype == torch.int32


def test_adapted_config_round_trip():
    layer = loom.layers.Discretization(num_bins=3)
    layer.adapt(np.arange(30, dtype="float32"))
    copy = loom.layers.Discretization.from_config(layer.get_config())
    assert copy.bin_boundaries == layer.bin_boundaries
    assert sorted(layer.get_config()) == sorted(keras.layers.Discretization(num_bins=3).get_config())


def test_bad_input():
    with pytest.raises(ConfigError, match="either"):
        loom.layers.Discretization()
    with pytest.raises(ConfigError, match="not both"):
        loom.layers.Discretization(bin_boundaries=[0.0], num_bins=2)
    with pytest.raises(ConfigError, match="output_mode"):
        loom.layers.Discretization(bin_boundaries=[0.0], output_mode="tf_idf")
    with pytest.raises(InputError, match="cannot adapt"):
        loom.layers.Discretization(bin_boundaries=[0.0]).adapt(np.zeros(3))
    with pytest.raises(InputError, match="empty"):
        loom.layers.Discretization(num_bins=2).adapt([])
    with pytest.raises(InputError, match="adapt"):
        loom.layers.Discretization(num_bins=2)(np.zeros((1, 2), "float32"))

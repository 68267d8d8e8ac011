"""Normalization: adapt statistics, fixed mean/variance, invert, axes; parity with Keras 3."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, InputError, ShapeError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test


def _data(shape=(16, 3), seed=0):
    return np.random.default_rng(seed).normal(2.0, 3.0, size=shape).astype("float32")


def test_layer_checks_and_keras_parity():
    run_layer_test(loom.layers.Normalization, {"axis": -1}, input_shape=(2, 3), expected_output_shape=(2, 3),
                   expected_num_trainable_weights=0, expected_num_non_trainable_weights=3,
                   run_training_check=False, keras_cls=keras.layers.Normalization)


@pytest.mark.parametrize("axis", [-1, None, (1, 2), 1])
def test_adapt_matches_keras(axis):
    data = _data((10, 4, 3))
    ours, theirs = loom.layers.Normalization(axis=axis), keras.layers.Normalization(axis=axis)
    ours.adapt(data)
    theirs.adapt(data)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours(data[:2]).numpy(), np.asarray(theirs(data[:2])), rtol=1e-5, atol=1e-5)


def test_adapt_on_batches_equals_whole_array():
    data = _data()
    whole, batched = loom.layers.Normalization(), loom.layers.Normalization()
    whole.adapt(data)
    batched.adapt(iter([data[:5], data[5:11], data[11:]]))
    np.testing.assert_allclose(whole.mean.numpy(), batched.mean.numpy(), rtol=1e-5)
    np.testing.assert_allclose(whole.variance.numpy(), batched.variance.numpy(), rtol=1e-5)


def test_fixed_statistics_and_invert():
    layer = loom.layers.Normalization(mean=[1.0, 2.0], variance=[4.0, 9.0])
    np.testing.assert_allclose(layer(np.array([[3.0, 5.0]], "float32")).numpy(), [[1.0, 1.0]])
    assert layer.get_weights() == []
    inverse = loom.layers.Normalization(mean=[1.0, 2.0], variance=[4.0, 9.0], invert=True)
    np.testing.assert_allclose(inverse(np.array([[1.0, 1.0]], "float32")).numpy(), [[3.0, 5.0]])
    k = keras.layers.Normalization(mean=[1.0, 2.0], variance=[4.0, 9.0], invert=True)
    assert sorted(k.get_config()) == sorted(inverse.get_config())


def test_saved_with_a_model(tmp_path):
    data = _data((8, 3))
    layer = loom.layers.Normalization()
    layer.adapt(data)
    model = loom.Sequential([loom.Input((3,)), layer, loom.layers.Dense(2)])
    path = str(tmp_path / "m.loom")
    model.save(path)
    loaded = loom.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(data, verbose=0), model.predict(data, verbose=0), rtol=1e-6)


def test_bad_input():
    with pytest.raises(ConfigError, match="both"):
        loom.layers.Normalization(mean=1.0)
    with pytest.raises(ConfigError, match="same shape"):
        loom.layers.Normalization(mean=[1.0, 2.0], variance=[1.0])
    with pytest.raises(InputError, match="empty"):
        loom.layers.Normalization().adapt(np.zeros((0, 3), "float32"))
    layer = loom.layers.Normalization()
    layer.adapt(_data((4, 3)))
    with pytest.raises(InputError, match="kept axes"):
        layer.adapt(_data((4, 5)))
    with pytest.raises(InputError, match="fixed"):
        loom.layers.Normalization(mean=0.0, variance=1.0).adapt(_data())


def test_statistics_that_do_not_broadcast_raise_a_shape_error_naming_the_fix():
    """A 1-D column given to adapt() is one sample of many features (Keras leaks torch's error here)."""
    layer = loom.layers.Normalization()
    layer.adapt(np.arange(10, dtype="float32"))
    with pytest.raises(ShapeError, match=r"\(10,\).*column of shape \(n, 1\)"):
        layer(np.arange(3, dtype="float32"))
    column = loom.layers.Normalization()
    column.adapt(np.arange(10, dtype="float32")[:, None])
    assert column(np.arange(3, dtype="float32")[:, None]).shape == (3, 1)

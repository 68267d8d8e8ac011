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


@pytest.mark.parametrize("axis,shape", [(-1, (20, 3)), (None, (20, 3)), ((1, 2), (6, 2, 3)), (1, (6, 2, 3)),
                                        (-1, (6, 2, 3))])
def test_mean_and_variance_have_keras_broadcast_shapes_and_weights_keep_theirs(axis, shape):
    data = _data(shape)
    ours, theirs = loom.layers.Normalization(axis=axis), keras.layers.Normalization(axis=axis)
    assert ours.mean is None and theirs.mean is None  # before build, as Keras
    ours.adapt(data)
    theirs.adapt(data)
    for name in ("mean", "variance"):
        ours_value, theirs_value = getattr(ours, name), keras.ops.convert_to_numpy(getattr(theirs, name))
        assert tuple(ours_value.shape) == theirs_value.shape
        np.testing.assert_allclose(ours_value.numpy(), theirs_value, rtol=1e-5, atol=1e-5)
        adapted, k_adapted = getattr(ours, f"adapt_{name}"), getattr(theirs, f"adapt_{name}")
        assert (adapted.name, tuple(adapted.shape)) == (k_adapted.name, tuple(k_adapted.shape))
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    assert [(w.name, tuple(w.shape)) for w in ours.weights] == [(w.name, tuple(w.shape)) for w in theirs.weights]


def test_fixed_statistics_have_the_broadcast_shape_too():
    ours = loom.layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[1.0, 4.0, 9.0])
    theirs = keras.layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[1.0, 4.0, 9.0])
    ours.build((None, 3))
    theirs.build((None, 3))
    np.testing.assert_array_equal(ours.mean.numpy(), keras.ops.convert_to_numpy(theirs.mean))
    assert tuple(ours.variance.shape) == (1, 3) and ours.get_weights() == theirs.get_weights() == []


@pytest.mark.parametrize("writer", ["loom", "keras"])
def test_adapted_statistics_cross_keras_files_both_ways(writer, tmp_path):
    data = _data((12, 3))
    path = str(tmp_path / "n.keras")
    lib, other = (loom, keras) if writer == "loom" else (keras, loom)
    layer = lib.layers.Normalization()
    layer.adapt(data)
    lib.Sequential([lib.Input((3,)), layer]).save(path)
    loaded = other.models.load_model(path).layers[0]
    assert tuple(loaded.mean.shape) == (1, 3) and [w.shape for w in loaded.get_weights()] == [(3,), (3,), ()]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded.mean), keras.ops.convert_to_numpy(layer.mean),
                               rtol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(data[:2])), keras.ops.convert_to_numpy(layer(data[:2])),
                               rtol=1e-5, atol=1e-6)


def test_set_weights_moves_the_broadcast_statistics():
    layer = loom.layers.Normalization()
    layer.build((None, 2))
    layer.set_weights([np.array([1.0, 2.0], "float32"), np.array([4.0, 1.0], "float32"), np.array(5)])
    np.testing.assert_array_equal(layer.mean.numpy(), [[1.0, 2.0]])
    np.testing.assert_allclose(layer(np.array([[3.0, 3.0]], "float32")).numpy(), [[1.0, 1.0]])

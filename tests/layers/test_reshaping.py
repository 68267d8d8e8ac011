"""Flatten, Reshape, Permute, RepeatVector against Keras 3."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, ShapeError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test


@pytest.mark.parametrize("shape,expected", [((2, 3, 4, 5), (2, 60)), ((2, 3), (2, 3)), ((2,), (2, 1))])
def test_flatten(shape, expected):
    run_layer_test(loom.layers.Flatten, {}, input_shape=shape, expected_output_shape=expected,
                   expected_num_trainable_weights=0, keras_cls=keras.layers.Flatten)


def test_flatten_channels_first_matches_keras():
    run_layer_test(loom.layers.Flatten, {"data_format": "channels_first"}, input_shape=(2, 3, 4, 5),
                   expected_output_shape=(2, 60), keras_cls=keras.layers.Flatten)


def test_flatten_with_unknown_dimension_gives_unknown_size():
    assert loom.layers.Flatten()(loom.Input((None, 8))).shape == (None, None)


def test_flatten_bad_data_format():
    with pytest.raises(ConfigError, match="channels_last"):
        loom.layers.Flatten(data_format="NHWC")


@pytest.mark.parametrize("target,expected", [((6, 2), (2, 6, 2)), ((-1, 3), (2, 4, 3)), ((12,), (2, 12)),
                                             ((2, -1, 2), (2, 2, 3, 2))])
def test_reshape(target, expected):
    run_layer_test(loom.layers.Reshape, {"target_shape": target}, input_shape=(2, 3, 4),
                   expected_output_shape=expected, keras_cls=keras.layers.Reshape)


def test_reshape_with_unknown_input_dimension():
    assert loom.layers.Reshape((-1, 4))(loom.Input((None, 8))).shape == (None, None, 4)


def test_reshape_size_mismatch_names_layer_and_shapes():
    with pytest.raises(ShapeError, match=r"'reshape'.*\(None, 3, 4\).*\(5, 2\)"):
        loom.layers.Reshape((5, 2))(loom.Input((3, 4)))
    with pytest.raises(ShapeError, match=r"\(-1, 5\)"):
        loom.layers.Reshape((-1, 5))(loom.Input((3, 4)))


@pytest.mark.parametrize("target", [(-1, -1), (2, -3), (2.5,), "ab"])
def test_reshape_invalid_target(target):
    with pytest.raises(ConfigError, match="target_shape"):
        loom.layers.Reshape(target)


@pytest.mark.parametrize("dims,expected", [((2, 1), (2, 4, 3)), ((1, 2), (2, 3, 4))])
def test_permute(dims, expected):
    run_layer_test(loom.layers.Permute, {"dims": dims}, input_shape=(2, 3, 4), expected_output_shape=expected,
                   keras_cls=keras.layers.Permute)


def test_permute_3d():
    run_layer_test(loom.layers.Permute, {"dims": (3, 1, 2)}, input_shape=(2, 3, 4, 5),
                   expected_output_shape=(2, 5, 3, 4), keras_cls=keras.layers.Permute)


def test_permute_rejects_bad_dims_and_wrong_rank():
    with pytest.raises(ConfigError, match="permutation"):
        loom.layers.Permute((0, 1))
    with pytest.raises(ShapeError, match="'permute.*rank 3"):
        loom.layers.Permute((2, 1))(loom.Input((3, 4, 5)))


def test_repeat_vector():
    run_layer_test(loom.layers.RepeatVector, {"n": 3}, input_shape=(2, 4), expected_output_shape=(2, 3, 4),
                   keras_cls=keras.layers.RepeatVector)


def test_repeat_vector_output_is_writable_copy():
    y = loom.layers.RepeatVector(2)(torch.zeros(1, 3))
    y[0, 0, 0] = 1.0
    assert y[0, 1, 0] == 0.0


@pytest.mark.parametrize("n", [0, -1, 2.0, True])
def test_repeat_vector_invalid_n(n):
    with pytest.raises(ConfigError, match="n must"):
        loom.layers.RepeatVector(n)


def test_repeat_vector_needs_rank_2():
    with pytest.raises(ShapeError, match="rank 2"):
        loom.layers.RepeatVector(2)(loom.Input((3, 4)))


def test_reshaping_inside_a_model_matches_keras():
    def build(lib):
        inputs = lib.Input((4, 6))
        x = lib.layers.Permute((2, 1))(inputs)
        x = lib.layers.Reshape((-1, 8))(x)
        x = lib.layers.Flatten()(x)
        x = lib.layers.Dense(5)(x)
        x = lib.layers.RepeatVector(2)(x)
        return lib.Model(inputs, x)
    keras_model, model = build(keras), build(loom)
    model.set_weights(keras_model.get_weights())
    x = np.random.default_rng(0).normal(size=(3, 4, 6)).astype("float32")
    assert model.output_shape == (None, 2, 5)
    np.testing.assert_allclose(model(x).detach().numpy(), keras.ops.convert_to_numpy(keras_model(x)), atol=1e-5)

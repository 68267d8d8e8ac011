"""Activation layers against Keras 3: Activation, ReLU, LeakyReLU, Softmax, ELU, PReLU."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, ShapeError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test


@pytest.mark.parametrize("name", ["relu", "gelu", "softmax", "hard_sigmoid", "leaky_relu", "selu"])
def test_activation_layer(name):
    run_layer_test(loom.layers.Activation, {"activation": name}, input_shape=(2, 3, 4),
                   expected_output_shape=(2, 3, 4), expected_num_trainable_weights=0, supports_masking=True,
                   keras_cls=keras.layers.Activation)


@pytest.mark.parametrize("kwargs", [{}, {"max_value": 1.0}, {"negative_slope": 0.3}, {"threshold": 0.5},
                                    {"max_value": 2.0, "negative_slope": 0.1, "threshold": 0.2}])
def test_relu_layer(kwargs):
    run_layer_test(loom.layers.ReLU, kwargs, input_shape=(3, 5), expected_output_shape=(3, 5),
                   expected_num_trainable_weights=0, keras_cls=keras.layers.ReLU)


@pytest.mark.parametrize("kwargs", [{}, {"negative_slope": 0.01}])
def test_leaky_relu_layer(kwargs):
    result = run_layer_test(loom.layers.LeakyReLU, kwargs, input_shape=(3, 5), expected_output_shape=(3, 5),
                            keras_cls=keras.layers.LeakyReLU)
    assert result.layer.negative_slope == kwargs.get("negative_slope", 0.3)


def test_leaky_relu_accepts_keras2_alpha():
    assert loom.layers.LeakyReLU(alpha=0.1).negative_slope == 0.1


@pytest.mark.parametrize("axis", [-1, 1, [1, 2]])
def test_softmax_layer(axis):
    run_layer_test(loom.layers.Softmax, {"axis": axis}, input_shape=(2, 3, 4), expected_output_shape=(2, 3, 4),
                   keras_cls=keras.layers.Softmax)


def test_softmax_with_mask_matches_keras():
    x = np.random.default_rng(0).normal(size=(2, 3, 4)).astype("float32")
    mask = np.array([[True, False, True, True], [False, False, True, True]])[:, None, :]
    expected = keras.ops.convert_to_numpy(keras.layers.Softmax()(x, mask=mask))
    got = loom.layers.Softmax()(x, mask=torch.from_numpy(mask))
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-6)
    assert (got.numpy()[:, :, :2][~np.broadcast_to(mask, x.shape)[:, :, :2]] == 0).all()


def test_softmax_mask_that_does_not_broadcast_is_a_shape_error():
    with pytest.raises(ShapeError, match="mask"):
        loom.layers.Softmax()(torch.zeros(2, 3, 4), mask=torch.ones(2, 3, dtype=torch.bool))


def test_elu_layer():
    result = run_layer_test(loom.layers.ELU, {"alpha": 0.5}, input_shape=(3, 5), expected_output_shape=(3, 5),
                            keras_cls=keras.layers.ELU)
    assert result.layer.get_config()["alpha"] == 0.5


@pytest.mark.parametrize("kwargs,shape,n_alpha", [({}, (2, 4, 3), 12), ({"shared_axes": [1]}, (2, 4, 3), 3),
                                                  ({"alpha_initializer": "ones"}, (2, 5), 5)])
def test_prelu_layer(kwargs, shape, n_alpha):
    result = run_layer_test(loom.layers.PReLU, kwargs, input_shape=shape, expected_output_shape=shape,
                            expected_num_trainable_weights=1, keras_cls=keras.layers.PReLU)
    assert result.layer.count_params() == n_alpha


def test_prelu_parity_with_nonzero_alphas():
    layer, keras_layer = loom.layers.PReLU(shared_axes=[1, 2]), keras.layers.PReLU(shared_axes=[1, 2])
    x = np.random.default_rng(1).normal(size=(2, 4, 4, 3)).astype("float32")
    layer(x), keras_layer(x)
    keras_layer.set_weights([np.array([[[0.1, 0.5, -0.2]]], dtype="float32")])
    layer.set_weights(keras_layer.get_weights())
    np.testing.assert_allclose(layer(x).detach().numpy(), keras.ops.convert_to_numpy(keras_layer(x)), atol=1e-6)


def test_activation_layers_pass_masks_through():
    ids = loom.Input((5,), dtype="int32")
    x = loom.layers.Embedding(10, 4, mask_zero=True)(ids)
    for layer in (loom.layers.Activation("tanh"), loom.layers.ReLU(), loom.layers.LeakyReLU(), loom.layers.ELU()):
        assert layer(x).has_mask


@pytest.mark.parametrize("cls,kwargs", [(loom.layers.ReLU, {"max_value": -1.0}),
                                        (loom.layers.ReLU, {"negative_slope": -0.1}),
                                        (loom.layers.ReLU, {"threshold": None}),
                                        (loom.layers.LeakyReLU, {"negative_slope": -1}),
                                        (loom.layers.Activation, {"activation": "nope"})])
def test_invalid_arguments_raise_config_error(cls, kwargs):
    with pytest.raises(ConfigError):
        cls(**kwargs)

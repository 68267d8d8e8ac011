"""Conv1D/2D/3D and Conv1D/2D/3DTranspose against Keras 3 (same weights, same outputs)."""

import json

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test

CONV_CASES = [
    # (class name, kwargs, input shape)
    ("Conv1D", {"filters": 4, "kernel_size": 3}, (2, 9, 3)),
    ("Conv1D", {"filters": 4, "kernel_size": 4, "strides": 3, "padding": "same"}, (2, 10, 3)),
    ("Conv1D", {"filters": 4, "kernel_size": 3, "padding": "causal", "dilation_rate": 2}, (2, 9, 3)),
    ("Conv1D", {"filters": 4, "kernel_size": 2, "padding": "same", "groups": 2, "activation": "relu"}, (2, 7, 4)),
    ("Conv1D", {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same", "data_format": "channels_first"},
     (2, 3, 8)),
    ("Conv2D", {"filters": 4, "kernel_size": 3}, (2, 7, 8, 3)),
    ("Conv2D", {"filters": 4, "kernel_size": 2, "padding": "same"}, (2, 7, 8, 3)),  # asymmetric pad
    ("Conv2D", {"filters": 4, "kernel_size": (2, 3), "strides": (2, 3), "padding": "same"}, (2, 7, 8, 3)),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same", "use_bias": False}, (2, 8, 7, 3)),
    ("Conv2D", {"filters": 6, "kernel_size": 3, "dilation_rate": (2, 1), "groups": 3, "padding": "same"},
     (2, 7, 6, 6)),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same", "data_format": "channels_first"},
     (2, 3, 8, 7)),
    ("Conv3D", {"filters": 3, "kernel_size": 2, "strides": 2, "padding": "same"}, (2, 5, 4, 3, 2)),
    ("Conv3D", {"filters": 3, "kernel_size": (1, 2, 3), "data_format": "channels_first"}, (2, 2, 4, 4, 5)),
]


def _kernel_count(kwargs):
    return 1 + kwargs.get("use_bias", True)


@pytest.mark.parametrize("name,kwargs,shape", CONV_CASES)
def test_conv_matches_keras(name, kwargs, shape):
    keras_layer = getattr(keras.layers, name)(**kwargs)
    expected = tuple(keras_layer.compute_output_shape(shape))
    run_layer_test(getattr(loom.layers, name), kwargs, input_shape=shape, expected_output_shape=expected,
                   expected_num_trainable_weights=_kernel_count(kwargs), keras_cls=getattr(keras.layers, name))


TRANSPOSE_CASES = [
    ("Conv1DTranspose", {"filters": 3, "kernel_size": 3}, (2, 5, 4)),
    ("Conv1DTranspose", {"filters": 3, "kernel_size": 2, "strides": 3}, (2, 5, 4)),  # zero-extended output
    ("Conv1DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 5, 4)),
    ("Conv1DTranspose", {"filters": 3, "kernel_size": 4, "strides": 2, "padding": "same", "output_padding": 1},
     (2, 5, 4)),
    ("Conv1DTranspose", {"filters": 3, "kernel_size": 3, "dilation_rate": 2, "data_format": "channels_first"},
     (2, 4, 5)),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 4, 5, 2)),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": (2, 3), "strides": (3, 2), "output_padding": (1, 0)},
     (2, 4, 5, 2)),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": 3, "dilation_rate": 2, "padding": "same",
                         "activation": "tanh"}, (2, 4, 5, 2)),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2, "data_format": "channels_first"},
     (2, 2, 4, 5)),
    ("Conv3DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 3, 2, 3, 2)),
]


@pytest.mark.parametrize("name,kwargs,shape", TRANSPOSE_CASES)
def test_conv_transpose_matches_keras(name, kwargs, shape):
    keras_layer = getattr(keras.layers, name)(**kwargs)
    expected = tuple(keras_layer.compute_output_shape(shape))
    run_layer_test(getattr(loom.layers, name), kwargs, input_shape=shape, expected_output_shape=expected,
                   expected_num_trainable_weights=2, keras_cls=getattr(keras.layers, name))


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("kernel,stride", [(1, 1), (2, 1), (3, 2), (4, 2), (2, 3), (5, 3)])
def test_conv1d_transpose_all_crop_cases_match_keras(padding, kernel, stride):
    """Every way Keras's output size relates to torch's (symmetric, one-sided, zero-extended)."""
    x = np.random.default_rng(kernel * 10 + stride).standard_normal((1, 4, 2)).astype("float32")
    for output_padding in [None] + list(range(stride)):
        kwargs = {"filters": 2, "kernel_size": kernel, "strides": stride, "padding": padding,
                  "output_padding": output_padding}
        ref = keras.layers.Conv1DTranspose(**kwargs)
        want = keras.ops.convert_to_numpy(ref(x))
        layer = loom.layers.Conv1DTranspose(**kwargs)
        layer(x)
        layer.set_weights(ref.get_weights())
        np.testing.assert_allclose(layer(x).detach().numpy(), want, atol=1e-5, err_msg=str(kwargs))


@pytest.mark.parametrize("layer,shape,expected", [
    (lambda: loom.layers.Conv1D(5, 3), (None, 8), (None, None, 5)),
    (lambda: loom.layers.Conv1D(5, 3, strides=2, padding="same"), (None, 8), (None, None, 5)),
    (lambda: loom.layers.Conv1D(5, 3, padding="causal"), (12, 8), (None, 12, 5)),
    (lambda: loom.layers.Conv2D(5, 3, padding="same"), (None, None, 3), (None, None, None, 5)),
    (lambda: loom.layers.Conv2D(5, 3, strides=2), (None, 9, 3), (None, None, 4, 5)),
    (lambda: loom.layers.Conv2DTranspose(5, 3, strides=2, padding="same"), (None, 4, 3), (None, None, 8, 5)),
    (lambda: loom.layers.Conv3D(2, 3, data_format="channels_first"), (3, None, 6, 6), (None, 2, None, 4, 4)),
])
def test_shape_inference_with_unknown_dimensions(layer, shape, expected):
    assert layer()(loom.Input(shape)).shape == expected


def test_config_has_every_keras_key_and_round_trips():
    for name, kwargs in [("Conv2D", {"filters": 4, "kernel_size": 3, "groups": 2}),
                         ("Conv1D", {"filters": 4, "kernel_size": 3, "padding": "causal"}),
                         ("Conv2DTranspose", {"filters": 4, "kernel_size": 3, "output_padding": 1, "strides": 2}),
                         ("Conv3DTranspose", {"filters": 4, "kernel_size": 3})]:
        ours = getattr(loom.layers, name)(**kwargs).get_config()
        theirs = getattr(keras.layers, name)(**kwargs).get_config()
        assert set(theirs) <= set(ours), set(theirs) - set(ours)
        for key in ("kernel_size", "strides", "padding", "data_format", "dilation_rate", "output_padding"):
            if key in theirs:
                assert ours[key] == theirs[key], key
        clone = getattr(loom.layers, name).from_config(json.loads(json.dumps(ours)))
        assert json.loads(json.dumps(clone.get_config())) == json.loads(json.dumps(ours))


def test_conv2d_transpose_positional_arguments_follow_keras():
    assert loom.layers.Conv2DTranspose(4, 3, 2, "same", 1).output_padding == (1, 1)
    assert loom.layers.Conv3DTranspose(4, 3, 2, "same", "channels_first").data_format == "channels_first"


def test_conv_transpose_argument_errors():
    with pytest.raises(ConfigError, match="output_padding"):
        loom.layers.Conv2DTranspose(4, 3, strides=2, output_padding=2)
    with pytest.raises(ConfigError, match="groups"):
        loom.layers.Conv2DTranspose(4, 3, groups=2)
    with pytest.raises(ConfigError, match="padding"):
        loom.layers.Conv1DTranspose(4, 3, padding="causal")


def test_regularizers_constraints_and_activity_penalty():
    layer = loom.layers.Conv2D(3, 2, kernel_regularizer=loom.regularizers.L2(0.1),
                               activity_regularizer=loom.regularizers.L1(0.01),
                               kernel_constraint=loom.constraints.MaxNorm(0.5, axis=[0, 1, 2]))
    x = torch.randn(4, 5, 5, 2)
    y = layer(x)
    kernel = layer.get_weights()[0]
    penalties = layer.losses
    assert len(penalties) == 2
    np.testing.assert_allclose(float(penalties[0].detach()), 0.1 * (kernel ** 2).sum(), rtol=1e-5)
    np.testing.assert_allclose(float(penalties[1].detach()), 0.01 * y.abs().sum().item() / 4, rtol=1e-5)
    with torch.no_grad():
        layer.kernel.mul_(100.0)
    loom.constraints.apply_constraints(layer)
    norms = np.sqrt((layer.get_weights()[0] ** 2).sum(axis=(0, 1, 2)))  # per filter, Keras layout
    assert (norms <= 0.5 + 1e-5).all()
    assert layer.get_config()["kernel_constraint"]["class_name"] == "MaxNorm"


def test_conv_in_a_model_trains_like_keras_for_one_forward_backward():
    inputs = loom.Input((8, 8, 1))
    x = loom.layers.Conv2D(4, 3, activation="relu", padding="same")(inputs)
    x = loom.layers.Conv2D(2, 3, strides=2)(x)
    model = loom.Model(inputs, x)
    k_inputs = keras.Input((8, 8, 1))
    k = keras.layers.Conv2D(4, 3, activation="relu", padding="same")(k_inputs)
    k = keras.layers.Conv2D(2, 3, strides=2)(k)
    k_model = keras.Model(k_inputs, k)
    model.set_weights(k_model.get_weights())
    data = np.random.default_rng(0).standard_normal((3, 8, 8, 1)).astype("float32")
    np.testing.assert_allclose(model(data).detach().numpy(), keras.ops.convert_to_numpy(k_model(data)), atol=1e-5)
    assert [layer.name for layer in model.layers] == ["input_layer", "conv2d", "conv2d_1"]

"""DepthwiseConv1D/2D and SeparableConv1D/2D against Keras 3 (same weights, same outputs)."""

import json

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test

DEPTHWISE_CASES = [
    ("DepthwiseConv1D", {"kernel_size": 3}, (2, 9, 3)),
    ("DepthwiseConv1D", {"kernel_size": 4, "strides": 2, "padding": "same", "depth_multiplier": 2}, (2, 9, 3)),
    ("DepthwiseConv1D", {"kernel_size": 2, "padding": "same", "dilation_rate": 2, "data_format": "channels_first"},
     (2, 3, 7)),
    ("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2}, (2, 7, 6, 3)),
    ("DepthwiseConv2D", {"kernel_size": 2, "padding": "same", "strides": 2, "activation": "relu"}, (2, 7, 6, 3)),
    ("DepthwiseConv2D", {"kernel_size": 3, "padding": "same", "dilation_rate": 2, "use_bias": False}, (2, 7, 6, 3)),
    ("DepthwiseConv2D", {"kernel_size": (3, 2), "depth_multiplier": 3, "data_format": "channels_first"},
     (2, 3, 7, 6)),
]

SEPARABLE_CASES = [
    ("SeparableConv1D", {"filters": 5, "kernel_size": 3}, (2, 9, 3)),
    ("SeparableConv1D", {"filters": 5, "kernel_size": 2, "padding": "same", "depth_multiplier": 2,
                         "dilation_rate": 2}, (2, 9, 3)),
    ("SeparableConv1D", {"filters": 5, "kernel_size": 3, "strides": 2, "padding": "same",
                         "data_format": "channels_first", "use_bias": False}, (2, 3, 8)),
    ("SeparableConv2D", {"filters": 5, "kernel_size": 3, "padding": "same"}, (2, 7, 6, 3)),
    ("SeparableConv2D", {"filters": 5, "kernel_size": 3, "strides": 2, "padding": "same", "depth_multiplier": 2,
                         "activation": "relu"}, (2, 7, 6, 3)),
    ("SeparableConv2D", {"filters": 4, "kernel_size": 2, "depth_multiplier": 2, "data_format": "channels_first"},
     (2, 3, 7, 6)),
]


@pytest.mark.parametrize("name,kwargs,shape", DEPTHWISE_CASES + SEPARABLE_CASES)
def test_matches_keras(name, kwargs, shape):
    keras_layer = getattr(keras.layers, name)(**kwargs)
    expected = tuple(keras_layer.compute_output_shape(shape))
    kernels = 2 if name.startswith("Separable") else 1
    run_layer_test(getattr(loom.layers, name), kwargs, input_shape=shape, expected_output_shape=expected,
                   expected_num_trainable_weights=kernels + kwargs.get("use_bias", True),
                   keras_cls=getattr(keras.layers, name))


def test_weight_shapes_and_order_are_keras():
    sep = loom.layers.SeparableConv2D(7, (3, 2), depth_multiplier=2)
    sep(torch.zeros(1, 6, 6, 4))
    assert [w.shape for w in sep.get_weights()] == [(3, 2, 4, 2), (1, 1, 8, 7), (7,)]
    dw = loom.layers.DepthwiseConv1D(3, depth_multiplier=3)
    dw(torch.zeros(1, 6, 4))
    assert [w.shape for w in dw.get_weights()] == [(3, 4, 3), (12,)]


def test_depthwise_output_channel_order_is_channel_major():
    """Output channel c * depth_multiplier + m comes from input channel c and multiplier m, as Keras."""
    layer = loom.layers.DepthwiseConv2D(1, depth_multiplier=2, use_bias=False)
    layer(torch.zeros(1, 1, 1, 3))
    kernel = np.zeros((1, 1, 3, 2), "float32")
    kernel[0, 0, :, 0] = 1.0
    kernel[0, 0, :, 1] = 10.0
    layer.set_weights([kernel])
    out = layer(torch.tensor([[[[1.0, 2.0, 3.0]]]])).flatten().tolist()
    assert out == [1.0, 10.0, 2.0, 20.0, 3.0, 30.0]


@pytest.mark.parametrize("layer,shape,expected", [
    (lambda: loom.layers.DepthwiseConv1D(3, depth_multiplier=2), (None, 8), (None, None, 16)),
    (lambda: loom.layers.SeparableConv1D(5, 3, strides=2, padding="same"), (None, 8), (None, None, 5)),
    (lambda: loom.layers.SeparableConv2D(5, 3), (None, None, 3), (None, None, None, 5)),
    (lambda: loom.layers.DepthwiseConv2D(3, data_format="channels_first"), (3, None, 9), (None, 3, None, 7)),
])
def test_shape_inference_with_unknown_dimensions(layer, shape, expected):
    assert layer()(loom.Input(shape)).shape == expected


def test_config_has_every_keras_key_and_round_trips():
    for name, kwargs in [("SeparableConv2D", {"filters": 4, "kernel_size": 3, "depth_multiplier": 2}),
                         ("DepthwiseConv1D", {"kernel_size": 3, "depth_multiplier": 2, "padding": "same"})]:
        ours = getattr(loom.layers, name)(**kwargs).get_config()
        theirs = getattr(keras.layers, name)(**kwargs).get_config()
        assert set(theirs) <= set(ours), set(theirs) - set(ours)
        clone = getattr(loom.layers, name).from_config(json.loads(json.dumps(ours)))
        assert json.loads(json.dumps(clone.get_config())) == json.loads(json.dumps(ours))


def test_argument_errors():
    with pytest.raises(ConfigError, match="depth_multiplier"):
        loom.layers.DepthwiseConv2D(3, depth_multiplier=0)
    with pytest.raises(ConfigError, match="filters"):
        loom.layers.SeparableConv2D(0, 3)
    with pytest.raises(ConfigError, match="padding"):
        loom.layers.SeparableConv1D(4, 3, padding="causal")


def test_regularizers_and_constraints_reach_each_kernel():
    layer = loom.layers.SeparableConv2D(3, 2, depthwise_regularizer=loom.regularizers.L2(1.0),
                                        pointwise_regularizer=loom.regularizers.L1(1.0),
                                        pointwise_constraint=loom.constraints.NonNeg())
    layer(torch.randn(1, 4, 4, 2))
    depthwise, pointwise, _ = layer.get_weights()
    penalties = [float(p.detach()) for p in layer.losses]
    np.testing.assert_allclose(penalties, [(depthwise ** 2).sum(), np.abs(pointwise).sum()], rtol=1e-5)
    loom.constraints.apply_constraints(layer)
    assert (layer.get_weights()[1] >= 0).all()

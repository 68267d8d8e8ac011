"""UpSampling1D/2D, ZeroPadding1D/2D and Cropping1D/2D against Keras 3."""

import json

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, ShapeError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test

CASES = [
    ("UpSampling1D", {}, (2, 4, 3)),
    ("UpSampling1D", {"size": 3}, (2, 4, 3)),
    ("UpSampling2D", {}, (2, 3, 4, 2)),
    ("UpSampling2D", {"size": (2, 3), "data_format": "channels_first"}, (2, 2, 3, 4)),
    ("UpSampling2D", {"size": (3, 2), "interpolation": "bilinear"}, (2, 3, 4, 2)),
    ("UpSampling2D", {"size": 2, "interpolation": "bilinear", "data_format": "channels_first"}, (2, 2, 3, 4)),
    ("UpSampling2D", {"size": 2, "interpolation": "bicubic"}, (2, 3, 4, 2)),
    ("ZeroPadding1D", {}, (2, 4, 3)),
    ("ZeroPadding1D", {"padding": (0, 2)}, (2, 4, 3)),
    ("ZeroPadding1D", {"padding": (2, 1), "data_format": "channels_first"}, (2, 3, 4)),
    ("ZeroPadding2D", {}, (2, 3, 4, 2)),
    ("ZeroPadding2D", {"padding": (2, 0)}, (2, 3, 4, 2)),
    ("ZeroPadding2D", {"padding": ((1, 2), (3, 0)), "data_format": "channels_first"}, (2, 2, 3, 4)),
    ("Cropping1D", {}, (2, 5, 3)),
    ("Cropping1D", {"cropping": (0, 2)}, (2, 5, 3)),
    ("Cropping2D", {"cropping": 1}, (2, 5, 6, 2)),
    ("Cropping2D", {"cropping": ((1, 0), (2, 3))}, (2, 5, 6, 2)),
    ("Cropping2D", {"cropping": (1, 2), "data_format": "channels_first"}, (2, 2, 5, 6)),
]


@pytest.mark.parametrize("name,kwargs,shape", CASES)
def test_matches_keras(name, kwargs, shape):
    expected = tuple(getattr(keras.layers, name)(**kwargs).compute_output_shape(shape))
    run_layer_test(getattr(loom.layers, name), kwargs, input_shape=shape, expected_output_shape=expected,
                   expected_num_trainable_weights=0, keras_cls=getattr(keras.layers, name))


def test_upsampling_nearest_repeats_and_backpropagates_sums():
    x = torch.tensor([[[[1.0], [2.0]], [[3.0], [4.0]]]], requires_grad=True)  # (1, 2, 2, 1)
    y = loom.layers.UpSampling2D((1, 2))(x)
    assert y[0, :, :, 0].tolist() == [[1.0, 1.0, 2.0, 2.0], [3.0, 3.0, 4.0, 4.0]]
    y.sum().backward()
    assert x.grad.flatten().tolist() == [2.0, 2.0, 2.0, 2.0]


@pytest.mark.parametrize("layer,shape,expected", [
    (lambda: loom.layers.UpSampling1D(3), (None, 8), (None, None, 8)),
    (lambda: loom.layers.UpSampling2D(interpolation="bilinear"), (None, 5, 3), (None, None, 10, 3)),
    (lambda: loom.layers.ZeroPadding2D(((1, 2), (0, 0))), (None, None, 3), (None, None, None, 3)),
    (lambda: loom.layers.ZeroPadding1D(2), (5, 3), (None, 9, 3)),
    (lambda: loom.layers.Cropping1D(1), (None, 4), (None, None, 4)),
    (lambda: loom.layers.Cropping2D(((1, 1), (2, 0))), (6, None, 3), (None, 4, None, 3)),
])
def test_shape_inference_with_unknown_dimensions(layer, shape, expected):
    assert layer()(loom.Input(shape)).shape == expected


def test_configs_match_keras_values():
    for name, kwargs in [("UpSampling2D", {"size": 3, "interpolation": "bilinear"}),
                         ("ZeroPadding2D", {"padding": (1, 2)}), ("ZeroPadding1D", {"padding": 2}),
                         ("Cropping2D", {"cropping": 2}), ("Cropping1D", {"cropping": (1, 0)}),
                         ("UpSampling1D", {"size": 3})]:
        ours = getattr(loom.layers, name)(**kwargs).get_config()
        theirs = getattr(keras.layers, name)(**kwargs).get_config()
        assert set(theirs) <= set(ours)
        for key in set(theirs) - {"name", "dtype", "trainable"}:
            assert json.dumps(ours[key]) == json.dumps(theirs[key]), (name, key)


def test_errors():
    with pytest.raises(ConfigError, match="size"):
        loom.layers.UpSampling1D(0)
    with pytest.raises(ConfigError, match="interpolation"):
        loom.layers.UpSampling2D(interpolation="lanczos3")
    with pytest.raises(ConfigError, match="padding"):
        loom.layers.ZeroPadding2D(((1, 2, 3), (0, 0)))
    with pytest.raises(ConfigError, match="cropping"):
        loom.layers.Cropping1D(-1)
    with pytest.raises(ShapeError, match=r"cropping.*\(1, 3, 2\)"):
        loom.layers.Cropping1D((2, 1))(torch.zeros(1, 3, 2))
    with pytest.raises(ShapeError, match="cropping"):
        loom.layers.Cropping2D(3)(loom.Input((6, 5, 2)))
    with pytest.raises(ShapeError, match="rank 4"):
        loom.layers.ZeroPadding2D()(torch.zeros(1, 3, 2))

"""Rescaling, Resizing, CenterCrop: value-equal to Keras (run through the shared layer test)."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, ShapeError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test
from tests.layers.preprocessing.image.parity import assert_config_matches_keras, images


@pytest.mark.parametrize("kwargs", [{"scale": 1 / 255}, {"scale": 2.0, "offset": -1.0},
                                    {"scale": [1.0, 2.0, 3.0], "offset": [0.0, 1.0, 0.5]}])
def test_rescaling(kwargs):
    run_layer_test(loom.layers.Rescaling, kwargs, input_shape=(2, 4, 4, 3), expected_output_shape=(2, 4, 4, 3),
                   keras_cls=keras.layers.Rescaling, run_training_check=False)


@pytest.mark.parametrize("kwargs", [
    {"height": 4, "width": 5},
    {"height": 6, "width": 3, "interpolation": "nearest"},
    {"height": 4, "width": 4, "interpolation": "bicubic", "crop_to_aspect_ratio": True},
    {"height": 5, "width": 4, "pad_to_aspect_ratio": True, "fill_value": 2.0},
    {"height": 4, "width": 3, "antialias": True},
])
def test_resizing(kwargs):
    out_shape = (2, kwargs["height"], kwargs["width"], 3)
    run_layer_test(loom.layers.Resizing, kwargs, input_data=images((2, 7, 9, 3)), expected_output_shape=out_shape,
                   keras_cls=keras.layers.Resizing, run_training_check=False, atol=1e-3)
    assert_config_matches_keras("Resizing", kwargs)


@pytest.mark.parametrize("size", [(4, 5), (7, 3), (9, 12)])
def test_center_crop(size):
    run_layer_test(loom.layers.CenterCrop, {"height": size[0], "width": size[1]}, input_data=images((2, 7, 9, 3)),
                   expected_output_shape=(2, *size, 3), keras_cls=keras.layers.CenterCrop, run_training_check=False,
                   atol=1e-3)


def test_area_interpolation_averages():  # Keras's torch backend has no 'area'; loom follows TensorFlow's
    y = loom.layers.Resizing(1, 1, interpolation="area")(torch.arange(4.0).reshape(1, 2, 2, 1))
    assert y.flatten().tolist() == [1.5]


def test_channels_first_and_unbatched():
    x = images((2, 3, 7, 9))
    layer = loom.layers.Resizing(4, 5, data_format="channels_first")
    expected = keras.ops.convert_to_numpy(keras.layers.Resizing(4, 5, data_format="channels_first")(x))
    np.testing.assert_allclose(layer(torch.from_numpy(x)).numpy(), expected, atol=1e-3)
    assert loom.layers.CenterCrop(3, 3)(torch.from_numpy(images((7, 9, 3)))).shape == (3, 3, 3)


def test_bad_arguments():
    with pytest.raises(ConfigError):
        loom.layers.Resizing(4, 4, interpolation="cubic")
    with pytest.raises(ConfigError):
        loom.layers.Resizing(4, 4, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
    with pytest.raises(ConfigError):
        loom.layers.CenterCrop(-1, 4)
    with pytest.raises(ConfigError):
        loom.layers.Rescaling("half")
    with pytest.raises(ShapeError):
        loom.layers.Resizing(2, 2)(torch.zeros(2, 3, 4, 5, 6))

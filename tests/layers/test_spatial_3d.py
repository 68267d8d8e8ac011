"""UpSampling3D, ZeroPadding3D, Cropping3D against Keras 3, both data formats, bad input."""

import pytest

import loom
from loom.errors import ConfigError, ShapeError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test

VOL = (2, 3, 4, 5, 2)


@pytest.mark.parametrize("cls,init,expected", [
    ("UpSampling3D", {}, (2, 6, 8, 10, 2)),
    ("UpSampling3D", {"size": (1, 2, 3)}, (2, 3, 8, 15, 2)),
    ("ZeroPadding3D", {}, (2, 5, 6, 7, 2)),
    ("ZeroPadding3D", {"padding": (1, 0, 2)}, (2, 5, 4, 9, 2)),
    ("ZeroPadding3D", {"padding": ((1, 0), (0, 2), (3, 1))}, (2, 4, 6, 9, 2)),
    ("Cropping3D", {}, (2, 1, 2, 3, 2)),
    ("Cropping3D", {"cropping": ((1, 0), (0, 2), (1, 1))}, (2, 2, 2, 3, 2)),
])
def test_layer_checks_and_keras_parity(cls, init, expected):
    run_layer_test(getattr(loom.layers, cls), init, input_shape=VOL, expected_output_shape=expected,
                   expected_num_trainable_weights=0, keras_cls=getattr(keras.layers, cls))


@pytest.mark.parametrize("cls,expected", [("UpSampling3D", (2, 3, 8, 10, 4)), ("ZeroPadding3D", (2, 3, 6, 7, 4)),
                                          ("Cropping3D", (2, 3, 2, 3, 0))])
def test_channels_first(cls, expected):
    if cls == "Cropping3D":
        expected = (2, 3, 2, 3, 2)
        shape = (2, 3, 4, 5, 4)
    else:
        shape = (2, 3, 4, 5, 2)
    run_layer_test(getattr(loom.layers, cls), {"data_format": "channels_first"}, input_shape=shape,
                   expected_output_shape=expected, keras_cls=getattr(keras.layers, cls))


def test_bad_input():
    with pytest.raises(ConfigError, match="tuple of 3"):
        loom.layers.ZeroPadding3D((1, 2))
    with pytest.raises(ConfigError, match="size"):
        loom.layers.UpSampling3D(0)
    with pytest.raises(ShapeError, match="must leave at least one element"):
        import torch
        loom.layers.Cropping3D(2)(torch.ones(1, 4, 4, 4, 1))
    with pytest.raises(ShapeError):
        loom.layers.UpSampling3D()(loom.Input((4, 4, 1)))

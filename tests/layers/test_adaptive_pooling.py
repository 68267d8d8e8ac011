"""Adaptive average and max pooling (1D/2D/3D) against Keras 3, both data formats, bad input."""

import pytest

import loom
from loom.errors import ConfigError, ShapeError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test

CASES = [("1D", (2, 7, 3), 3, (2, 3, 3)), ("2D", (2, 7, 5, 3), (3, 2), (2, 3, 2, 3)),
         ("3D", (2, 5, 4, 7, 2), (2, 3, 3), (2, 2, 3, 3, 2))]


@pytest.mark.parametrize("kind", ["Average", "Max"])
@pytest.mark.parametrize("rank,shape,size,expected", CASES)
def test_layer_checks_and_keras_parity(kind, rank, shape, size, expected):
    name = f"Adaptive{kind}Pooling{rank}"
    run_layer_test(getattr(loom.layers, name), {"output_size": size}, input_shape=shape,
                   expected_output_shape=expected, expected_num_trainable_weights=0,
                   keras_cls=getattr(keras.layers, name))


@pytest.mark.parametrize("kind", ["Average", "Max"])
def test_channels_first(kind):
    name = f"Adaptive{kind}Pooling2D"
    run_layer_test(getattr(loom.layers, name), {"output_size": 2, "data_format": "channels_first"},
                   input_shape=(2, 3, 5, 7), expected_output_shape=(2, 3, 2, 2), keras_cls=getattr(keras.layers, name))


def test_bad_input():
    with pytest.raises(ConfigError, match="output_size"):
        loom.layers.AdaptiveAveragePooling2D((2, 2, 2))
    with pytest.raises(ConfigError, match="data_format"):
        loom.layers.AdaptiveMaxPooling1D(2, data_format="nhwc")
    with pytest.raises(ShapeError):
        loom.layers.AdaptiveMaxPooling2D(2)(loom.Input((4, 3)))


def test_eager_input_of_the_wrong_rank_is_refused():
    import torch
    with pytest.raises(ShapeError, match="rank 4.*\\(1, 3, 3\\)"):
        loom.layers.AdaptiveAveragePooling2D(2)(torch.ones(1, 3, 3))

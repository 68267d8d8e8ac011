"""UnitNormalization against Keras 3: one and several axes, zeros, masks, bad axes."""

import pytest
import torch

import loom
from loom.errors import ConfigError, ShapeError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test


@pytest.mark.parametrize("axis,shape", [(-1, (2, 5)), ([1, 2], (2, 3, 4)), (1, (2, 3, 4))])
def test_layer_checks_and_keras_parity(axis, shape):
    run_layer_test(loom.layers.UnitNormalization, {"axis": axis}, input_shape=shape, expected_output_shape=shape,
                   expected_num_trainable_weights=0, keras_cls=keras.layers.UnitNormalization, supports_masking=True)


def test_zero_vectors_stay_zero():
    assert loom.layers.UnitNormalization()(torch.zeros(1, 3)).tolist() == [[0.0, 0.0, 0.0]]


def test_bad_axes():
    with pytest.raises(ConfigError, match="axis must be an int or a list of ints"):
        loom.layers.UnitNormalization(axis="last")
    with pytest.raises(ShapeError, match="out of range"):
        loom.layers.UnitNormalization(axis=3)(loom.Input((4,)))

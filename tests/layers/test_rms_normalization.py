"""RMSNormalization against Keras 3: weights, outputs, gradients, config after build, bad input."""

import pytest
import torch

import loom
from loom.errors import ConfigError, ShapeError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test


@pytest.mark.parametrize("init,shape,weight", [({}, (2, 3, 5), (5,)), ({"axis": [-2, -1], "epsilon": 1e-3},
                                                                       (2, 3, 5), (3, 5))])
def test_layer_checks_and_keras_parity(init, shape, weight):
    result = run_layer_test(loom.layers.RMSNormalization, init, input_shape=shape, expected_output_shape=shape,
                            expected_num_trainable_weights=1, keras_cls=keras.layers.RMSNormalization)
    assert result.layer.get_weights()[0].shape == weight
    assert result.layer.get_config()["axis"] == result.keras_layer.get_config()["axis"]


def test_a_non_trailing_axis():
    layer = loom.layers.RMSNormalization(axis=1)
    x = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        layer(x)
        layer.scale.copy_(torch.tensor([1.0, 2.0, 3.0]))
    expected = x * torch.rsqrt(x.square().mean(1, keepdim=True) + 1e-6) * torch.tensor([1.0, 2.0, 3.0]).view(1, 3, 1)
    torch.testing.assert_close(layer(x), expected)


def test_bad_input():
    with pytest.raises(ConfigError, match="epsilon"):
        loom.layers.RMSNormalization(epsilon=-1)
    with pytest.raises(ShapeError, match="out of range"):
        loom.layers.RMSNormalization(axis=0)(loom.Input((4,)))

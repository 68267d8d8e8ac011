import pytest
import torch

from loom.applications import convnext
from loom.applications.convnext import LayerScale, StochasticDepth
from loom.errors import ConfigError


def test_layer_scale_and_stochastic_depth():
    layer = LayerScale(0.1, 4)
    assert layer.get_config()["projection_dim"] == 4
    torch.testing.assert_close(layer(torch.ones(2, 4)), torch.full((2, 4), 0.1))
    assert len(layer.get_weights()) == 1
    with pytest.raises(ConfigError, match="projection_dim is 4"):
        LayerScale(0.1, 4)(torch.ones(2, 3))
    drop = StochasticDepth(0.5)
    x = torch.ones(64, 3)
    assert drop(x) is x
    out = drop(x, training=True)
    assert set(out.unique().tolist()) <= {0.0, 2.0} and (out[:, 0:1] == out).all()
    with pytest.raises(ConfigError, match="drop_path_rate"):
        StochasticDepth(1.0)


def test_imagenet_name_must_match_the_variant():
    with pytest.raises(ConfigError, match="convnext_tiny"):
        convnext.ConvNeXtTiny(name="mine")

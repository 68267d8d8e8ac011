import pytest
import torch

from loom.applications import inception_resnet_v2
from loom.applications.inception_resnet_v2 import CustomScaleLayer
from loom.errors import ConfigError


def test_custom_scale_layer_config_and_errors():
    layer = CustomScaleLayer(0.17, name="s")
    assert layer.get_config()["scale"] == 0.17
    out = layer([torch.ones(1, 2), torch.ones(1, 2)])
    torch.testing.assert_close(out, torch.full((1, 2), 1.17))
    with pytest.raises(ConfigError, match="list of two tensors"):
        layer(torch.ones(1, 2))
    with pytest.raises(ConfigError, match="block_type"):
        inception_resnet_v2.inception_resnet_block(None, 0.1, "block99", 1)

import pytest
import torch

from loom.applications import nasnet
from loom.errors import ConfigError


def test_mobile_without_top_defaults_to_224_and_static_shapes_for_imagenet():
    with torch.device("meta"):  # shapes only
        assert nasnet.NASNetMobile(weights=None, include_top=False).input_shape == (None, 224, 224, 3)
    with pytest.raises(ConfigError, match="static"):
        nasnet.NASNetLarge(include_top=False, input_shape=(None, None, 3))

import numpy as np
import pytest

from loom.applications import vgg
from loom.errors import ConfigError


def test_layer_names_and_pooling():
    model = vgg.VGG19(weights=None, include_top=False, input_shape=(32, 32, 3), pooling="max")
    assert model.output_shape == (None, 512)
    assert [l.name for l in model.layers][1:4] == ["block1_conv1", "block1_conv2", "block1_pool"]
    top = vgg.VGG16(weights=None, input_shape=(32, 32, 3), classes=3)
    assert [l.name for l in top.layers][-4:] == ["flatten", "fc1", "fc2", "predictions"]


def test_top_needs_a_fixed_input_size():
    with pytest.raises(ConfigError, match="fully known"):
        vgg.VGG16(weights=None, input_shape=(None, None, 3))
    assert np.isfinite(vgg.VGG16(weights=None, include_top=False)(np.zeros((1, 32, 32, 3), "float32"))
                       .detach().numpy()).all()

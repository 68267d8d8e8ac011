import pytest
import torch

from loom.applications import inception_resnet_v2
from loom.applications.inception_resnet_v2 import CustomScaleLayer
from loom.errors import ConfigError
from tests.applications.helpers import assert_loads_keras_weights_file, assert_preprocess_input_is_keras
from tests.keras_oracle import keras


def test_parameter_counts_are_keras(meta_count):
    assert meta_count(inception_resnet_v2.InceptionResNetV2) == 55_873_736
    assert meta_count(inception_resnet_v2.InceptionResNetV2, include_top=False) == 54_336_736


@pytest.mark.slow
def test_loads_a_keras_weights_file(tmp_path):
    assert_loads_keras_weights_file(inception_resnet_v2, "InceptionResNetV2", tmp_path, 75, classes=5)


def test_preprocess_input_is_tf_mode_as_keras():
    assert_preprocess_input_is_keras(inception_resnet_v2, keras.applications.inception_resnet_v2)


def test_custom_scale_layer_config_and_errors():
    layer = CustomScaleLayer(0.17, name="s")
    assert layer.get_config()["scale"] == 0.17
    out = layer([torch.ones(1, 2), torch.ones(1, 2)])
    torch.testing.assert_close(out, torch.full((1, 2), 1.17))
    with pytest.raises(ConfigError, match="list of two tensors"):
        layer(torch.ones(1, 2))
    with pytest.raises(ConfigError, match="block_type"):
        inception_resnet_v2.inception_resnet_block(None, 0.1, "block99", 1)

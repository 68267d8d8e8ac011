import numpy as np
import pytest

from loom.applications import vgg, vgg16, vgg19
from loom.errors import ConfigError
from tests.applications.helpers import assert_loads_keras_weights_file, assert_preprocess_input_is_keras
from tests.keras_oracle import keras


def test_parameter_counts_are_keras(meta_count):
    assert meta_count(vgg16.VGG16) == 138_357_544
    assert meta_count(vgg19.VGG19) == 143_667_240
    assert meta_count(vgg.VGG16, include_top=False) == 14_714_688


def test_layer_names_and_pooling():
    model = vgg.VGG19(weights=None, include_top=False, input_shape=(32, 32, 3), pooling="max")
    assert model.output_shape == (None, 512)
    assert [l.name for l in model.layers][1:4] == ["block1_conv1", "block1_conv2", "block1_pool"]
    top = vgg.VGG16(weights=None, input_shape=(32, 32, 3), classes=3)
    assert [l.name for l in top.layers][-4:] == ["flatten", "fc1", "fc2", "predictions"]


@pytest.mark.slow
def test_loads_a_keras_weights_file(tmp_path):
    assert_loads_keras_weights_file(vgg16, "VGG16", tmp_path, 32, classes=5)


def test_preprocess_input_is_caffe_mode_as_keras():
    assert_preprocess_input_is_keras(vgg16, keras.applications.vgg16)
    assert_preprocess_input_is_keras(vgg19, keras.applications.vgg19)


def test_top_needs_a_fixed_input_size():
    with pytest.raises(ConfigError, match="fully known"):
        vgg.VGG16(weights=None, input_shape=(None, None, 3))
    assert np.isfinite(vgg.VGG16(weights=None, include_top=False)(np.zeros((1, 32, 32, 3), "float32"))
                       .detach().numpy()).all()

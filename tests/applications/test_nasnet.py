import functools

import pytest
import torch

from loom.applications import nasnet
from loom.errors import ConfigError
from tests.applications.helpers import assert_loads_keras_weights_file, assert_preprocess_input_is_keras
from tests.keras_oracle import keras


def test_parameter_counts_are_keras(meta_count):
    assert meta_count(nasnet.NASNetMobile) == 5_326_716
    assert meta_count(nasnet.NASNetMobile, include_top=False, pooling="avg") == 5_326_716 - 1057 * 1000


@pytest.mark.slow
def test_large_parameter_count_is_keras(meta_count):
    assert meta_count(nasnet.NASNetLarge) == 88_949_818


@pytest.mark.slow
def test_mobile_loads_a_keras_weights_file(tmp_path):
    # Keras refuses NASNetMobile on torch; its generic NASNet builds the same network.
    from keras.src.applications.nasnet import NASNet
    mobile = functools.partial(NASNet, penultimate_filters=1056, num_blocks=4, stem_block_filters=32,
                               skip_reduction=False, filter_multiplier=2, default_size=224, name="nasnet_mobile")
    assert_loads_keras_weights_file(nasnet, "NASNetMobile", tmp_path, 32, classes=5,
                                    keras_fn=lambda input_shape, **kw: mobile(input_shape, **kw))


def test_preprocess_input_is_tf_mode_as_keras():
    assert_preprocess_input_is_keras(nasnet, keras.applications.nasnet)


def test_mobile_without_top_defaults_to_224_and_static_shapes_for_imagenet():
    with torch.device("meta"):  # shapes only
        assert nasnet.NASNetMobile(weights=None, include_top=False).input_shape == (None, 224, 224, 3)
    with pytest.raises(ConfigError, match="static"):
        nasnet.NASNetLarge(include_top=False, input_shape=(None, None, 3))

import pytest

import loom
from loom import layers
from loom.applications import mobilenet_v2
from loom.applications.keras_weights import PretrainedFileNotFoundError
from loom.errors import ConfigError


def test_names_are_keras():
    model = mobilenet_v2.MobileNetV2(weights=None, include_top=False, input_shape=(96, 96, 3), pooling="avg")
    assert model.name == "mobilenetv2_1.00_96"
    assert model.output_shape == (None, 1280)


def test_input_tensor_sets_the_native_size_and_the_name():
    inputs = loom.Input((128, 128, 3))
    model = mobilenet_v2.MobileNetV2(weights=None, input_tensor=layers.Activation("linear")(inputs))
    assert model.name == "mobilenetv2_1.00_128" and model.inputs[0] is inputs  # as Keras
    base = mobilenet_v2.MobileNetV2(weights=None, include_top=False, input_tensor=inputs)
    assert base.name == "mobilenetv2_1.00_None"  # Keras's name too: without the top the shape stays free


def test_imagenet_argument_errors(empty_keras_cache):
    with pytest.raises(ConfigError, match="alpha must be one of"):
        mobilenet_v2.MobileNetV2(alpha=0.6)
    with pytest.raises(PretrainedFileNotFoundError, match="mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.3_224.h5"):
        mobilenet_v2.MobileNetV2(alpha=1.3)

import pytest

import loom
from loom import layers
from loom.applications import mobilenet_v2
from loom.applications.keras_weights import PretrainedFileNotFoundError
from loom.errors import ConfigError
from tests.applications.helpers import assert_loads_keras_weights_file, assert_preprocess_input_is_keras
from tests.keras_oracle import keras


def test_parameter_counts_and_names_are_keras(meta_count):
    assert meta_count(mobilenet_v2.MobileNetV2) == 3_538_984
    assert meta_count(mobilenet_v2.MobileNetV2, alpha=1.4) == 6_156_712
    assert meta_count(mobilenet_v2.MobileNetV2, alpha=0.35, include_top=False) == 410_208
    model = mobilenet_v2.MobileNetV2(weights=None, include_top=False, input_shape=(96, 96, 3), pooling="avg")
    assert model.name == "mobilenetv2_1.00_96"
    assert model.output_shape == (None, 1280)


def test_loads_a_keras_weights_file(tmp_path):
    assert_loads_keras_weights_file(mobilenet_v2, "MobileNetV2", tmp_path, 32, alpha=0.5, classes=5)


def test_preprocess_input_is_tf_mode_as_keras():
    assert_preprocess_input_is_keras(mobilenet_v2, keras.applications.mobilenet_v2)


def test_input_tensor_sets_the_native_size_and_the_name():
    inputs = loom.Input((128, 128, 3))
    model = mobilenet_v2.MobileNetV2(weights=None, input_tensor=layers.Activation("linear")(inputs))
    assert model.name == "mobilenetv2_1.00_128" and model.inputs[0] is inputs  # as Keras
    base = mobilenet_v2.MobileNetV2(weights=None, include_top=False, input_tensor=inputs)
    assert base.name == "mobilenetv2_1.00_None"  # Keras's name too: without the top the shape stays free


def test_imagenet_argument_errors(tmp_path, monkeypatch):
    from loom.applications import keras_weights
    monkeypatch.setattr(keras_weights, "keras_cache_dirs", lambda: [str(tmp_path)])
    with pytest.raises(ConfigError, match="alpha must be one of"):
        mobilenet_v2.MobileNetV2(alpha=0.6)
    with pytest.raises(PretrainedFileNotFoundError, match="mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.3_224.h5"):
        mobilenet_v2.MobileNetV2(alpha=1.3)

import numpy as np
import pytest

from loom.applications import mobilenet_v3
from loom.applications.keras_weights import PretrainedFileNotFoundError
from loom.errors import ConfigError
from tests.applications.helpers import assert_loads_keras_weights_file, needs_preprocessing_layers


def test_parameter_counts_are_keras(meta_count):
    kwargs = {"include_preprocessing": False}
    assert meta_count(mobilenet_v3.MobileNetV3Small, **kwargs) == 2_554_968
    assert meta_count(mobilenet_v3.MobileNetV3Large, **kwargs) == 5_507_432
    assert meta_count(mobilenet_v3.MobileNetV3Large, minimalistic=True, alpha=0.75, include_top=False,
                      **kwargs) == 865_520


def test_loads_a_keras_weights_file(tmp_path):
    assert_loads_keras_weights_file(mobilenet_v3, "MobileNetV3Small", tmp_path, 32, classes=5,
                                    include_preprocessing=False)


@pytest.mark.slow
def test_large_minimalistic_loads_a_keras_weights_file(tmp_path):
    assert_loads_keras_weights_file(mobilenet_v3, "MobileNetV3Large", tmp_path, 48, include_top=False,
                                    minimalistic=True, alpha=1.25, pooling="avg", include_preprocessing=False)


@needs_preprocessing_layers
def test_with_preprocessing_loads_a_keras_weights_file(tmp_path):
    assert_loads_keras_weights_file(mobilenet_v3, "MobileNetV3Small", tmp_path, 32, include_top=False)


def test_free_input_size_even_with_the_top():
    model = mobilenet_v3.MobileNetV3Small(weights=None, include_preprocessing=False, classes=3)
    assert model.input_shape == (None, None, None, 3)
    assert model(np.zeros((1, 40, 56, 3), "float32")).shape == (1, 3)


def test_preprocess_input_is_the_identity():
    x = np.arange(6.0).reshape(1, 1, 2, 3)
    assert mobilenet_v3.preprocess_input(x) is x


def test_argument_errors(tmp_path, monkeypatch):
    from loom.applications import keras_weights
    monkeypatch.setattr(keras_weights, "keras_cache_dirs", lambda: [str(tmp_path)])
    with pytest.raises(ConfigError, match="at least 32x32"):
        mobilenet_v3.MobileNetV3Small(weights=None, input_shape=(16, 16, 3))
    with pytest.raises(ConfigError, match="alpha must be 0.75 or 1.0"):
        mobilenet_v3.MobileNetV3Large(minimalistic=True, alpha=0.75)
    with pytest.raises(PretrainedFileNotFoundError, match="weights_mobilenet_v3_small_224_0.75_float_no_top_v2.h5"):
        mobilenet_v3.MobileNetV3Small(alpha=0.75, include_top=False, input_shape=(224, 224, 3))

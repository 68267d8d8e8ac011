import numpy as np
import pytest

from loom.applications import mobilenet_v3
from loom.applications.keras_weights import PretrainedFileNotFoundError
from loom.errors import ConfigError


def test_free_input_size_even_with_the_top():
    model = mobilenet_v3.MobileNetV3Small(weights=None, include_preprocessing=False, classes=3)
    assert model.input_shape == (None, None, None, 3)
    assert model(np.zeros((1, 40, 56, 3), "float32")).shape == (1, 3)


def test_argument_errors(empty_keras_cache):
    with pytest.raises(ConfigError, match="at least 32x32"):
        mobilenet_v3.MobileNetV3Small(weights=None, input_shape=(16, 16, 3))
    with pytest.raises(ConfigError, match="alpha must be 0.75 or 1.0"):
        mobilenet_v3.MobileNetV3Large(minimalistic=True, alpha=0.75)
    with pytest.raises(PretrainedFileNotFoundError, match="weights_mobilenet_v3_small_224_0.75_float_no_top_v2.h5"):
        mobilenet_v3.MobileNetV3Small(alpha=0.75, include_top=False, input_shape=(224, 224, 3))

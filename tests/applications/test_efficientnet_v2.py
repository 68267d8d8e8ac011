import numpy as np
import pytest
import torch

from loom.applications import efficientnet_v2
from tests.applications.helpers import assert_loads_keras_weights_file, needs_preprocessing_layers


def test_parameter_counts_are_keras(meta_count):
    kwargs = {"include_preprocessing": False}
    assert meta_count(efficientnet_v2.EfficientNetV2B0, **kwargs) == 7_200_312
    assert meta_count(efficientnet_v2.EfficientNetV2B1, include_top=False, **kwargs) == 8_212_124 - 1281 * 1000


@pytest.mark.slow
@pytest.mark.parametrize("name,count", [("B2", 10_178_374), ("B3", 14_467_622), ("S", 21_612_360),
                                        ("M", 54_431_388), ("L", 119_027_848)])
def test_larger_parameter_counts_are_keras(meta_count, name, count):
    assert meta_count(getattr(efficientnet_v2, f"EfficientNetV2{name}"), include_preprocessing=False) == count


@pytest.mark.slow
def test_loads_a_keras_weights_file(tmp_path):
    assert_loads_keras_weights_file(efficientnet_v2, "EfficientNetV2B0", tmp_path, 32, classes=5,
                                    include_preprocessing=False)


@needs_preprocessing_layers
@pytest.mark.slow
def test_with_preprocessing_loads_a_keras_weights_file(tmp_path):
    assert_loads_keras_weights_file(efficientnet_v2, "EfficientNetV2S", tmp_path, 32, include_top=False)


def test_names_and_identity_preprocessing():
    with torch.device("meta"):  # shapes only
        model = efficientnet_v2.EfficientNetV2B0(weights=None, include_preprocessing=False, include_top=False,
                                                 input_shape=(32, 32, 3), pooling="max")
    assert model.name == "efficientnetv2-b0"
    assert model.layers[-1].name == "max_pool"
    x = np.ones((1, 2, 2, 3))
    assert efficientnet_v2.preprocess_input(x) is x

import numpy as np
import pytest
import torch

from loom.applications import efficientnet
from tests.applications.helpers import assert_loads_keras_weights_file, needs_preprocessing_layers

pytestmark = needs_preprocessing_layers  # the models start with Rescaling and Normalization


def test_parameter_counts_are_keras(meta_count):
    assert meta_count(efficientnet.EfficientNetB0) == 5_330_571
    assert meta_count(efficientnet.EfficientNetB1, include_top=False) == 7_856_239 - 1281 * 1000


@pytest.mark.slow
@pytest.mark.parametrize("variant,count", [(2, 9_177_569), (3, 12_320_535), (4, 19_466_823), (5, 30_562_527),
                                           (6, 43_265_143), (7, 66_658_687)])
def test_larger_parameter_counts_are_keras(meta_count, variant, count):
    assert meta_count(getattr(efficientnet, f"EfficientNetB{variant}")) == count


@pytest.mark.slow
def test_loads_a_keras_weights_file(tmp_path):
    assert_loads_keras_weights_file(efficientnet, "EfficientNetB0", tmp_path, 32, classes=5)


def test_native_sizes_and_identity_preprocessing():
    with torch.device("meta"):  # shapes only
        assert efficientnet.EfficientNetB3(weights=None).input_shape == (None, 300, 300, 3)
    x = np.ones((1, 2, 2, 3))
    assert efficientnet.preprocess_input(x) is x

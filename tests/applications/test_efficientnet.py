import torch

from loom.applications import efficientnet
from tests.applications.helpers import needs_preprocessing_layers

pytestmark = needs_preprocessing_layers  # the models start with Rescaling and Normalization


def test_native_sizes():
    with torch.device("meta"):  # shapes only
        assert efficientnet.EfficientNetB3(weights=None).input_shape == (None, 300, 300, 3)

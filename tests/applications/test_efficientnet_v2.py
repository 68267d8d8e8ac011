import torch

from loom.applications import efficientnet_v2


def test_names():
    with torch.device("meta"):  # shapes only
        model = efficientnet_v2.EfficientNetV2B0(weights=None, include_preprocessing=False, include_top=False,
                                                 input_shape=(32, 32, 3), pooling="max")
    assert model.name == "efficientnetv2-b0"
    assert model.layers[-1].name == "max_pool"

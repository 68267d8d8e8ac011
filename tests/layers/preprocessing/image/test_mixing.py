"""MixUp, CutMix, RandomErasing, RandomGaussianBlur, MaxNumBoundingBoxes: Keras's transformation replayed."""

import copy

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, InputError
from tests.keras_oracle import keras
from tests.layers.preprocessing.image.parity import (_plain, assert_config_matches_keras,
                                                     assert_identity_at_inference, assert_transform_matches_keras,
                                                     images)

CASES = [("CutMix", {"factor": 0.8}), ("MixUp", {"alpha": 0.4}), ("RandomErasing", {}),
         ("RandomErasing", {"fill_value": 3.0, "factor": 0.7}), ("RandomGaussianBlur", {"kernel_size": 5, "sigma": 0.8}),
         ("RandomGaussianBlur", {"kernel_size": 5, "factor": (0.5, 1.0), "sigma": (0.2, 0.6)})]


@pytest.mark.parametrize("name,kwargs", CASES)
def test_transform_matches_keras(name, kwargs):
    assert_transform_matches_keras(name, kwargs, images())
    assert_config_matches_keras(name, kwargs)
    assert_identity_at_inference(name, kwargs, images())


@pytest.mark.parametrize("name", ["CutMix", "MixUp"])
def test_labels_are_mixed_like_keras(name):
    x, labels = images((4, 6, 6, 3)), np.eye(4, dtype="float32")
    k_layer = getattr(keras.layers, name)(seed=1)
    transformation = _plain(k_layer.get_random_transformation(x, training=True))
    expected = keras.ops.convert_to_numpy(k_layer.transform_labels(labels, copy.deepcopy(transformation)))
    got = getattr(loom.layers, name)().transform_labels(torch.from_numpy(labels), transformation)
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-6)


@pytest.mark.parametrize("name", ["CutMix", "MixUp"])
def test_dict_input_keeps_label_sums_and_is_reproducible(name):
    data = {"images": torch.from_numpy(images((6, 8, 8, 3))), "labels": torch.eye(6)}
    out = getattr(loom.layers, name)(seed=4)(dict(data), training=True)
    assert torch.allclose(out["labels"].sum(-1), torch.ones(6))
    again = getattr(loom.layers, name)(seed=4)(dict(data), training=True)
    assert torch.equal(out["images"], again["images"])


def test_max_num_bounding_boxes_pads_and_truncates():
    layer = loom.layers.MaxNumBoundingBoxes(2, fill_value=-2)
    boxes = {"boxes": torch.arange(12.0).reshape(1, 3, 4), "labels": torch.tensor([[1, 2, 3]])}
    out = layer({"images": torch.zeros(1, 4, 4, 3), "bounding_boxes": boxes})
    assert out["bounding_boxes"]["boxes"].shape == (1, 2, 4) and out["bounding_boxes"]["labels"].tolist() == [[1, 2]]
    short = layer({"images": torch.zeros(4, 4, 3), "bounding_boxes": {"boxes": torch.ones(1, 4),
                                                                      "labels": torch.tensor([5])}})
    assert short["bounding_boxes"]["labels"].tolist() == [5, -2]
    assert_config_matches_keras("MaxNumBoundingBoxes", {"max_number": 3})
    with pytest.raises(InputError):
        layer({"images": torch.zeros(1, 4, 4, 3), "bounding_boxes": {"boxes": torch.ones(1, 3)}})


@pytest.mark.parametrize("make", [
    lambda: loom.layers.MixUp(alpha=0),
    lambda: loom.layers.CutMix(factor=2.0),
    lambda: loom.layers.RandomErasing(fill_value=(1, 2)),
    lambda: loom.layers.RandomGaussianBlur(kernel_size=4),
    lambda: loom.layers.MaxNumBoundingBoxes(0),
])
def test_bad_arguments(make):
    with pytest.raises(ConfigError):
        make()

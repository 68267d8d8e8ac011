"""RandomFlip and RandomCrop: Keras's drawn transformation replayed in loom gives Keras's pixels."""

import pytest
import torch

import loom
from loom.errors import ConfigError
from tests.layers.preprocessing.image.parity import (assert_config_matches_keras, assert_identity_at_inference,
                                                     assert_transform_matches_keras, images)

CASES = [("RandomFlip", {"mode": "horizontal"}), ("RandomFlip", {"mode": "vertical"}), ("RandomFlip", {}),
         ("RandomCrop", {"height": 4, "width": 5, "seed": 3}), ("RandomCrop", {"height": 7, "width": 12, "seed": 1})]


@pytest.mark.parametrize("name,kwargs", CASES)
def test_transform_matches_keras(name, kwargs):
    assert_transform_matches_keras(name, kwargs, images())
    assert_config_matches_keras(name, kwargs)


def test_flip_identity_at_inference():
    assert_identity_at_inference("RandomFlip", {}, images())


def test_flip_is_an_exact_mirror_and_reproducible():
    x = torch.from_numpy(images((16, 5, 6, 3)))
    y = loom.layers.RandomFlip("horizontal", seed=7)(x, training=True)
    flipped = [bool((y[i] == x[i].flip(1)).all()) for i in range(16)]
    kept = [bool((y[i] == x[i]).all()) for i in range(16)]
    assert all(f or k for f, k in zip(flipped, kept)) and any(flipped) and any(kept)
    again = loom.layers.RandomFlip("horizontal", seed=7)(x, training=True)
    assert torch.equal(y, again)


def test_random_crop_inference_crops_the_centre_to_the_output_size():
    x = torch.from_numpy(images((2, 8, 10, 3)))
    layer = loom.layers.RandomCrop(4, 5, seed=0)
    assert layer(x).shape == (2, 4, 5, 3)
    assert layer(x, training=True).shape == (2, 4, 5, 3)
    model = loom.Sequential([loom.Input((8, 10, 3)), layer, loom.layers.Flatten()])
    assert model.output_shape == (None, 60)


def test_segmentation_masks_follow_the_flip():
    x = torch.from_numpy(images((4, 5, 6, 3)))
    masks = (x[..., :1] > 128).to(torch.float32)
    out = loom.layers.RandomFlip(seed=2)({"images": x, "segmentation_masks": masks}, training=True)
    assert torch.equal(out["segmentation_masks"], (out["images"][..., :1] > 128).to(torch.float32))


def test_flip_bounding_boxes_xyxy():
    layer = loom.layers.RandomFlip("horizontal", bounding_box_format="xyxy", seed=0)
    x = torch.zeros(1, 4, 10, 3)
    boxes = {"boxes": torch.tensor([[[1.0, 0.0, 3.0, 2.0]]]), "labels": torch.tensor([[1]])}
    transformation = {"flips": torch.tensor([True]).reshape(1, 1, 1, 1), "input_shape": (1, 4, 10, 3)}
    out = layer.transform_bounding_boxes(boxes, transformation)
    assert out["boxes"].tolist() == [[[7.0, 0.0, 9.0, 2.0]]]
    with pytest.raises(ConfigError, match="bounding boxes"):
        loom.layers.RandomRotation(0.1)({"images": x, "bounding_boxes": boxes}, training=True)


@pytest.mark.parametrize("make", [lambda: loom.layers.RandomFlip("diagonal"), lambda: loom.layers.RandomCrop(0, 3),
                                  lambda: loom.layers.RandomCrop(3, 3, seed=1.5)])
def test_bad_arguments_raise_config_errors(make):
    with pytest.raises(ConfigError):
        make()

"""Flip, crop and the warps: Keras's drawn transformation replayed in loom gives Keras's pixels."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, ShapeError
from tests.layers.preprocessing.image.parity import (assert_config_matches_keras, assert_identity_at_inference,
                                                     assert_transform_matches_keras, images)

CASES = {
    "RandomFlip": [{"mode": "horizontal"}, {"mode": "vertical"}, {}],
    "RandomRotation": [{"factor": 0.2, "fill_mode": m} for m in ("reflect", "wrap", "constant", "nearest")]
    + [{"factor": (-0.3, 0.1), "interpolation": "nearest", "fill_mode": "constant", "fill_value": 7.0}],
    "RandomZoom": [{"height_factor": 0.3}, {"height_factor": (-0.4, 0.2), "width_factor": 0.5, "fill_mode": "wrap"}],
    "RandomTranslation": [{"height_factor": 0.2, "width_factor": (-0.3, 0.1), "fill_mode": m}
                          for m in ("reflect", "nearest")],
    "RandomShear": [{"x_factor": 0.3, "y_factor": 0.2}, {"x_factor": (0.1, 0.5), "fill_mode": "constant"}],
    "RandomPerspective": [{"scale": 0.4}, {"factor": 0.5, "scale": 0.2, "interpolation": "nearest"}],
    "RandomCrop": [{"height": 4, "width": 5, "seed": 3}],
}
PARAMS = [(name, kw) for name, kws in CASES.items() for kw in kws]


@pytest.mark.parametrize("name,kwargs", PARAMS)
def test_transform_matches_keras(name, kwargs):
    assert_transform_matches_keras(name, kwargs, images())


@pytest.mark.parametrize("name,kwargs", [(n, k[0]) for n, k in CASES.items()] +
                         [("RandomElasticTransform", {})])
def test_config_matches_keras(name, kwargs):
    # RandomShear writes its factors as given: Keras 3.15 writes (-f, f), which its constructor refuses
    assert_config_matches_keras(name, kwargs, ("x_factor", "y_factor") if name == "RandomShear" else ())


@pytest.mark.parametrize("name,kwargs", [(n, k[0]) for n, k in CASES.items() if n != "RandomCrop"] +
                         [("RandomElasticTransform", {})])
def test_identity_at_inference(name, kwargs):
    assert_identity_at_inference(name, kwargs, images())


def test_flip_is_an_exact_mirror_and_reproducible():
    x = torch.from_numpy(images((16, 5, 6, 3)))
    y = loom.layers.RandomFlip("horizontal", seed=7)(x, training=True)
    flipped = [bool((y[i] == x[i].flip(1)).all()) for i in range(16)]
    kept = [bool((y[i] == x[i]).all()) for i in range(16)]
    assert all(f or k for f, k in zip(flipped, kept)) and any(flipped) and any(kept)
    again = loom.layers.RandomFlip("horizontal", seed=7)(x, training=True)
    assert torch.equal(y, again)


def test_rotation_by_the_drawn_angle():
    layer = loom.layers.RandomRotation((0.25, 0.25), fill_mode="constant", interpolation="nearest")
    x = torch.arange(9.0).reshape(1, 3, 3, 1)
    y = layer(x, training=True)
    assert torch.equal(y[0, ..., 0], torch.rot90(x[0, ..., 0], k=1))  # a quarter turn counter-clockwise


def test_unbatched_input_and_channels_first():
    x = images((2, 3, 6, 6), seed=1)
    layer = loom.layers.RandomTranslation(0.2, 0.2, data_format="channels_first", seed=0)
    assert layer(torch.from_numpy(x), training=True).shape == (2, 3, 6, 6)
    assert layer(torch.from_numpy(x[0]), training=True).shape == (3, 6, 6)


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


def test_elastic_transform_keeps_range_and_shape():
    x = torch.from_numpy(images((2, 16, 16, 3)))
    y = loom.layers.RandomElasticTransform(factor=(1.0, 1.0), scale=(0.5, 1.0), seed=0)(x, training=True)
    assert y.shape == x.shape and float(y.min()) >= 0 and float(y.max()) <= 255
    assert not torch.equal(y, x)


@pytest.mark.parametrize("make", [
    lambda: loom.layers.RandomRotation(1.5),
    lambda: loom.layers.RandomRotation(0.1, fill_mode="mirror"),
    lambda: loom.layers.RandomZoom(-1.0),
    lambda: loom.layers.RandomZoom(0.1, interpolation="bicubic"),
    lambda: loom.layers.RandomTranslation((0.1, 0.2, 0.3), 0.1),
    lambda: loom.layers.RandomShear(x_factor=-0.2),
    lambda: loom.layers.RandomPerspective(scale=2.0),
    lambda: loom.layers.RandomFlip("diagonal"),
    lambda: loom.layers.RandomCrop(0, 3),
    lambda: loom.layers.RandomElasticTransform(scale=1.5),
])
def test_bad_arguments_raise_config_errors(make):
    with pytest.raises(ConfigError):
        make()


def test_wrong_rank_raises_shape_error():
    with pytest.raises(ShapeError, match="rank 3"):
        loom.layers.RandomFlip()(torch.zeros(4, 4), training=True)

"""The warps (rotation, zoom, translation, shear, perspective, elastic): Keras's drawn transformation replayed in loom gives Keras's pixels."""

import pytest
import torch

import loom
from loom.errors import ConfigError, ShapeError
from tests.layers.preprocessing.image.parity import (assert_config_matches_keras, assert_identity_at_inference,
                                                     assert_transform_matches_keras, images)

CASES = {
    "RandomRotation": [{"factor": 0.2, "fill_mode": m} for m in ("reflect", "wrap", "constant", "nearest")]
    + [{"factor": (-0.3, 0.1), "interpolation": "nearest", "fill_mode": "constant", "fill_value": 7.0}],
    "RandomZoom": [{"height_factor": 0.3}, {"height_factor": (-0.4, 0.2), "width_factor": 0.5, "fill_mode": "wrap"}],
    "RandomTranslation": [{"height_factor": 0.2, "width_factor": (-0.3, 0.1), "fill_mode": m}
                          for m in ("reflect", "nearest")],
    "RandomShear": [{"x_factor": 0.3, "y_factor": 0.2}, {"x_factor": (0.1, 0.5), "fill_mode": "constant"}],
    "RandomPerspective": [{"scale": 0.4}, {"factor": 0.5, "scale": 0.2, "interpolation": "nearest"}],
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


@pytest.mark.parametrize("name,kwargs", [(n, k[0]) for n, k in CASES.items()] +
                         [("RandomElasticTransform", {})])
def test_identity_at_inference(name, kwargs):
    assert_identity_at_inference(name, kwargs, images())


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
    lambda: loom.layers.RandomElasticTransform(scale=1.5),
])
def test_bad_arguments_raise_config_errors(make):
    with pytest.raises(ConfigError):
        make()


def test_wrong_rank_raises_shape_error():
    with pytest.raises(ShapeError, match="rank 3"):
        loom.layers.RandomRotation(0.1)(torch.zeros(4, 4), training=True)

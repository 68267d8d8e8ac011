"""Colour layers: Keras's drawn transformation replayed in loom gives Keras's pixels; invariants elsewhere."""

import pytest
import torch

import loom
from loom.errors import ConfigError
from tests.layers.preprocessing.image.parity import (assert_config_matches_keras, assert_identity_at_inference,
                                                     assert_transform_matches_keras, images)

CASES = {
    "RandomContrast": [{"factor": 0.4}, {"factor": (0.1, 0.9), "value_range": (0, 1)}],
    "RandomBrightness": [{"factor": 0.3}, {"factor": (-0.5, 0.2), "value_range": (-1, 1)}],
    "RandomColorDegeneration": [{"factor": 0.5}],
    "RandomGrayscale": [{"factor": 0.5}],
    "RandomHue": [{"factor": 0.5}],
    "RandomSaturation": [{"factor": 0.6}, {"factor": (0.2, 0.4)}],
    "RandomInvert": [{"factor": 0.5}],
    "RandomPosterization": [{"factor": (2, 6)}, {"factor": 4}],
    "RandomSharpness": [{"factor": 0.7}],
    "Solarization": [{"addition_factor": 0.3, "threshold_factor": (0.2, 0.8)}, {"threshold_factor": 0.5}],
}
PARAMS = [(name, kw) for name, kws in CASES.items() for kw in kws]


@pytest.mark.parametrize("name,kwargs", PARAMS)
def test_transform_matches_keras(name, kwargs):
    value_range = kwargs.get("value_range", (0, 255))
    x = images(scale=value_range[1] - value_range[0]) + value_range[0]
    assert_transform_matches_keras(name, kwargs, x.astype("float32"), atol=1e-3)


@pytest.mark.parametrize("name,kwargs", [(n, k[0]) for n, k in CASES.items()] +
                         [("RandomColorJitter", {"brightness_factor": 0.2, "hue_factor": 0.1})])
def test_config_matches_keras(name, kwargs):
    assert_config_matches_keras(name, kwargs)


@pytest.mark.parametrize("name,kwargs", [(n, k[0]) for n, k in CASES.items()] +
                         [("RandomColorJitter", {"contrast_factor": 0.2})])
def test_identity_at_inference(name, kwargs):
    assert_identity_at_inference(name, kwargs, images())


def test_color_jitter_stays_in_range_and_is_reproducible():
    x = torch.from_numpy(images((4, 6, 6, 3)))
    kwargs = dict(brightness_factor=0.3, contrast_factor=0.4, saturation_factor=(0.3, 0.7), hue_factor=0.2, seed=5)
    y = loom.layers.RandomColorJitter(**kwargs)(x, training=True)
    assert y.shape == x.shape and float(y.min()) >= 0 and float(y.max()) <= 255.001
    assert torch.equal(y, loom.layers.RandomColorJitter(**kwargs)(x, training=True))
    assert not torch.equal(y, x)


def test_seeded_layers_repeat_and_successive_calls_differ():
    x = torch.from_numpy(images())
    a, b = loom.layers.RandomContrast(0.5, seed=1), loom.layers.RandomContrast(0.5, seed=1)
    first = a(x, training=True)
    assert torch.equal(first, b(x, training=True))
    assert not torch.equal(first, a(x, training=True))


@pytest.mark.parametrize("make", [
    lambda: loom.layers.RandomContrast(1.5),
    lambda: loom.layers.RandomBrightness(0.2, value_range=(0, 1, 2)),
    lambda: loom.layers.RandomGrayscale(2.0),
    lambda: loom.layers.RandomPosterization(9),
    lambda: loom.layers.Solarization(addition_factor=1.5),
    lambda: loom.layers.RandomHue("a lot"),
])
def test_bad_arguments_raise_config_errors(make):
    with pytest.raises(ConfigError):
        make()


@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
def test_color_jitter_contrast_keeps_channel_means_in_either_data_format(data_format):
    # Contrast scales around each channel's mean; inside the jitter it must use the jitter's data_format.
    torch.manual_seed(0)
    x = 100 + 50 * torch.rand(2, 3, 8, 8)  # far from the value range's bounds: no clipping
    axes = (2, 3)
    if data_format == "channels_last":
        x, axes = x.permute(0, 2, 3, 1), (1, 2)
    y = loom.layers.RandomColorJitter(contrast_factor=0.5, seed=3, data_format=data_format)(x, training=True)
    assert not torch.allclose(y, x)
    torch.testing.assert_close(y.mean(axes), x.mean(axes), rtol=0, atol=1e-3)

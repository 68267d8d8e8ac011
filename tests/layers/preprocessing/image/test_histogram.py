"""AutoContrast, Equalization, CLAHE: value-equal to Keras on the same images."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError
from tests.keras_oracle import keras
from tests.layers.preprocessing.image.parity import assert_config_matches_keras, images

CASES = [
    ("AutoContrast", {}), ("AutoContrast", {"value_range": (0, 1)}),
    ("Equalization", {}), ("Equalization", {"bins": 64, "value_range": (0, 1)}),
    ("ContrastLimitedAdaptiveHistogramEqualization", {}),
    ("ContrastLimitedAdaptiveHistogramEqualization", {"tile_grid_size": (3, 2), "clip_limit": 2.0}),
    ("ContrastLimitedAdaptiveHistogramEqualization", {"clip_limit": 0, "value_range": (0, 1)}),
]


@pytest.mark.parametrize("name,kwargs", CASES)
def test_values_match_keras(name, kwargs):
    x = images((3, 13, 10, 3), scale=kwargs.get("value_range", (0, 255))[1])
    expected = keras.ops.convert_to_numpy(getattr(keras.layers, name)(**kwargs)(x, training=True))
    got = getattr(loom.layers, name)(**kwargs)(torch.from_numpy(x), training=True)
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-3 * x.max(), rtol=1e-5)
    assert_config_matches_keras(name, kwargs)


def test_inference_behaviour_follows_keras():
    x = images((2, 6, 6, 3))
    for name in ("AutoContrast", "ContrastLimitedAdaptiveHistogramEqualization"):
        assert not np.allclose(getattr(loom.layers, name)()(torch.from_numpy(x), training=False).numpy(), x)
    equalization = loom.layers.Equalization()  # applied in training only; a direct call trains, as in Keras
    assert np.array_equal(equalization(torch.from_numpy(x), training=False).numpy(), x)
    assert not np.array_equal(equalization(torch.from_numpy(x)).numpy(), x)


def test_channels_first_and_unbatched():
    x = images((2, 3, 8, 8))
    layer = loom.layers.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(2, 2),
                                                                      data_format="channels_first")
    expected = keras.ops.convert_to_numpy(keras.layers.ContrastLimitedAdaptiveHistogramEqualization(
        tile_grid_size=(2, 2), data_format="channels_first")(x))
    np.testing.assert_allclose(layer(torch.from_numpy(x)).numpy(), expected, atol=0.3)
    assert loom.layers.AutoContrast()(torch.from_numpy(x[0])).shape == (3, 8, 8)


def test_bad_arguments():
    with pytest.raises(ConfigError):
        loom.layers.Equalization(bins=1)
    with pytest.raises(ConfigError):
        loom.layers.AutoContrast(value_range=5)
    with pytest.raises(ConfigError):
        loom.layers.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(0, 2))


def test_equalization_model_saves_and_loads(tmp_path):
    inputs = loom.Input((6, 6, 3))
    model = loom.Model(inputs, loom.layers.Equalization(bins=32)(inputs))
    x = images((2, 6, 6, 3))
    for suffix in ("loom", "keras"):
        model.save(tmp_path / f"m.{suffix}")
        reloaded = loom.models.load_model(tmp_path / f"m.{suffix}")
        assert reloaded.layers[-1].get_config() == model.layers[-1].get_config()
        np.testing.assert_array_equal(reloaded.predict(x, verbose=0), x)

"""SpatialDropout1D/2D/3D, AlphaDropout, GaussianNoise, GaussianDropout: identity in inference (as Keras),
Keras's formulas in training, checked statistically and structurally with seeded generators."""

import math

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test

_ALPHA_P = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946


@pytest.mark.parametrize("name,kwargs,shape", [
    ("SpatialDropout1D", {"rate": 0.5}, (2, 5, 3)),
    ("SpatialDropout2D", {"rate": 0.5}, (2, 4, 4, 3)),
    ("SpatialDropout2D", {"rate": 0.5, "data_format": "channels_first"}, (2, 3, 4, 4)),
    ("SpatialDropout3D", {"rate": 0.3}, (2, 3, 3, 3, 2)),
    ("AlphaDropout", {"rate": 0.2, "noise_shape": (None, 1, 3)}, (2, 5, 3)),
    ("GaussianNoise", {"stddev": 0.3}, (2, 5, 3)),
    ("GaussianDropout", {"rate": 0.4, "seed": 2}, (2, 5, 3)),
])
def test_layer_checks_and_inference_identity_like_keras(name, kwargs, shape):
    result = run_layer_test(getattr(loom.layers, name), kwargs, input_shape=shape, expected_output_shape=shape,
                            expected_num_trainable_weights=0, expected_num_non_trainable_weights=0,
                            supports_masking=True, run_training_check=False, keras_cls=getattr(keras.layers, name))
    assert torch.equal(result.output, result.inputs)


@pytest.mark.parametrize("cls,shape,channel_axis", [
    (loom.layers.SpatialDropout1D, (64, 6, 32), 2),
    (loom.layers.SpatialDropout2D, (64, 3, 3, 32), 3),
    (loom.layers.SpatialDropout3D, (64, 2, 2, 2, 32), 4),
])
def test_spatial_dropout_drops_whole_channels_and_scales_the_rest(cls, shape, channel_axis):
    y = cls(0.25, seed=1)(torch.ones(shape), training=True)
    per_channel = y.movedim(channel_axis, 1).reshape(shape[0], shape[channel_axis], -1)
    assert (per_channel == per_channel[..., :1]).all()  # one decision per (sample, channel)
    assert torch.isclose(y[y != 0], torch.tensor(1 / 0.75)).all()
    assert abs((y != 0).float().mean().item() - 0.75) < 0.03


def test_spatial_dropout_channels_first_and_errors():
    y = loom.layers.SpatialDropout2D(0.5, data_format="channels_first", seed=0)(torch.ones(16, 8, 3, 3),
                                                                                 training=True)
    assert (y == y[:, :, :1, :1]).all()
    with pytest.raises(ConfigError, match="data_format"):
        loom.layers.SpatialDropout2D(0.5, data_format="nhwc")
    with pytest.raises(loom.errors.ShapeError):
        loom.layers.SpatialDropout1D(0.5)(loom.Input((4, 4, 4)))
    config = loom.layers.SpatialDropout2D(0.1).get_config()
    assert config["data_format"] == "channels_last" and "noise_shape" not in config


def test_alpha_dropout_keeps_selu_mean_and_variance():
    x = torch.randn(400_000, generator=torch.Generator().manual_seed(0))
    rate = 0.2
    y = loom.layers.AlphaDropout(rate, seed=3)(x, training=True)
    assert abs(y.mean().item()) < 0.01 and abs(y.var().item() - 1.0) < 0.01
    a = ((1 - rate) * (1 + rate * _ALPHA_P ** 2)) ** -0.5
    b = -a * _ALPHA_P * rate
    dropped = torch.isclose(y, torch.tensor(a * _ALPHA_P + b))
    assert abs(dropped.float().mean().item() - rate) < 0.005
    assert torch.allclose(y[~dropped], a * x[~dropped] + b, atol=1e-6)


def test_gaussian_noise_and_dropout_statistics():
    x = torch.ones(200_000) * 2
    y = loom.layers.GaussianNoise(0.5, seed=1)(x, training=True) - x
    assert abs(y.mean().item()) < 0.01 and abs(y.std().item() - 0.5) < 0.01
    z = loom.layers.GaussianDropout(0.2, seed=1)(x, training=True) / x
    assert abs(z.mean().item() - 1.0) < 0.01 and abs(z.std().item() - math.sqrt(0.2 / 0.8)) < 0.01


def test_seeds_repeat_and_the_global_seed_controls_unseeded_layers():
    for make in (lambda: loom.layers.GaussianNoise(0.2, seed=5), lambda: loom.layers.AlphaDropout(0.3, seed=5),
                 lambda: loom.layers.SpatialDropout1D(0.3, seed=5)):
        x = torch.randn(8, 4, 6)
        assert torch.equal(make()(x, training=True), make()(x, training=True))
    loom.utils.set_random_seed(9)
    a = loom.layers.GaussianDropout(0.3)(torch.ones(5, 5), training=True)
    loom.utils.set_random_seed(9)
    assert torch.equal(a, loom.layers.GaussianDropout(0.3)(torch.ones(5, 5), training=True))


def test_model_train_mode_switches_the_noise_on():
    inputs = loom.Input((10,))
    model = loom.Model(inputs, loom.layers.GaussianNoise(1.0)(inputs))
    x = np.zeros((4, 10), "float32")
    assert not model(x).any()
    model.train()
    assert model(x).abs().sum() > 0


def test_invalid_arguments():
    with pytest.raises(ConfigError, match="stddev"):
        loom.layers.GaussianNoise(1.5)
    with pytest.raises(ConfigError, match=r"\[0, 1\)"):
        loom.layers.AlphaDropout(1.0)
    with pytest.raises(ConfigError, match=r"\[0, 1\)"):
        loom.layers.GaussianDropout(1.0)
    with pytest.raises(ConfigError):
        loom.layers.SpatialDropout1D(-0.1)

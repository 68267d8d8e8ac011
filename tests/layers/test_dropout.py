"""Dropout: identity at inference, inverted dropout in training, noise_shape, seeds, config."""

import pytest
import torch

import loom
from loom.errors import ConfigError, ShapeError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test


def test_dropout_layer_checks_and_inference_parity():
    run_layer_test(loom.layers.Dropout, {"rate": 0.5}, input_shape=(2, 3, 4), expected_output_shape=(2, 3, 4),
                   expected_num_trainable_weights=0, expected_num_non_trainable_weights=0, supports_masking=True,
                   keras_cls=keras.layers.Dropout)


def test_inference_is_identity():
    x = torch.randn(4, 5)
    assert torch.equal(loom.layers.Dropout(0.9)(x), x)


@pytest.mark.parametrize("seed", [None, 3])
def test_training_zeroes_about_rate_and_scales_the_rest(seed):
    layer = loom.layers.Dropout(0.3, seed=seed)
    y = layer(torch.ones(200, 100), training=True)
    kept = y != 0
    assert torch.allclose(y[kept], torch.full_like(y[kept], 1 / 0.7))
    assert abs(kept.float().mean().item() - 0.7) < 0.02
    assert not layer.training  # training=True was temporary


def test_noise_shape_shares_the_mask_along_size_one_axes():
    layer = loom.layers.Dropout(0.5, noise_shape=(None, 1, 4))
    y = layer(torch.ones(8, 6, 4), training=True)
    assert (y == y[:, :1, :]).all()
    assert ((y == 0) | (y == 2)).all()


def test_seeded_layers_repeat_their_masks_and_unseeded_ones_follow_the_global_seed():
    a = loom.layers.Dropout(0.5, seed=7)(torch.ones(10, 10), training=True)
    b = loom.layers.Dropout(0.5, seed=7)(torch.ones(10, 10), training=True)
    assert torch.equal(a, b)
    loom.utils.set_random_seed(1)
    c = loom.layers.Dropout(0.5)(torch.ones(10, 10), training=True)
    loom.utils.set_random_seed(1)
    d = loom.layers.Dropout(0.5)(torch.ones(10, 10), training=True)
    assert torch.equal(c, d)


def test_rate_zero_and_one():
    x = torch.randn(3, 3)
    assert torch.equal(loom.layers.Dropout(0.0)(x, training=True), x)
    assert torch.equal(loom.layers.Dropout(1.0)(x, training=True), torch.zeros(3, 3))


def test_model_train_mode_turns_dropout_on():
    inputs = loom.Input((50,))
    model = loom.Model(inputs, loom.layers.Dropout(0.5)(inputs))
    x = torch.ones(4, 50)
    assert torch.equal(model(x), x)
    model.train()
    assert (model(x) == 0).any()


def test_gradient_flows_through_kept_units():
    x = torch.ones(4, 6, requires_grad=True)
    loom.layers.Dropout(0.5, seed=1)(x, training=True).sum().backward()
    assert set(x.grad.unique().tolist()) <= {0.0, 2.0}


@pytest.mark.parametrize("rate", [-0.1, 1.5, "0.5", None])
def test_invalid_rate(rate):
    with pytest.raises(ConfigError, match="rate"):
        loom.layers.Dropout(rate)


@pytest.mark.parametrize("noise_shape", ["abc", (None, 0), (2.5,), 3])
def test_invalid_noise_shape(noise_shape):
    with pytest.raises(ConfigError, match="noise_shape"):
        loom.layers.Dropout(0.5, noise_shape=noise_shape)


def test_noise_shape_of_the_wrong_rank_is_a_shape_error():
    with pytest.raises(ShapeError, match="noise_shape"):
        loom.layers.Dropout(0.5, noise_shape=(None, 1))(loom.Input((3, 4)))


def test_config_round_trip():
    layer = loom.layers.Dropout(0.25, noise_shape=(None, 1, 3), seed=5, name="drop")
    config = layer.get_config()
    assert config["rate"] == 0.25 and config["seed"] == 5 and config["noise_shape"] == (None, 1, 3)
    assert loom.layers.Dropout.from_config(config).get_config() == config

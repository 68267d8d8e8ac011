"""RandAugment and AugMix: Keras's drawn transformation (sub-layer transformations included) replayed in loom."""

import copy

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError
from tests.keras_oracle import keras
from tests.layers.preprocessing.image.parity import (_plain, assert_config_matches_keras, assert_identity_at_inference,
                                                     assert_transform_matches_keras, images)

CASES = [("AugMix", {"seed": 0}), ("AugMix", {"all_ops": False, "factor": 0.5, "num_chains": 2, "seed": 1}),
         ("AugMix", {"chain_depth": 1, "alpha": 0.5, "value_range": (0, 1), "seed": 2})]


@pytest.mark.parametrize("name,kwargs", CASES)
def test_aug_mix_transform_matches_keras(name, kwargs):
    value_range = kwargs.get("value_range", (0, 255))
    assert_transform_matches_keras(name, kwargs, images(scale=value_range[1]), atol=1e-3)


@pytest.mark.parametrize("seed", range(4))
def test_rand_augment_transform_matches_keras_sub_layers(seed):
    """Keras 3.15's own RandAugment.transform_images runs every operation for every op on one tensor, and its
    RandomBrightness adds in place, so its result drifts from its draw; the oracle here is Keras's sub-layers
    applied in the drawn order, each on a fresh copy of the transformation."""
    x = images()
    k_layer = keras.layers.RandAugment(num_ops=2, factor=0.4, seed=seed)
    transformation = _plain(k_layer.get_random_transformation(x, training=True))
    expected = keras.ops.convert_to_tensor(x)
    names = list(transformation["transforms"])
    for idx in transformation["layer_idxes"].tolist():
        sub = getattr(k_layer, names[idx])
        expected = sub.transform_images(keras.ops.copy(expected), copy.deepcopy(transformation["transforms"][names[idx]]))
    got = loom.layers.RandAugment(num_ops=2, factor=0.4).transform_images(torch.from_numpy(x), transformation)
    np.testing.assert_allclose(got.numpy(), keras.ops.convert_to_numpy(expected), atol=1e-3)


@pytest.mark.parametrize("name,kwargs", [("RandAugment", {"num_ops": 1, "factor": 0.4, "seed": 0}), CASES[0]])
def test_config_and_inference(name, kwargs):
    assert_config_matches_keras(name, kwargs)
    assert_identity_at_inference(name, kwargs, images())


def test_rand_augment_applies_the_drawn_ops_in_order():
    layer = loom.layers.RandAugment(num_ops=3, factor=0.3, seed=3)
    x = torch.from_numpy(images())
    t = layer.get_random_transformation(x)
    expected = x
    for idx in t["layer_idxes"].tolist():
        name = layer._AUGMENT_LAYERS[idx]
        expected = getattr(layer, name).transform_images(expected, t["transforms"][name])
    assert torch.equal(layer.transform_images(x, t), expected)


def test_aug_mix_stays_in_range_and_is_reproducible():
    x = torch.from_numpy(images((2, 8, 8, 3)))
    y = loom.layers.AugMix(seed=4)(x, training=True)
    assert float(y.min()) >= 0 and float(y.max()) <= 255 and y.shape == x.shape
    assert torch.equal(y, loom.layers.AugMix(seed=4)(x, training=True))


@pytest.mark.parametrize("make", [lambda: loom.layers.RandAugment(num_ops=0), lambda: loom.layers.RandAugment(factor=2),
                                  lambda: loom.layers.AugMix(alpha=0), lambda: loom.layers.AugMix(num_chains=0)])
def test_bad_arguments(make):
    with pytest.raises(ConfigError):
        make()

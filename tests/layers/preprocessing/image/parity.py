"""Shared checks for the image preprocessing layers: Keras's transformation replayed in loom, configs, identity."""

import copy
import json

import numpy as np
import torch

import loom
from tests.keras_oracle import keras

_BASE_KEYS = ("name", "dtype", "trainable")


def images(shape=(3, 7, 9, 3), scale=255.0, seed=0):
    """Deterministic float32 images in ``[0, scale)``."""
    return (np.random.RandomState(seed).rand(*shape) * scale).astype("float32")


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().clone()
    return value


def assert_transform_matches_keras(name, kwargs, x, atol=1e-4):
    """Keras draws a transformation; Keras and loom both apply it (Keras gets a copy: its warps mutate it)."""
    k_layer = getattr(keras.layers, name)(**kwargs)
    l_layer = getattr(loom.layers, name)(**kwargs)
    transformation = _plain(k_layer.get_random_transformation(x, training=True))
    expected = keras.ops.convert_to_numpy(
        k_layer.transform_images(keras.ops.convert_to_tensor(x), copy.deepcopy(transformation), training=True))
    got = l_layer.transform_images(torch.from_numpy(x), transformation, training=True)
    np.testing.assert_allclose(got.numpy(), expected, atol=atol, rtol=1e-5, err_msg=name)
    return l_layer, got


def assert_config_matches_keras(name, kwargs, values_differ=()):
    """Same config keys and values as Keras (JSON-normalised; ``values_differ`` only the same keys), and the
    config round-trips."""
    k_config = {k: v for k, v in getattr(keras.layers, name)(**kwargs).get_config().items() if k not in _BASE_KEYS}
    l_layer = getattr(loom.layers, name)(**kwargs)
    l_config = {k: v for k, v in l_layer.get_config().items() if k not in _BASE_KEYS}
    assert set(k_config) == set(l_config), name
    for key in values_differ:
        k_config.pop(key), l_config.pop(key)
    if name == "RandomCrop" and kwargs.get("seed") is None:  # both draw a seed and write it
        k_config.pop("seed"), l_config.pop("seed")
    assert json.loads(json.dumps(l_config)) == json.loads(json.dumps(k_config)), name
    clone = type(l_layer).from_config(json.loads(json.dumps(l_layer.get_config())))
    assert json.loads(json.dumps(clone.get_config())) == json.loads(json.dumps(l_layer.get_config()))


def assert_identity_at_inference(name, kwargs, x):
    """Outside training the layer returns its input, batched or not, as Keras does with ``training=False``:
    with ``training=False`` and, as any torch module, after ``eval()``."""
    layer = getattr(loom.layers, name)(**kwargs)
    t = torch.from_numpy(x)
    np.testing.assert_array_equal(layer(t, training=False).numpy(), x)
    np.testing.assert_array_equal(layer(t[0], training=False).numpy(), x[0])
    layer.eval()
    np.testing.assert_array_equal(layer(t).numpy(), x)
    k_out = getattr(keras.layers, name)(**kwargs)(x, training=False)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(k_out), x, atol=1e-6)

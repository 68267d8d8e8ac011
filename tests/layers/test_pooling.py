"""Max/average pooling and global pooling against Keras 3, and 'same' average pooling against TF's rule."""

import itertools
import json
import math

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, ShapeError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test

POOL_CASES = [
    ("MaxPooling1D", {}, (2, 7, 3)),
    ("MaxPooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 8, 3)),
    ("MaxPooling1D", {"pool_size": 4, "strides": 1, "padding": "same"}, (2, 7, 3)),  # asymmetric pad
    ("MaxPooling1D", {"pool_size": 2, "data_format": "channels_first"}, (2, 3, 7)),
    ("MaxPooling2D", {}, (2, 7, 6, 3)),
    ("MaxPooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 7, 6, 3)),
    ("MaxPooling2D", {"pool_size": (2, 3), "strides": (1, 2), "padding": "same",
                      "data_format": "channels_first"}, (2, 3, 7, 6)),
    ("MaxPooling3D", {"pool_size": 2, "padding": "same"}, (2, 5, 4, 3, 2)),
    ("AveragePooling1D", {"pool_size": 2}, (2, 7, 3)),
    ("AveragePooling1D", {"pool_size": 3, "strides": 1, "padding": "same"}, (2, 7, 3)),
    ("AveragePooling1D", {"pool_size": 3, "strides": 2, "data_format": "channels_first"}, (2, 3, 8)),
    ("AveragePooling2D", {"pool_size": 2}, (2, 7, 6, 3)),
    ("AveragePooling2D", {"pool_size": 3, "strides": 1, "padding": "same"}, (2, 7, 6, 3)),
    ("AveragePooling2D", {"pool_size": (2, 2), "padding": "same", "data_format": "channels_first"}, (2, 3, 8, 6)),
    ("AveragePooling3D", {"pool_size": 2}, (2, 5, 4, 3, 2)),
]


@pytest.mark.parametrize("name,kwargs,shape", POOL_CASES)
def test_pooling_matches_keras(name, kwargs, shape):
    keras_layer = getattr(keras.layers, name)(**kwargs)
    expected = tuple(keras_layer.compute_output_shape(shape))
    run_layer_test(getattr(loom.layers, name), kwargs, input_shape=shape, expected_output_shape=expected,
                   expected_num_trainable_weights=0, keras_cls=getattr(keras.layers, name))


def _reference_pool(x, pool, strides, padding, mode):
    """NumPy pooling of channels_last ``x`` with TensorFlow's rule: windows only average real elements."""
    spatial = x.shape[1:-1]
    pads, outs = [], []
    for n, k, s in zip(spatial, pool, strides):
        if padding == "valid":
            pads.append(0)
            outs.append((n - k) // s + 1)
        else:
            out = math.ceil(n / s)
            pads.append(max((out - 1) * s + k - n, 0) // 2)
            outs.append(out)
    result = np.zeros((x.shape[0], *outs, x.shape[-1]), x.dtype)
    for index in itertools.product(*[range(o) for o in outs]):
        window = tuple(slice(max(i * s - p, 0), min(i * s - p + k, n))
                       for i, s, p, k, n in zip(index, strides, pads, pool, spatial))
        values = x[(slice(None), *window, slice(None))].reshape(x.shape[0], -1, x.shape[-1])
        result[(slice(None), *index, slice(None))] = values.max(1) if mode == "max" else values.mean(1)
    return result


@pytest.mark.parametrize("name,pool,strides,shape", [
    ("AveragePooling1D", (4,), (1,), (2, 7, 3)),
    ("AveragePooling1D", (4,), (3,), (2, 7, 3)),
    ("AveragePooling2D", (3, 3), (2, 2), (2, 7, 6, 3)),
    ("AveragePooling2D", (2, 3), (1, 2), (2, 7, 6, 3)),
    ("AveragePooling3D", (3, 3, 3), (2, 2, 2), (2, 5, 4, 3, 2)),
    ("MaxPooling2D", (4, 4), (3, 3), (2, 7, 6, 3)),
])
def test_same_padding_with_asymmetric_pads_averages_real_elements_only(name, pool, strides, shape):
    """Keras 3.15's torch backend counts replicated edge values here; TF/JAX (and Keras PR #23233) do not."""
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    layer = getattr(loom.layers, name)(pool_size=pool, strides=strides, padding="same")
    mode = "max" if name.startswith("Max") else "average"
    np.testing.assert_allclose(layer(x).numpy(), _reference_pool(x, pool, strides, "same", mode), atol=1e-6)
    first = getattr(loom.layers, name)(pool_size=pool, strides=strides, padding="same",
                                       data_format="channels_first")
    x_first = np.moveaxis(x, -1, 1)
    np.testing.assert_allclose(np.moveaxis(first(x_first).numpy(), 1, -1), layer(x).numpy(), atol=1e-6)


def test_same_average_pooling_backpropagates():
    x = torch.randn(2, 5, 5, 3, requires_grad=True)
    loom.layers.AveragePooling2D(2, strides=2, padding="same")(x).sum().backward()
    # every input element sits in exactly one window; edge windows hold fewer elements
    assert torch.isfinite(x.grad).all() and x.grad[0, 4, 4, 0] == 1.0 and x.grad[0, 0, 0, 0] == 0.25


GLOBAL = ["GlobalMaxPooling1D", "GlobalAveragePooling1D", "GlobalMaxPooling2D", "GlobalAveragePooling2D",
          "GlobalMaxPooling3D", "GlobalAveragePooling3D"]


@pytest.mark.parametrize("name", GLOBAL)
@pytest.mark.parametrize("kwargs", [{}, {"keepdims": True}, {"data_format": "channels_first"}])
def test_global_pooling_matches_keras(name, kwargs):
    rank = int(name[-2])
    shape = (2,) + (5, 4, 3)[:rank] + (3,)
    expected = tuple(getattr(keras.layers, name)(**kwargs).compute_output_shape(shape))
    run_layer_test(getattr(loom.layers, name), kwargs, input_shape=shape, expected_output_shape=expected,
                   keras_cls=getattr(keras.layers, name))


@pytest.mark.parametrize("kwargs", [{}, {"keepdims": True}, {"data_format": "channels_first"}])
def test_global_average_pooling_1d_with_mask_matches_keras(kwargs):
    mask = np.array([[1, 1, 0, 0, 1], [0, 1, 1, 1, 1]], bool)
    x = np.random.default_rng(0).standard_normal((2, 5, 5)).astype("float32")
    want = keras.ops.convert_to_numpy(keras.layers.GlobalAveragePooling1D(**kwargs)(x, mask=mask))
    layer = loom.layers.GlobalAveragePooling1D(**kwargs)
    assert layer.supports_masking
    got = layer(torch.from_numpy(x), mask=torch.from_numpy(mask)).numpy()
    np.testing.assert_allclose(got, want, atol=1e-6)
    steps = 1 if not kwargs.get("data_format") else 2
    np.testing.assert_allclose(got.reshape(2, -1)[0], x.take([0, 1, 4], axis=steps)[0].mean(steps - 1).ravel(),
                               atol=1e-6)


def test_mask_from_embedding_is_respected_in_a_model_like_keras():
    ids = np.array([[3, 5, 0, 0], [7, 0, 0, 0], [1, 2, 3, 4]], "int64")

    def build(lib):
        inputs = lib.Input((4,), dtype="int64")
        x = lib.layers.Embedding(10, 3, mask_zero=True)(inputs)
        return lib.Model(inputs, lib.layers.GlobalAveragePooling1D()(x))
    model, k_model = build(loom), build(keras)
    model.set_weights(k_model.get_weights())
    np.testing.assert_allclose(model(ids).detach().numpy(), keras.ops.convert_to_numpy(k_model(ids)), atol=1e-6)
    table = model.get_weights()[0]
    np.testing.assert_allclose(model(ids).detach().numpy()[1], table[7], atol=1e-6)


def test_global_max_pooling_1d_ignores_mask_and_emits_none():
    layer = loom.layers.GlobalAveragePooling1D()
    assert layer.compute_mask(torch.zeros(2, 3, 4), torch.ones(2, 3, dtype=torch.bool)) is None
    assert not loom.layers.GlobalMaxPooling1D().supports_masking


@pytest.mark.parametrize("layer,shape,expected", [
    (lambda: loom.layers.MaxPooling1D(), (None, 8), (None, None, 8)),
    (lambda: loom.layers.MaxPooling2D(padding="same"), (None, None, 3), (None, None, None, 3)),
    (lambda: loom.layers.AveragePooling2D(3, strides=2, padding="same"), (None, 9, 3), (None, None, 5, 3)),
    (lambda: loom.layers.GlobalAveragePooling1D(), (None, 8), (None, 8)),
    (lambda: loom.layers.GlobalMaxPooling2D(keepdims=True), (None, None, 4), (None, 1, 1, 4)),
])
def test_shape_inference_with_unknown_dimensions(layer, shape, expected):
    assert layer()(loom.Input(shape)).shape == expected


def test_aliases_are_the_same_classes_and_configs_match_keras():
    assert loom.layers.MaxPool2D is loom.layers.MaxPooling2D
    assert loom.layers.AvgPool1D is loom.layers.AveragePooling1D
    assert loom.layers.GlobalAvgPool2D is loom.layers.GlobalAveragePooling2D
    assert loom.layers.GlobalMaxPool1D is loom.layers.GlobalMaxPooling1D
    for name, kwargs in [("MaxPooling2D", {"pool_size": 3, "padding": "same"}),
                         ("AveragePooling1D", {"pool_size": 2, "strides": 1}),
                         ("GlobalAveragePooling3D", {"keepdims": True})]:
        ours = getattr(loom.layers, name)(**kwargs).get_config()
        theirs = getattr(keras.layers, name)(**kwargs).get_config()
        assert set(theirs) <= set(ours)
        for key in set(theirs) - {"name", "dtype", "trainable"}:
            assert json.dumps(ours[key]) == json.dumps(theirs[key]), key


def test_pooling_errors():
    with pytest.raises(ConfigError, match="pool_size"):
        loom.layers.MaxPooling2D(pool_size=(2, 0))
    with pytest.raises(ConfigError, match="padding"):
        loom.layers.AveragePooling1D(2, padding="causal")
    with pytest.raises(ShapeError, match="rank 4"):
        loom.layers.MaxPooling2D()(torch.zeros(2, 4, 4))
    with pytest.raises(ShapeError, match="rank 3"):
        loom.layers.GlobalAveragePooling1D()(loom.Input((4, 4, 4)))


@pytest.mark.parametrize("layer, shape", [
    (lambda: loom.layers.MaxPooling2D(2), (3, 7, 6, 5)),
    (lambda: loom.layers.MaxPooling2D((3, 2)), (2, 9, 5, 4)),
    (lambda: loom.layers.MaxPooling1D(4), (2, 11, 3)),
    (lambda: loom.layers.MaxPooling3D(2), (1, 4, 5, 6, 2)),
])
def test_inference_max_pooling_over_disjoint_windows_matches_the_pooling_kernel(layer, shape):
    pool = layer()
    x = torch.randn(*shape)
    x[0, 0, 0, ...] = float("nan")
    expected = pool(x.requires_grad_())  # with gradients: max_pool itself
    with torch.no_grad():
        got = pool(x)
    torch.testing.assert_close(got, expected.detach(), equal_nan=True, rtol=0, atol=0)
    assert got.is_contiguous()

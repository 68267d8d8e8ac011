"""TimeDistributed against Keras 3: shapes, shared weights, masks, config."""

import json

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, ShapeError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test


def _wrapper_class(lib, inner, kwargs):
    """A TimeDistributed whose wrapped layer defaults to ``inner(**kwargs)``, as run_layer_test wants."""
    class Wrapped(lib.layers.TimeDistributed):
        def __init__(self, layer=None, **options):
            super().__init__(layer or getattr(lib.layers, inner)(**kwargs), **options)
    return Wrapped


@pytest.mark.parametrize("inner,kwargs,shape", [
    ("Dense", {"units": 3, "activation": "relu"}, (2, 4, 5)),
    ("Conv2D", {"filters": 3, "kernel_size": 2, "padding": "same"}, (2, 3, 5, 4, 2)),
    ("MaxPooling1D", {}, (2, 3, 6, 2)),
])
def test_matches_keras(inner, kwargs, shape):
    loom_cls, keras_cls = _wrapper_class(loom, inner, kwargs), _wrapper_class(keras, inner, kwargs)
    expected = tuple(keras_cls().compute_output_shape(shape))
    result = run_layer_test(loom_cls, {}, input_shape=shape, expected_output_shape=expected, keras_cls=keras_cls)
    assert len(result.layer.weights) == len(result.layer.layer.weights)


def test_config_round_trip_rebuilds_the_wrapped_layer():
    td = loom.layers.TimeDistributed(loom.layers.Conv1D(4, 3, padding="same", name="inner"), name="td")
    td(torch.zeros(2, 3, 5, 2))
    config = json.loads(json.dumps(td.get_config()))
    assert config["layer"]["class_name"] == "Conv1D" and config["layer"]["config"]["name"] == "inner"
    clone = loom.layers.TimeDistributed.from_config(config)
    assert isinstance(clone.layer, loom.layers.Conv1D) and clone.layer.filters == 4 and clone.name == "td"
    keras_keys = set(keras.layers.TimeDistributed(keras.layers.Conv1D(4, 3)).get_config())
    assert keras_keys <= set(config)


def test_shape_inference_with_unknown_time_and_weight_sharing():
    x = loom.Input((None, 8))
    dense = loom.layers.Dense(4)
    y = loom.layers.TimeDistributed(dense)(x)
    assert y.shape == (None, None, 4)
    data = torch.randn(2, 6, 8)
    model = loom.Model(x, y)
    out = model(data)
    torch.testing.assert_close(out[:, 3], dense(data[:, 3]))
    assert model.count_params() == 8 * 4 + 4


def test_mask_passes_through_like_keras():
    ids = np.array([[3, 5, 0, 0], [7, 0, 0, 0], [1, 2, 3, 4]], "int64")

    def build(lib):
        inputs = lib.Input((4,), dtype="int64")
        x = lib.layers.Embedding(10, 3, mask_zero=True)(inputs)
        x = lib.layers.TimeDistributed(lib.layers.Dense(2))(x)
        return lib.Model(inputs, lib.layers.GlobalAveragePooling1D()(x))
    model, k_model = build(loom), build(keras)
    model.set_weights(k_model.get_weights())
    np.testing.assert_allclose(model(ids).detach().numpy(), keras.ops.convert_to_numpy(k_model(ids)), atol=1e-6)
    td = loom.layers.TimeDistributed(loom.layers.Dense(2))
    mask = torch.tensor([[True, False]])
    assert torch.equal(td.compute_mask(torch.zeros(1, 2, 3), mask), mask)


def test_training_mode_reaches_the_wrapped_layer():
    td = loom.layers.TimeDistributed(loom.layers.Dropout(0.5))
    x = torch.ones(4, 5, 6)
    assert torch.equal(td(x), x)
    assert not torch.equal(td(x, training=True), x)


def test_errors():
    with pytest.raises(ConfigError, match="Layer instance"):
        loom.layers.TimeDistributed(torch.nn.Linear(2, 2))
    with pytest.raises(ShapeError, match="rank >= 3"):
        loom.layers.TimeDistributed(loom.layers.Dense(2))(loom.Input((4,)))


def test_model_with_wrapped_conv_layers_saves_and_loads(tmp_path):
    inputs = loom.Input((3, 6, 6, 2))
    x = loom.layers.TimeDistributed(loom.layers.Conv2D(4, 3, padding="same"))(inputs)
    x = loom.layers.TimeDistributed(loom.layers.SeparableConv2D(3, 3, depth_multiplier=2))(x)
    x = loom.layers.TimeDistributed(loom.layers.GlobalAveragePooling2D())(x)
    model = loom.Model(inputs, x)
    model.save(tmp_path / "model.loom")
    loaded = loom.saving.load_model(tmp_path / "model.loom")
    data = torch.randn(2, 3, 6, 6, 2)
    torch.testing.assert_close(loaded(data), model(data))
    assert [type(layer.layer).__name__ for layer in loaded.layers[1:]] == [
        "Conv2D", "SeparableConv2D", "GlobalAveragePooling2D"]

"""Input and InputLayer (loom/layers/input_layer.py)."""

import pytest
import torch

import loom
from loom.errors import ConfigError
from loom.layers import InputLayer
from tests.keras_oracle import keras


@pytest.fixture(autouse=True)
def _fresh_keras_names():
    keras.backend.clear_session(free_memory=False)
    yield


@pytest.mark.parametrize("kwargs", [
    {"shape": (3,)},
    {"shape": (None, 8), "dtype": "int32"},
    {"shape": (2, 2), "batch_size": 4},
    {"batch_shape": (None, 5)},
    {"shape": (7,), "name": "features"},
])
def test_input_matches_keras(kwargs):
    x, k = loom.Input(**kwargs), keras.Input(**kwargs)
    assert x.shape == tuple(k.shape)
    assert x.dtype == k.dtype
    assert x.node.layer.name == k._keras_history[0].name


def test_auto_names_like_keras():
    assert [loom.Input((1,)).name for _ in range(3)] == ["input_layer", "input_layer_1", "input_layer_2"]
    assert [keras.Input((1,))._keras_history[0].name for _ in range(3)] == [
        "input_layer", "input_layer_1", "input_layer_2"]


def test_input_layer_properties_and_config():
    x = loom.Input((3, 4), dtype="float64", name="x")
    layer = x.node.layer
    assert isinstance(layer, InputLayer) and layer.built and layer.count_params() == 0
    assert layer.batch_shape == (None, 3, 4) and layer.output_tensor is x
    assert layer.output_shape == (None, 3, 4)
    assert layer.get_config() == {"batch_shape": [None, 3, 4], "dtype": "float64", "name": "x"}
    assert x.node.is_input and layer._inbound_nodes == [x.node]
    assert torch.equal(layer(torch.ones(2, 3, 4)), torch.ones(2, 3, 4))


def test_int_shape_is_accepted():
    assert loom.Input(5).shape == (None, 5)


@pytest.mark.parametrize("kwargs, message", [
    ({}, "give shape="),
    ({"shape": (3, -1)}, "non-negative"),
    ({"shape": (3.5,)}, "non-negative ints"),
    ({"shape": "abc"}, "non-negative ints"),
    ({"shape": (3,), "sparse": True}, "sparse"),
    ({"shape": (3,), "tensor": torch.ones(3)}, "not supported"),
    ({"shape": (3,), "dtype": "complex7"}, "Unknown dtype"),
])
def test_bad_inputs_raise_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        loom.Input(**kwargs)


def test_identity_model_from_an_input():
    x = loom.Input((2,))
    model = loom.Model(x, x)
    assert model.layers == [x.node.layer]
    data = torch.randn(3, 2)
    assert torch.equal(model(data), data)

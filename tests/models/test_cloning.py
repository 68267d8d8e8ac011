"""clone_model against keras.models.clone_model: same architecture, new layers, same predictions once the
weights are copied."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError
from tests.keras_oracle import keras


def _functional(lib):
    inputs = lib.Input((6,), name="features")
    shared = lib.layers.Dense(4, activation="relu", name="shared")
    a = shared(inputs)
    b = shared(lib.layers.Dense(6, name="pre")(inputs))
    outputs = lib.layers.Dense(2, name="head")(lib.layers.Concatenate()([a, b]))
    return lib.Model(inputs, outputs, name="net")


def _sequential(lib):
    return lib.Sequential([lib.Input((6,)), lib.layers.Dense(5, activation="tanh"), lib.layers.Dense(2)], name="seq")


@pytest.mark.parametrize("make", [_functional, _sequential])
def test_clone_matches_keras_with_copied_weights(make):
    # Auto-generated names ("dense_3") count per session in both libraries: start both from zero.
    loom.backend.clear_session()
    keras.backend.clear_session()
    loom.utils.set_random_seed(0)
    model, kmodel = make(loom), make(keras)
    kmodel.set_weights(model.get_weights())
    clone, kclone = loom.models.clone_model(model), keras.models.clone_model(kmodel)
    assert [type(l).__name__ for l in clone.layers] == [type(l).__name__ for l in kclone.layers]
    assert [l.name for l in clone.layers] == [l.name for l in kclone.layers]
    assert not set(map(id, clone.layers)) & set(map(id, model.layers))
    assert clone.count_params() == kclone.count_params()
    clone.set_weights(model.get_weights())
    kclone.set_weights(model.get_weights())
    x = np.random.default_rng(0).normal(size=(3, 6)).astype("float32")
    np.testing.assert_allclose(clone.predict(x, verbose=0), kclone.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_fresh_weights_by_default_and_shared_layers_stay_shared():
    model = _functional(loom)
    clone = loom.models.clone_model(model)
    assert not np.allclose(clone.get_layer("head").get_weights()[0], model.get_layer("head").get_weights()[0])
    assert len(clone.layers) == len(model.layers)


def test_clone_function_and_call_function():
    model = _functional(loom)

    def clone_function(layer):
        new = layer.__class__.from_config(layer.get_config())
        if isinstance(layer, loom.layers.Dense):
            new.build((None, layer.get_weights()[0].shape[0]))
            new.set_weights(layer.get_weights())
        return new

    calls = []

    def call_function(layer, *args, **kwargs):
        calls.append(layer.name)
        return layer(*args, **kwargs)

    clone = loom.models.clone_model(model, clone_function=clone_function, call_function=call_function)
    x = torch.randn(2, 6)
    torch.testing.assert_close(clone(x), model(x))
    assert calls.count("shared") == 2


def test_input_tensors_and_recursive():
    inner = _sequential(loom)
    outer = loom.Sequential([loom.Input((6,)), inner, loom.layers.Dense(1)])
    new_input = loom.Input((6,), name="other")
    clone = loom.models.clone_model(outer, input_tensors=new_input, recursive=True)
    assert clone.layers[0] is not inner and clone.layers[0].layers[0] is not inner.layers[0]
    assert clone(torch.zeros(2, 6)).shape == (2, 1)
    with pytest.raises(ConfigError, match="symbolic"):
        loom.models.clone_model(_functional(loom), input_tensors=[torch.zeros(1, 6)])
    with pytest.raises(ConfigError, match="unknown arguments"):
        loom.models.clone_model(outer, bogus=1)

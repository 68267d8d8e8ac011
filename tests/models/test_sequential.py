"""Sequential (loom/models/sequential.py), checked against Keras 3."""

import numpy as np
import pytest
import torch

import loom
from loom import layers
from loom.errors import ConfigError, InputError
from tests.keras_oracle import keras

pytestmark = pytest.mark.filterwarnings("ignore:Do not pass an `input_shape`")


@pytest.fixture(autouse=True)
def _fresh_keras_names():
    keras.backend.clear_session(free_memory=False)
    yield


def _mlp(lib):
    L = lib.layers
    return lib.Sequential([L.Dense(16, activation="relu", input_shape=(10,)),
                           L.Dense(8, activation="relu"), L.Dense(1, activation="sigmoid")])


def test_input_shape_on_first_layer_matches_keras():
    k_model, model = _mlp(keras), _mlp(loom)
    assert model.name == k_model.name == "sequential"
    assert [l.name for l in model.layers] == [l.name for l in k_model.layers]
    assert model.input_shape == k_model.input_shape and model.output_shape == k_model.output_shape
    assert [l.output_shape for l in model.layers] == [(None, 16), (None, 8), (None, 1)]
    assert model.count_params() == k_model.count_params() == 321
    model.set_weights(k_model.get_weights())
    data = np.random.default_rng(0).normal(size=(5, 10)).astype("float32")
    np.testing.assert_allclose(model(data).detach().numpy(), k_model.predict(data, verbose=0), atol=1e-5)


def test_auto_names_follow_keras_across_models():
    def scenario(lib):
        L = lib.layers
        names = []
        a = lib.Sequential([L.Dense(2, input_shape=(3,)), L.Dense(1)])
        b = lib.Sequential([L.Dense(2)])
        b(np.ones((2, 3), dtype="float32"))
        c = lib.Sequential()
        c.add(L.Dense(3))
        c.add(L.Dense(4))
        c.build((None, 5))
        c.pop()
        inp = lib.Input((2,))
        d = lib.Model(inp, L.Dense(1)(inp))
        for model in (a, b, c, d):
            names.append(model.name)
            names.extend(l.name for l in model.layers)
        names.append(inp._keras_history[0].name)
        return names
    assert scenario(loom) == scenario(keras)


def test_input_first_and_add():
    model = loom.Sequential([loom.Input((4,))])
    assert not model.built and model.layers == []
    model.add(layers.Dense(3))
    assert model.built and model.output_shape == (None, 3) and len(model.weights) == 2
    model.add(layers.Dense(2, name="head"))
    assert model.output_shape == (None, 2) and model.get_layer("head").input_shape == (None, 3)
    assert model(torch.ones(5, 4)).shape == (5, 2)
    with pytest.raises(ConfigError, match="Input can only be the first"):
        model.add(loom.Input((4,)))
    with pytest.raises(ConfigError, match="'head'"):
        model.add(layers.Dense(2, name="head"))
    with pytest.raises(ConfigError, match="only takes layers"):
        model.add("dense")


def test_pop_removes_the_last_layer_and_rebuilds():
    model = _mlp(loom)
    last = model.pop()
    assert last.name == "dense_2" and [l.name for l in model.layers] == ["dense", "dense_1"]
    assert model.output_shape == (None, 8) and model(np.ones((2, 10))).shape == (2, 8)
    assert not last._inbound_nodes and "dense_2" not in dict(model.named_children())
    model.add(layers.Dense(3))
    assert model.output_shape == (None, 3)
    model.pop(), model.pop(), model.pop()
    assert model.layers == [] and not model.built
    with pytest.raises(ConfigError, match="no layers to pop"):
        model.pop()


def test_deferred_build_from_float_and_int_data():
    model = loom.Sequential([layers.Dense(4), layers.Dense(1)])
    assert not model.built and model.get_weights() == []
    out = model(np.ones((3, 6)))
    assert model.built and out.shape == (3, 1) and model.input_shape == (None, 6)
    assert model.inputs[0].dtype == "float32"
    ints = loom.Sequential([layers.Dense(2)])
    out = ints(np.arange(6, dtype=np.int64).reshape(2, 3))  # cast to float32, as Keras does
    assert out.dtype == torch.float32 and ints.inputs[0].dtype == "float32"
    emb = loom.Sequential([layers.Embedding(10, 3), layers.Dense(2)])
    out = emb(np.array([[1, 2, 3], [4, 5, 0]]))
    assert out.shape == (2, 3, 2) and emb.inputs[0].dtype.startswith("int")


def test_build_with_a_shape():
    model = loom.Sequential([layers.Dense(3)])
    model.build((None, 5))
    assert model.built and [w.shape for w in model.get_weights()] == [(5, 3), (3,)]
    with pytest.raises(ConfigError, match=r"\(None, 5\)"):
        model.build((None, 6))
    with pytest.raises(ConfigError, match="needs input_shape"):
        loom.Sequential([layers.Dense(3)]).build()


def test_torch_modules_are_wrapped():
    model = loom.Sequential([loom.Input((4,)), torch.nn.Linear(4, 3), torch.nn.ReLU(), layers.Dense(2)])
    assert [type(l).__name__ for l in model.layers] == ["TorchModuleWrapper", "TorchModuleWrapper", "Dense"]
    assert model.output_shape == (None, 2)
    assert model.count_params() == 4 * 3 + 3 + 3 * 2 + 2


def test_sequential_nested_in_functional_and_in_torch_code():
    inner = loom.Sequential([layers.Dense(4, activation="relu"), layers.Dense(2)], name="inner")
    x = loom.Input((3,))
    outer = loom.Model(x, layers.Dense(1)(inner(x)))
    assert inner.built and inner.input_shape == (None, 3)
    assert outer.count_params() == inner.count_params() + 3
    opt = torch.optim.Adam(outer.parameters(), lr=0.01)
    loss = outer(torch.randn(8, 3)).pow(2).mean()
    loss.backward()
    opt.step()
    assert all(p.grad is not None for p in inner.parameters())


def test_single_input_errors():
    model = _mlp(loom)
    with pytest.raises(InputError, match=r"\(None, 10\).*\(2, 3\)"):
        model(np.ones((2, 3)))
    with pytest.raises(InputError, match="one input array"):
        loom.Sequential([layers.Dense(2)])([np.ones((2, 3)), np.ones((2, 3))])
    with pytest.raises(ConfigError, match="no layers"):
        loom.Sequential()(np.ones((2, 3)))


def test_layer_called_on_python_lists():
    model = loom.Sequential([layers.Dense(1, kernel_initializer="ones")])
    np.testing.assert_allclose(model([[1.0, 2.0, 3.0]]).detach().numpy(), [[6.0]])


def test_add_and_pop_without_rebuild_take_effect_at_the_next_call():
    model = loom.Sequential([loom.Input((3,)), layers.Dense(2)])
    model.add(layers.Dense(5), rebuild=False)
    assert not model.built
    assert model(np.ones((1, 3))).shape == (1, 5) and model.built
    model.pop(rebuild=False)
    assert model(np.ones((1, 3))).shape == (1, 2)
    x = loom.Input((3,))
    model.add(layers.Dense(4), rebuild=False)
    assert model(x).shape == (None, 4)


@pytest.mark.parametrize("with_input", [False, True])
def test_only_rank_and_last_axis_of_the_input_are_checked_as_in_keras(with_input):
    """A Sequential FFN built on one sequence length takes another (Keras runs its layers without checking the
    Input's other sizes); the last axis still has to fit."""
    x6, x7 = np.ones((2, 6, 8), "float32"), np.ones((2, 7, 8), "float32")
    for lib in (keras, loom):
        model = lib.Sequential(([lib.Input((6, 8))] if with_input else []) + [lib.layers.Dense(4)])
        model(x6)
        assert tuple(model(x7).shape) == (2, 7, 4)
    with pytest.raises((InputError, loom.errors.ShapeError)):
        model(np.ones((2, 7, 5), "float32"))

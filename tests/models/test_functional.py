"""The functional Model (loom/models/functional.py), checked against Keras 3 as the oracle."""

import numpy as np
import pytest
import torch

import loom
from loom import layers
from loom.errors import ConfigError, GraphError, InputError, ShapeError
from tests.keras_oracle import keras


@pytest.fixture(autouse=True)
def _fresh_keras_names():
    keras.backend.clear_session(free_memory=False)
    yield


def _k(x):
    return keras.ops.convert_to_numpy(x)


def _l(x):
    return x.detach().cpu().numpy()


def _dag(lib):
    """Inception-like branches, a residual add, a layer shared twice and a nested model."""
    L = lib.layers
    inp = lib.Input((16,))
    b1 = L.Dense(8, activation="relu")(inp)
    b2 = L.Dense(8, activation="relu")(L.Dense(12, activation="relu")(inp))
    b3 = L.Dense(8)(L.Dense(4, activation="tanh")(inp))
    x = L.concatenate([b1, b2, b3])
    x = L.add([x, L.Dense(24, activation="relu")(x)])
    shared = L.Dense(24, activation="tanh")
    x = shared(shared(x))
    inner_in = lib.Input((24,))
    inner = lib.Model(inner_in, L.Dense(6)(L.Dense(10, activation="relu")(inner_in)))
    return lib.Model(inp, inner(x))


def _siamese(lib):
    """Two inputs through one shared tower, two outputs."""
    L = lib.layers
    left, right = lib.Input((5,), name="left"), lib.Input((5,), name="right")
    tower = L.Dense(7, activation="relu", name="tower")
    a, b = tower(left), tower(right)
    joined = L.concatenate([a, b], name="joined")
    return lib.Model([left, right], [L.Dense(1, name="score")(joined), L.Dense(3, name="cls")(a)])


@pytest.mark.parametrize("builder", [_dag, _siamese])
def test_layers_names_and_weights_line_up_with_keras(builder):
    k_model = builder(keras)
    model = builder(loom)
    assert model.name == k_model.name
    assert [l.name for l in model.layers] == [l.name for l in k_model.layers]
    assert [type(l).__name__ for l in model.layers[1:]] == [
        "Model" if type(l).__name__ == "Functional" else type(l).__name__ for l in k_model.layers[1:]]
    assert [w.shape for w in model.get_weights()] == [w.shape for w in k_model.get_weights()]
    assert model.count_params() == k_model.count_params()
    model.set_weights(k_model.get_weights())
    rng = np.random.default_rng(0)
    data = [rng.normal(size=(6,) + tuple(t.shape[1:])).astype("float32") for t in k_model.inputs]
    expected = k_model.predict(data if len(data) > 1 else data[0], verbose=0)
    got = model(data if len(data) > 1 else data[0])
    for e, g in zip(expected if isinstance(expected, list) else [expected],
                    got if isinstance(got, list) else [got]):
        np.testing.assert_allclose(_l(g), e, atol=1e-5)


def test_shared_layer_reuses_weights_and_counts_once():
    model = _siamese(loom)
    tower = model.get_layer("tower")
    assert len(tower._inbound_nodes) == 2
    assert model.count_params() == tower.count_params() + model.get_layer("score").count_params() + \
        model.get_layer("cls").count_params()
    same = np.ones((2, 5), dtype="float32")
    score_a, _ = model([same, same])
    torch.testing.assert_close(score_a, model([same, same])[0])


def test_nested_model_shares_its_weights():
    inner_in = loom.Input((3,))
    inner = loom.Model(inner_in, layers.Dense(2, name="inner_dense")(inner_in), name="inner")
    x = loom.Input((3,))
    outer = loom.Model(x, layers.Dense(1)(inner(x)))
    assert outer.layers[1] is inner
    assert outer.count_params() == inner.count_params() + 3
    with torch.no_grad():
        inner.get_layer("inner_dense").kernel.fill_(1.0)
    data = torch.ones(1, 3)
    torch.testing.assert_close(outer.layers[1](data), torch.full((1, 2), 3.0))


def test_inputs_and_outputs_as_tensor_list_and_dict():
    a, b = loom.Input((2,), name="a"), loom.Input((3,), name="b")
    ya, yb = layers.Dense(1, name="ya")(a), layers.Dense(1, name="yb")(b)
    single = loom.Model(a, ya)
    assert isinstance(single(np.ones((4, 2))), torch.Tensor)
    as_list = loom.Model([a, b], [ya, yb])
    out = as_list([np.ones((4, 2)), np.ones((4, 3))])
    assert isinstance(out, list) and [o.shape for o in out] == [(4, 1), (4, 1)]
    as_dict = loom.Model({"b": b, "a": a}, {"second": yb, "first": ya})
    assert [t.name for t in as_dict.inputs] == ["a", "b"]  # sorted keys, as Keras's tree.flatten
    assert as_dict.input_names == ["a", "b"] and as_dict.output_names == ["first", "second"]
    out = as_dict({"a": np.ones((4, 2)), "b": np.ones((4, 3))})
    assert set(out) == {"first", "second"} and out["first"].shape == (4, 1)
    by_name = as_list({"a": np.ones((4, 2)), "b": np.ones((4, 3))})
    torch.testing.assert_close(by_name[1], out["second"])


def test_model_properties():
    x = loom.Input((None, 4), name="seq")
    h = layers.Dense(3, name="h")(x)
    model = loom.Model(x, layers.Dense(2, name="out")(h))
    assert model.name == "functional"
    assert loom.Model(x, h).name == "functional_1"
    assert model.inputs == [x] and model.outputs[0].shape == (None, None, 2)
    assert model.input_shape == (None, None, 4) and model.output_shape == (None, None, 2)
    assert model.get_layer("h") is model.layers[1] and model.get_layer(index=-1).name == "out"
    assert model.get_layer("h").output_shape == (None, None, 3)
    assert model.get_layer("h").count_params() == 15 and model.count_params() == 15 + 8
    assert model.input is x
    with pytest.raises(ConfigError, match=r"'nope'.*\['seq', 'h', 'out'\]"):
        model.get_layer("nope")
    with pytest.raises(ConfigError, match="out of range"):
        model.get_layer(index=5)


def test_layer_names_that_are_model_attributes_are_fine():
    x = loom.Input((2,), name="input")
    y = layers.Dense(1, name="output")(layers.Dense(2, name="optimizer")(x))
    model = loom.Model(x, y)
    assert model.get_layer("output").name == "output"
    assert model.output is y  # the property still wins
    model.optimizer = "sgd"  # and the attribute a trainer sets
    assert model.optimizer == "sgd" and model.get_layer("optimizer").units == 2
    assert "output.kernel" in model.state_dict()


def test_graph_build_errors():
    dense = layers.Dense(4, name="dense64")
    dense(loom.Input((64,)))
    with pytest.raises(ShapeError, match=r"'dense64'.*64.*\(None, 32\)"):
        dense(loom.Input((32,)))
    a, b = loom.Input((2,), name="a"), loom.Input((2,), name="b")
    y = layers.add([a, b])
    with pytest.raises(GraphError, match="Input 'b'"):
        loom.Model(a, y)
    z = layers.Dense(2, name="twin")(layers.Dense(2, name="twin")(a))
    with pytest.raises(GraphError, match="twin"):
        loom.Model(a, z)
    with pytest.raises(GraphError, match="symbolic"):
        loom.Model(a, torch.ones(2))
    with pytest.raises(GraphError, match="both"):
        loom.Model(a)


def test_call_time_errors_name_inputs_and_shapes():
    a = loom.Input((2,), name="a")
    ids = loom.Input((3,), dtype="int64", name="ids")
    model = loom.Model([a, ids], layers.Dense(1)(layers.concatenate([a, ids])))
    with pytest.raises(InputError, match=r"expects 2 input.*\['a', 'ids'\].*got 1"):
        model([np.ones((2, 2))])
    with pytest.raises(InputError, match=r"expects 2 inputs"):
        model(np.ones((2, 2)))
    with pytest.raises(InputError, match=r"\['a', 'ids'\].*unknown \['idz'\]"):
        model({"a": np.ones((2, 2)), "idz": np.ones((2, 3))})
    with pytest.raises(InputError, match="'ids'.*int64.*float32"):
        model([np.ones((2, 2)), np.ones((2, 3), dtype="float32")])
    with pytest.raises(InputError, match=r"'a'.*\(None, 2\).*\(2, 5\)"):
        model([np.ones((2, 5)), np.ones((2, 3), dtype="int64")])
    out = model([np.ones((2, 2)), np.ones((2, 3), dtype="int32")])  # ints are cast to the Input's dtype
    assert out.shape == (2, 1)


def test_keras_rank_adjustment_of_trailing_one():
    x = loom.Input((1,))
    model = loom.Model(x, layers.Dense(2)(x))
    assert model(np.ones(5)).shape == (5, 2)


def test_model_is_a_plain_torch_module():
    torch.manual_seed(0)
    x = loom.Input((3,))
    model = loom.Model(x, layers.Dense(1)(layers.Dense(8, activation="relu")(x)))
    assert isinstance(model, torch.nn.Module)
    data, target = torch.randn(32, 3), torch.randn(32, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    first = None
    for _ in range(30):
        loss = torch.nn.functional.mse_loss(model(data), target)
        first = first if first is not None else float(loss.detach())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < first
    x2 = loom.Input((3,))
    twin = loom.Model(x2, layers.Dense(1)(layers.Dense(8, activation="relu")(x2)))
    with pytest.raises(RuntimeError):
        twin.load_state_dict(model.state_dict())  # different layer names -> different keys
    clone = _named_mlp()
    original = _named_mlp()
    clone.load_state_dict(original.state_dict())
    torch.testing.assert_close(clone(data), original(data))
    double = original.to(torch.float64)
    out = double(data.double())
    assert out.dtype == torch.float64
    assert double(np.ones((2, 3))).dtype == torch.float64


def _named_mlp():
    x = loom.Input((3,), name="x")
    return loom.Model(x, layers.Dense(1, name="o")(layers.Dense(8, activation="relu", name="h")(x)))


def test_training_mode_defaults_to_inference_and_toggles():
    class Mode(loom.layers.Layer):
        def call(self, x):
            return x + (1.0 if self.training else 0.0)
    x = loom.Input((1,))
    model = loom.Model(x, Mode(name="mode")(x))
    zero = torch.zeros(1, 1)
    assert not model.training and not model.get_layer("mode").training
    assert float(model(zero)) == 0.0
    assert float(model(zero, training=True)) == 1.0
    assert not model.get_layer("mode").training
    model.train()
    assert float(model(zero)) == 1.0
    assert float(model(zero, training=False)) == 0.0
    assert model.get_layer("mode").training
    model.eval()
    assert float(model(zero)) == 0.0


def test_numpy_and_python_inputs():
    x = loom.Input((2,))
    model = loom.Model(x, layers.Dense(1, kernel_initializer="ones")(x))
    np.testing.assert_allclose(_l(model(np.array([[1.0, 2.0]]))), [[3.0]])
    np.testing.assert_allclose(_l(model([[1.0, 2.0]])), [[3.0]])
    assert model(np.ones((1, 2), dtype=np.float64)).dtype == torch.float32


class _LoomNet(loom.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(6, activation="relu")
        self.blocks = [layers.Dense(5, activation="relu"), layers.Dense(4)]
        self.head = layers.Dense(2)

    def call(self, x):
        x = self.hidden(x)
        for block in self.blocks:
            x = block(x)
        return self.head(x)


class _KerasNet(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(6, activation="relu")
        self.blocks = [keras.layers.Dense(5, activation="relu"), keras.layers.Dense(4)]
        self.head = keras.layers.Dense(2)

    def call(self, x):
        x = self.hidden(x)
        for block in self.blocks:
            x = block(x)
        return self.head(x)


def test_subclassed_model_tracks_layers_in_attribute_order_like_keras():
    data = np.random.default_rng(1).normal(size=(3, 7)).astype("float32")
    k_net, net = _KerasNet(), _LoomNet()
    assert net.get_weights() == [] and not net.built
    k_out = _k(k_net(data))
    net(data)
    assert net.name == k_net.name.replace("keras", "loom") == "__loom_net"  # Keras's snake_case rule
    assert [l.name for l in net.layers] == [l.name for l in k_net.layers]
    assert [w.shape for w in net.get_weights()] == [w.shape for w in k_net.get_weights()]
    assert len(list(net.parameters())) == 8  # list-held layers are registered with torch
    net.set_weights(k_net.get_weights())
    np.testing.assert_allclose(_l(net(data)), k_out, atol=1e-5)
    assert net.count_params() == k_net.count_params()
    with pytest.raises(ConfigError, match="no graph"):
        net.inputs


def test_subclassed_model_inside_a_functional_model():
    net = _LoomNet()
    x = loom.Input((7,))
    model = loom.Model(x, net(x))
    assert model.output_shape == (None, 2)
    assert model.count_params() == net.count_params() > 0
    torch.testing.assert_close(model(torch.ones(2, 7)), net(torch.ones(2, 7)))


def test_extra_input_dict_keys_are_ignored_with_a_warning_as_keras():
    """A table's columns often include the target: Keras warns and ignores keys that match no input."""
    a, b = loom.Input((1,), name="a"), loom.Input((1,), name="b")
    model = loom.Model({"a": a, "b": b}, layers.Dense(1)(layers.concatenate([a, b])))
    model.compile("sgd", "mse")
    table = {"a": np.ones((4, 1), "float32"), "b": np.zeros((4, 1), "float32"), "target": np.ones((4, 1))}
    with pytest.warns(UserWarning, match=r"\['target'\].*ignored"):
        out = model(table)
    assert out.shape == (4, 1)
    with pytest.warns(UserWarning, match="ignored"):
        model.fit(table, table["target"], epochs=1, verbose=0)
    with pytest.warns(UserWarning, match="ignored"):
        np.testing.assert_allclose(model.predict(table, verbose=0), model.predict([table["a"], table["b"]], verbose=0))
    with pytest.raises(InputError, match=r"missing \['b'\]"):
        model.predict({"a": table["a"], "target": table["target"]}, verbose=0)


def test_tuple_outputs_and_nested_inputs_keep_keras_structures():
    """Keras returns a tuple from a model whose outputs were a tuple (a triplet Siamese network's two distances),
    from a subclass whose call() returns one, and flattens nested inputs (``([a, p, n],)``) with a warning."""
    from tests.keras_oracle import keras
    x = np.ones((2, 3), "float32")
    seen = {}
    for lib in (keras, loom):
        a, b = lib.Input((3,)), lib.Input((3,))
        model = lib.Model([a, b], (lib.layers.Dense(2)(a), lib.layers.Dense(1)(b)))

        class Wrapper(lib.Model):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def call(self, inputs):
                return self.inner(inputs)

        wrapper = Wrapper(model)
        with pytest.warns(UserWarning, match="structure of `inputs`"):
            nested = model(([x, x],))
        seen[lib] = [type(v).__name__ for v in (model([x, x]), model.predict([x, x], verbose=0), model.output,
                                                 wrapper.predict([x, x], verbose=0), nested)]
    assert seen[loom] == seen[keras] == ["tuple"] * 5

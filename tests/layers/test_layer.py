"""The Layer base class (loom/layers/layer.py)."""

import numpy as np
import pytest
import torch

import loom
from loom import layers
from loom.errors import ConfigError, GraphError, InputError, ShapeError
from loom.layers import InputSpec, Layer


class Scale(Layer):
    """y = x * scale + offset, with a non-trainable counter buffer."""

    def build(self, input_shape):
        self.add_weight("scale", (input_shape[-1],), initializer="ones")
        self.add_weight("offset", (input_shape[-1],), initializer="zeros")
        self.add_weight("calls", (), initializer="zeros", trainable=False)

    def call(self, x):
        return x * self.scale + self.offset


def test_lazy_build_from_first_input():
    layer = Scale()
    assert not layer.built and layer.weights == []
    out = layer(torch.ones(2, 3))
    assert layer.built and out.shape == (2, 3)
    assert [tuple(w.shape) for w in layer.get_weights()] == [(3,), (3,), ()]
    assert isinstance(layer.scale, torch.nn.Parameter) and layer.scale.requires_grad
    assert "calls" in dict(layer.named_buffers()) and "calls" not in dict(layer.named_parameters())
    assert len(layer.trainable_weights) == 2 and len(layer.non_trainable_weights) == 1
    assert layer.count_params() == 7


def test_auto_names_and_name_validation():
    assert [Scale().name for _ in range(3)] == ["scale", "scale_1", "scale_2"]
    assert layers.Dense(2).name == "dense"
    assert Scale(name="mine").name == "mine"
    with pytest.raises(ConfigError, match="name"):
        Scale(name="a/b")
    with pytest.raises(ConfigError, match=r"unexpected keyword.*\['unitz'\]"):
        Scale(unitz=3)


def test_get_and_set_weights_check_counts_and_shapes():
    layer = layers.Dense(2)
    layer(torch.ones(1, 3))
    kernel, bias = np.arange(6, dtype="float32").reshape(3, 2), np.array([1.0, -1.0], dtype="float32")
    layer.set_weights([kernel, bias])
    np.testing.assert_array_equal(layer.get_weights()[0], kernel)
    with pytest.raises(InputError, match=r"expects 2 weight arrays.*got 1"):
        layer.set_weights([kernel])
    with pytest.raises(InputError, match=r"'dense/kernel' has shape \(3, 2\).*\(2, 3\)"):
        layer.set_weights([kernel.T, bias])


def test_trainable_flag_freezes_weights():
    layer = layers.Dense(2)
    layer(torch.ones(1, 3))
    layer.trainable = False
    assert not layer.trainable and layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2
    assert all(not p.requires_grad for p in layer.parameters())
    frozen_at_start = layers.Dense(2, trainable=False)
    frozen_at_start(torch.ones(1, 3))
    assert frozen_at_start.trainable_weights == []


def test_training_mode_starts_off_and_training_argument_toggles():
    class Probe(Layer):
        def call(self, x, training=None):
            return x + (1.0 if training else 0.0)

    class Outer(Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.inner = Probe()

        def call(self, x):
            return self.inner(x) + (10.0 if self.training else 0.0)
    layer = Outer()
    zero = torch.zeros(1)
    assert not layer.training and not layer.inner.training
    assert float(layer(zero)) == 0.0
    assert float(layer(zero, training=True)) == 11.0  # the call's training= reaches sublayers
    assert not layer.training and not layer.inner.training
    layer.train()
    assert float(layer(zero)) == 11.0 and float(layer(zero, training=False)) == 0.0
    assert layer.inner.training


def test_numpy_and_python_inputs_become_tensors():
    layer = layers.Dense(1, kernel_initializer="ones")
    out = layer(np.array([[1.0, 2.0]]))  # float64 -> float32
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and float(out.detach()) == 3.0
    assert float(layer([[1.0, 2.0]]).detach()) == 3.0
    layer.to(torch.float64)
    assert layer(np.array([[1.0, 2.0]])).dtype == torch.float64


def test_layer_holding_lists_and_dicts_of_layers():
    class Block(Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.stack = [layers.Dense(3), layers.Dense(2)]
            self.heads = {"a": layers.Dense(1)}
            self.plain = torch.nn.Linear(2, 2)

        def call(self, x):
            for layer in self.stack:
                x = layer(x)
            return self.heads["a"](self.plain(x))
    block = Block()
    block(torch.ones(1, 4))
    assert [l.name for l in block._sublayers()] == ["dense", "dense_1", "dense_2"]
    assert [tuple(w.shape) for w in block.get_weights()] == [(4, 3), (3,), (3, 2), (2,), (2, 1), (1,), (2, 2), (2,)]
    assert len(list(block.parameters())) == 8
    assert isinstance(block.stack, torch.nn.ModuleList)


def test_input_spec_is_checked_at_symbolic_calls():
    class NeedsRank3(Layer):
        input_spec = InputSpec(ndim=3)

        def call(self, x):
            return x
    with pytest.raises(ShapeError, match=r"'needs_rank3'.*rank 3.*\(None, 4\)"):
        NeedsRank3()(loom.Input((4,)))
    assert NeedsRank3()(loom.Input((2, 4))).shape == (None, 2, 4)


def test_shapes_of_a_called_layer():
    dense = layers.Dense(3)
    with pytest.raises(GraphError, match="never been called"):
        dense.output_shape
    with pytest.raises(GraphError, match="never been called"):
        dense.output
    x = loom.Input((5,))
    y = dense(x)
    assert dense.input_shape == (None, 5) and dense.output_shape == (None, 3)
    assert dense.input is x and dense.output is y
    dense(loom.Input((2, 5)))
    with pytest.raises(GraphError, match="ambiguous"):
        dense.output_shape


def test_masking_defaults():
    class Pass(Layer):
        supports_masking = True

        def call(self, x):
            return x
    mask = torch.tensor([True, False])
    assert Pass().compute_mask(torch.ones(2), mask) is mask
    assert Scale().compute_mask(torch.ones(2), mask) is None  # supports_masking is False by default


def test_build_errors_name_the_layer():
    class Picky(Layer):
        def build(self, input_shape):
            raise ValueError("wants more")

        def call(self, x):
            return x
    with pytest.raises(ShapeError, match=r"'picky'.*\(None, 3\).*wants more"):
        Picky()(loom.Input((3,)))


def test_config_and_regularization_losses():
    layer = layers.Dense(2, name="d", kernel_regularizer="l2")
    assert layer.get_config()["name"] == "d" and layer.get_config()["trainable"] is True
    layer(torch.ones(1, 3))
    assert len(layer.losses) == 1 and layer.losses[0].ndim == 0
    clone = layers.Dense.from_config(layer.get_config())
    assert clone.units == 2 and clone.name == "d"


def test_call_without_inputs_is_an_error():
    with pytest.raises(InputError, match="without inputs"):
        layers.Dense(2)._call_symbolic((), {})


def test_unusual_numpy_inputs():
    layer = layers.Dense(1, kernel_initializer="ones")
    big_endian = np.array([[1.0, 2.0]], dtype=">f8")
    assert float(layer(big_endian).detach()) == 3.0
    transposed = np.array([[1.0], [2.0]]).T  # not C-contiguous
    assert float(layer(transposed).detach()) == 3.0
    with pytest.raises(InputError, match="dtype <U"):
        layer(np.array([["a", "b"]]))
    with pytest.raises(InputError, match="Cannot turn list"):
        layer([[1.0, 2.0], [3.0]])


# ------------------------------------------------------------------------- input dtypes as Keras treats them
def _keras_and_loom(make, x):
    from tests.keras_oracle import keras
    klayer, layer = make(keras.layers), make(loom.layers)
    expected = klayer(x)
    layer(x[:1])
    layer.set_weights(klayer.get_weights())
    return expected, layer(x)


@pytest.mark.parametrize("name, make, dtype, shape", [
    ("dense_int", lambda L: L.Dense(3), "int64", (4, 5)),
    ("dense_float64", lambda L: L.Dense(3), "float64", (4, 5)),
    ("conv_float64", lambda L: L.Conv1D(2, 3), "float64", (2, 6, 3)),
    ("lstm_int", lambda L: L.LSTM(2), "int64", (2, 5, 3)),
    ("batchnorm_int", lambda L: L.BatchNormalization(), "int64", (4, 5)),
    ("embedding_ids", lambda L: L.Embedding(20, 3), "int64", (4, 5)),
    ("activation_int_stays_int", lambda L: L.Activation("relu"), "int64", (4, 5)),
])
def test_numpy_inputs_are_converted_as_keras_converts_them(name, make, dtype, shape):
    rng = np.random.default_rng(0)
    x = (rng.integers(-5, 15, size=shape) if dtype == "int64" else rng.normal(size=shape)).astype(dtype)
    if name == "embedding_ids":
        x = np.abs(x)
    expected, out = _keras_and_loom(make, x)
    assert out.dtype == expected.dtype
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().cpu().numpy(), rtol=1e-5, atol=1e-5)


def test_conv_on_integer_data_computes_in_float():
    x = np.arange(2 * 6 * 3).reshape(2, 6, 3)
    layer = loom.layers.Conv1D(2, 3)
    out = layer(x)
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.detach().numpy(), layer(x.astype("float32")).detach().numpy(), rtol=1e-6)


def test_subclassed_model_on_int64_and_float64_arrays():
    class Model(loom.Model):
        def __init__(self):
            super().__init__()
            self.embed = loom.layers.Embedding(10, 4)
            self.dense = loom.layers.Dense(4)

        def call(self, inputs):
            ids, features = inputs
            return self.dense(features) + self.embed(ids).mean(axis=1)

    model = Model()
    ids = np.array([[1, 2], [3, 4]], dtype=np.int64)
    out = model([ids, np.ones((2, 3), dtype=np.int64)])
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.detach().numpy(), model([ids, np.ones((2, 3))]).detach().numpy(), rtol=1e-6)


# ------------------------------------------------------------------ a custom layer written as in Keras 3
def _custom_layer_class(lib):
    class ScaledDense(lib.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal",
                                     name="w")
            self.scale = self.add_weight(shape=(), initializer="ones", name="scale")

        def call(self, inputs):
            return torch.matmul(inputs, self.w.value) * self.scale.value

        def compute_output_shape(self, input_shape):
            return input_shape[:-1] + (self.units,)
    return ScaledDense


def test_custom_layer_with_add_weight_build_and_compute_output_shape_matches_keras():
    from tests.keras_oracle import keras
    models = []
    for lib in (keras, loom):
        inputs = lib.Input((4,))
        outputs = _custom_layer_class(lib)(3, name="scaled")(inputs)
        models.append(lib.Model(inputs, outputs))
    kmodel, model = models
    assert model.output_shape == kmodel.output_shape == (None, 3)
    model.set_weights(kmodel.get_weights())
    assert [w.path for w in model.weights] == [w.path for w in kmodel.weights] == ["scaled/w", "scaled/scale"]
    x = np.random.default_rng(0).normal(size=(5, 4))
    np.testing.assert_allclose(model.predict(x, verbose=0), kmodel.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_stateless_call_matches_keras_and_leaves_weights_alone():
    from tests.keras_oracle import keras
    outs = []
    for lib in (loom, keras):
        lib.utils.set_random_seed(0)
        model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(4), lib.layers.BatchNormalization(),
                                lib.layers.Dense(2)])
        before = [np.array(w) for w in model.get_weights()]
        trainable = [torch.full(tuple(w.shape), 0.1 * (i + 1)) for i, w in enumerate(model.trainable_weights)]
        frozen = [torch.tensor(np.asarray(lib.ops.convert_to_numpy(w))) for w in model.non_trainable_weights]
        x = np.linspace(-1, 1, 15, dtype="float32").reshape(5, 3)
        out, new = model.stateless_call(trainable, frozen, x, training=True)
        outs.append((np.asarray(lib.ops.convert_to_numpy(out)), [np.asarray(lib.ops.convert_to_numpy(v)) for v in new]))
        for a, b in zip(before, model.get_weights()):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-5, atol=1e-6)
    for a, b in zip(outs[0][1], outs[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_stateless_call_is_differentiable_in_the_given_values():
    layer = loom.layers.Dense(2, kernel_initializer="ones")
    layer.build((None, 3))
    kernel = torch.full((3, 2), 2.0, requires_grad=True)
    out, _ = layer.stateless_call([kernel, torch.zeros(2)], [], torch.ones(4, 3))
    out.sum().backward()
    assert kernel.grad.tolist() == [[4.0, 4.0]] * 3 and layer.kernel.grad is None
    with pytest.raises(loom.LoomError, match="stateless_call got 1 trainable"):
        layer.stateless_call([kernel], [], torch.ones(1, 3))


def _summary_lines(model):
    out = []
    model.summary(print_fn=lambda text, **_: out.extend(text.rstrip("\n").split("\n")))
    return out


def _subclassed(lib, with_build):
    class Net(lib.Model):
        def __init__(self):
            super().__init__(name="net")
            self.hidden = lib.layers.Dense(4, name="hidden")
            self.head = lib.layers.Dense(2, name="head")

        def call(self, x):
            return self.head(self.hidden(x))

    class BuiltNet(Net):
        def build(self, input_shape):
            self.hidden.build(input_shape)
            self.head.build((None, 4))
    return BuiltNet() if with_build else Net()


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("with_build", [False, True])
def test_explicit_build_of_a_subclassed_model_matches_keras(with_build, monkeypatch):
    from tests.keras_oracle import keras
    monkeypatch.setenv("COLUMNS", "130")
    ours, theirs = _subclassed(loom, with_build), _subclassed(keras, with_build)
    ours.build((None, 3))
    theirs.build((None, 3))
    assert ours.built and theirs.built
    assert [(w.path, tuple(w.shape)) for w in ours.weights] == [(w.path, tuple(w.shape)) for w in theirs.weights]
    assert len(ours.weights) == (4 if with_build else 0)  # Keras's default build makes no weights
    assert _summary_lines(ours) == _summary_lines(theirs)
    data = np.ones((5, 3), "float32")
    expected = keras.ops.convert_to_numpy(theirs(data))  # the first call builds the sublayers if needed
    ours(data)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(ours(data).detach().numpy(), expected, atol=1e-6)
    ours.compile("sgd", "mse")
    ours.fit(data, np.ones((5, 2), "float32"), verbose=0)


def test_explicit_default_build_warns_as_keras_only_with_unbuilt_sublayers():
    from tests.keras_oracle import keras
    for lib in (loom, keras):
        with pytest.warns(UserWarning, match="does not have a `build\\(\\)` method implemented"):
            _subclassed(lib, False).build((None, 3))
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _subclassed(loom, True).build((None, 3))  # an own build: no warning
        layer = Scale()
        layer.build((None, 3))
        assert layer.built
        net = _subclassed(loom, False)
        net(np.ones((2, 3), "float32"))  # the lazy build of a call does not warn
        assert net.built and len(net.weights) == 4


def test_variables_trainable_variables_and_non_trainable_variables_are_keras_names_for_the_weights():
    """WGAN-GP's train_step reads ``self.discriminator.trainable_variables`` (Keras's name for the weights)."""
    from tests.keras_oracle import keras
    counts = {}
    for lib in (keras, loom):
        model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(2), lib.layers.BatchNormalization(),
                                lib.layers.Dense(1)])
        model.layers[2].trainable = False
        counts[lib] = [[tuple(v.shape) for v in getattr(model, name)]
                       for name in ("variables", "trainable_variables", "non_trainable_variables")]
        if lib is loom:
            assert model.trainable_variables == model.trainable_weights
            assert model.non_trainable_variables == model.non_trainable_weights
            assert model.variables == model.weights
    assert counts[loom] == counts[keras]


def test_layers_cast_their_inputs_to_their_own_dtype_in_graphs_and_calls_as_keras():
    from tests.keras_oracle import keras

    def build(lib):
        inputs = lib.Input((4,))
        wide = lib.layers.Dense(3, dtype="float64", name="wide")(inputs)
        return lib.Model(inputs, [wide, lib.layers.Dense(2, name="narrow")(wide)])

    theirs, ours = build(keras), build(loom)
    ours.set_weights(theirs.get_weights())
    data = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    for got, want in zip(ours.predict(data, verbose=0), theirs.predict(data, verbose=0)):
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert [o.dtype for o in ours(torch.from_numpy(data))] == [torch.float64, torch.float32]
    layer = ours.get_layer("wide")
    assert layer(torch.from_numpy(data)).dtype == torch.float64  # built: the one-tensor fast path casts too

"""Symbolic tensors and shape inference (loom/symbolic.py)."""

import numpy as np
import pytest
import torch

import loom
from loom import layers
from loom.errors import ShapeError
from loom.symbolic import SymbolicTensor, _has_masks, describe, infer_outputs


def test_input_makes_symbolic_tensor_with_none_batch():
    x = loom.Input((28, 28), name="image")
    assert isinstance(x, SymbolicTensor)
    assert x.shape == (None, 28, 28)
    assert x.ndim == 3
    assert x.dtype == "float32"
    assert x.name == "image"
    assert x.node.layer.name == "image"
    assert "(None, 28, 28)" in repr(x) and "image" in repr(x)


def test_dtypes_and_batch_size():
    ids = loom.Input((None,), dtype="int32")
    assert ids.dtype == "int32" and ids.torch_dtype == torch.int32
    fixed = loom.Input((3,), batch_size=8)
    assert fixed.shape == (8, 3)


def test_symbolic_tensor_has_no_value():
    x = loom.Input((3,))
    with pytest.raises(TypeError, match="truth value"):
        bool(x)
    with pytest.raises(TypeError):
        len(x)
    with pytest.raises(TypeError):
        iter(x)


def test_layer_call_infers_shape_and_keeps_unknown_dims():
    x = loom.Input((None, 8))  # variable sequence length
    y = layers.Dense(4)(x)
    assert y.shape == (None, None, 4)
    assert y.dtype == "float32"
    assert y.node.layer.kernel.shape == (8, 4)  # weights shaped from the input shape


def test_infer_outputs_reports_none_for_data_dependent_sizes():
    class Repeat(loom.layers.Layer):
        def call(self, x):
            return torch.cat([x, x], dim=1)
    x = loom.Input((None, 3))
    out = Repeat()(x)
    assert out.shape == (None, None, 3)
    fixed = Repeat()(loom.Input((5, 3)))
    assert fixed.shape == (None, 10, 3)


def test_infer_outputs_with_several_outputs_and_dtypes():
    class Split(loom.layers.Layer):
        def call(self, x):
            return x[:, :2], (x[:, 2:] > 0).to(torch.int64)
    layer = Split()
    example, specs, has_masks = infer_outputs(layer, (loom.Input((5,)),), {})
    assert specs == [((None, 2), torch.float32), ((None, 3), torch.int64)]
    assert has_masks == [False, False]
    a, b = layer(loom.Input((5,)))
    assert (a.index, b.index) == (0, 1)
    assert b.dtype == "int64"


def test_keras_history_names_layer_node_and_tensor():
    x = loom.Input((4,))
    dense = layers.Dense(2)
    dense(x)
    y = dense(x)
    layer, node_index, tensor_index = y._keras_history
    assert layer is dense and node_index == 1 and tensor_index == 0


def test_shape_error_names_layer_and_shapes():
    class MatMul(loom.layers.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.w = torch.nn.Parameter(torch.ones(7, 2))

        def call(self, x):
            return x @ self.w
    with pytest.raises(ShapeError, match=r"'mm'.*\(None, 3\)"):
        MatMul(name="mm")(loom.Input((3,)))


def test_non_tensor_output_is_an_error():
    class Bad(loom.layers.Layer):
        def call(self, x):
            return 3
    with pytest.raises(ShapeError, match="must be tensors"):
        Bad()(loom.Input((3,)))


def test_subclassed_model_with_unbuilt_layers_can_be_called_symbolically():
    class Net(loom.Model):
        def __init__(self):
            super().__init__()
            self.hidden = layers.Dense(6)

        def call(self, x):
            return self.hidden(x)
    net = Net()
    y = net(loom.Input((5,)))
    assert y.shape == (None, 6)
    assert net.hidden.kernel.shape == (5, 6) and net.hidden.kernel.device.type == "cpu"


def test_cpu_fallback_when_an_op_has_no_meta_kernel(monkeypatch):
    calls = []

    class NoMeta(loom.layers.Layer):
        def call(self, x):
            calls.append(x.device.type)
            if x.device.type == "meta":
                raise NotImplementedError("no meta kernel")
            return x * 2
    y = NoMeta()(loom.Input((3,)))
    assert y.shape == (None, 3)
    assert "cpu" in calls


def test_tensors_a_layer_creates_itself_join_its_symbolic_inputs():
    class AddPositions(loom.layers.Layer):  # as Keras 3's token-and-position embeddings are written
        def call(self, x):
            positions = loom.ops.arange(0, loom.ops.shape(x)[-1], 1)
            return x + loom.ops.cast(loom.ops.expand_dims(positions, 0), x.dtype) + loom.ops.ones((1, 4))
    inputs = loom.Input((4,))
    y = AddPositions()(inputs)
    assert y.shape == (None, 4)
    np.testing.assert_array_equal(loom.Model(inputs, y)(np.zeros((1, 4), "float32")).numpy(), [[1.0, 2.0, 3.0, 4.0]])


def test_a_call_making_its_own_tensors_is_probed_on_real_zeros():
    """A VAE's Sampling layer draws noise of the input's shape: a CPU tensor that meta probes cannot mix with."""
    class Sampling(loom.layers.Layer):
        def __init__(self):
            super().__init__()
            self.seed_generator = loom.random.SeedGenerator(1337)

        def call(self, inputs):
            z_mean, z_log_var = inputs
            shape = (loom.ops.shape(z_mean)[0], loom.ops.shape(z_mean)[1])
            eps = loom.random.normal(shape=shape, seed=self.seed_generator)
            return z_mean + loom.ops.exp(0.5 * z_log_var) * eps + loom.ops.ones(shape)

    z = Sampling()([loom.Input((2,)), loom.Input((2,))])
    assert z.shape == (None, 2) and z.dtype == "float32"

    class Broken(loom.layers.Layer):
        def call(self, x):
            return x @ torch.ones(5, 5, device=x.device)  # a shape error still says so, whatever the device
    with pytest.raises(ShapeError, match="broken"):
        Broken()(loom.Input((3,)))


def test_has_masks_treats_lists_of_none_as_no_mask():
    assert _has_masks(None, 2) == [False, False]
    assert _has_masks([None, None], 1) == [False]
    assert _has_masks([None, torch.ones(1)], 2) == [False, True]
    assert _has_masks(torch.ones(1), 1) == [True]


def test_probe_and_describe():
    t = SymbolicTensor((None, 3), "float32")
    assert t.probe(5).shape == (5, 3) and t.probe(5).device.type == "meta"
    cpu = t.probe(2, "cpu")
    assert cpu.device.type == "cpu" and float(cpu.abs().sum()) == 0.0
    assert describe([t, torch.zeros(2, 3)]) == "[(None, 3), (2, 3)]"
    assert SymbolicTensor((2, np.int64(3))).shape == (2, 3)


def test_unbuilt_layer_whose_real_probe_fails_on_values_builds_on_length_one_and_probes_on_meta():
    """Positions ``arange(length)`` looked up in an Embedding of ``sequence_length`` rows: the real probe of
    length 83 fails on the values, as it cannot in Keras's meta trace, so the weights come from a length-1 run."""
    class PositionalEmbedding(loom.layers.Layer):
        def __init__(self, sequence_length, **kwargs):
            super().__init__(**kwargs)
            self.tokens = loom.layers.Embedding(10, 4)
            self.positions = loom.layers.Embedding(sequence_length, 4)

        def call(self, inputs):
            return self.tokens(inputs) + self.positions(loom.ops.arange(0, loom.ops.shape(inputs)[-1], 1))

    layer = PositionalEmbedding(5)
    y = layer(loom.Input((None,), dtype="int32"))
    assert y.shape == (None, None, 4)
    assert layer.positions.embeddings.shape == (5, 4)
    assert tuple(layer(np.ones((2, 5), "int32")).shape) == (2, 5, 4)


def test_a_layer_that_fails_on_every_probe_still_names_the_first_error():
    class TooLong(loom.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.positions = loom.layers.Embedding(3, 2)

        def call(self, inputs):
            return self.positions(loom.ops.arange(0, 7, 1)) + inputs[..., :1]

    with pytest.raises(loom.errors.InputError, match="got the index 3"):
        TooLong()(loom.Input((None, 2)))


def test_python_operators_on_symbolic_tensors_record_ops_as_keras(tmp_path):
    """``x + inputs`` (a residual), ``2 * x``, ``x[:, 0]``... on model inputs, as Keras's KerasTensor allows."""
    from tests.keras_oracle import keras
    from tests.tolerance import assert_allclose_scaled

    def build(lib):
        inputs = lib.Input((4, 3))
        x = lib.layers.Dense(3)(inputs)
        x = (x + inputs) * 2 - 1.0 / (abs(x) + 1) + (-x) ** 2 + 3 % (abs(x) + 2) // 1
        mask = (x > 0) & (x <= 5) | ~(x < -1) ^ (x >= 2)
        x = x * lib.ops.cast(mask, "float32") + (x != 0)
        return lib.Model(inputs, x[:, 0] @ lib.ops.ones((3, 2)))

    km, lm = build(keras), build(loom)
    lm.set_weights(km.get_weights())
    data = np.random.default_rng(0).normal(size=(5, 4, 3)).astype("float32")
    assert_allclose_scaled(lm.predict(data, verbose=0), km.predict(data, verbose=0))
    t = lm.inputs[0]
    assert {t: 1}[t] == 1 and (t == t) is True  # == stays identity: tensors still key dicts


def test_element_wise_ops_on_symbolic_tensors_save_as_keras_operation_nodes(tmp_path):
    """A residual ``x + inputs`` and friends load back in safe mode, in loom and in Keras (no Lambda)."""
    from tests.keras_oracle import keras
    from tests.tolerance import assert_allclose_scaled

    inputs = loom.Input((4, 3))
    x = loom.layers.Dense(3)(inputs)
    x = (x + inputs) * 2 - abs(x) / 3
    model = loom.Model(inputs, loom.layers.Dense(3)(-x) * (x > 0))
    assert not any(isinstance(layer, loom.layers.Lambda) for layer in model.layers[:-2])
    path = str(tmp_path / "residual.keras")
    model.save(path)
    data = np.random.default_rng(0).normal(size=(5, 4, 3)).astype("float32")
    expected = model.predict(data, verbose=0)
    np.testing.assert_array_equal(loom.models.load_model(path).predict(data, verbose=0), expected)
    assert_allclose_scaled(keras.models.load_model(path).predict(data, verbose=0), expected)
def test_python_operators_and_indexing_build_graph_nodes_as_keras():
    """Keras's KerasTensor operators (the Deep & Cross pattern ``x0 * dense(x) + x``) and ``x[:, i]``."""
    from tests.keras_oracle import keras

    def build(lib):
        x = lib.Input((3,))
        dense = lib.layers.Dense(3, kernel_initializer="ones")
        outputs = [x * dense(x) + x, (2.0 - x) / (x + 1.0) ** 2, -abs(x)[:, 1], x[..., 0:2] @ lib.ops.ones((2, 4)),
                   1.0 + x // 2.0 % 3.0, (x > 1.0) & (x <= 3.0), ~(x < 2.0) | (x >= 3.0)]
        return lib.Model(x, outputs)
    data = np.array([[1.0, 2.0, 3.0], [-1.5, 0.5, 4.0]], "float32")
    ours, theirs = build(loom), build(keras)
    for got, want, tensor in zip(ours.predict(data, verbose=0), theirs.predict(data, verbose=0), theirs.outputs):
        np.testing.assert_allclose(got, want, rtol=1e-6)
        assert got.shape[1:] == tuple(tensor.shape[1:])
    x = loom.Input((3,))
    assert {x: 1}[x] == 1 and x == x  # == stays identity (dict keys); != is ops.not_equal, as on KerasTensor
    assert (x != loom.Input((3,))).dtype == "bool"

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
    assert {x: 1}[x] == 1 and x == x and (x != loom.Input((3,)))

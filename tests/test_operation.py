"""Operation and Function against keras.Operation / keras.Function."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, GraphError
from tests.keras_oracle import keras


def _scaled_op(lib):
    class Scale(lib.Operation):
        def __init__(self, factor=2.0, name=None):
            super().__init__(name=name)
            self.factor = factor

        def call(self, x):
            return lib.ops.multiply(x, self.factor)

        def compute_output_spec(self, x):  # Keras needs it; loom infers it and ignores nothing
            return lib.KerasTensor(x.shape, x.dtype)
    return Scale


def _run(lib):
    op = _scaled_op(lib)(factor=3.0, name="scale")
    x = np.arange(6, dtype="float32").reshape(2, 3)
    eager = np.asarray(lib.ops.convert_to_numpy(op(x)))
    a, b = lib.Input((3,)), lib.Input((3,))
    out = op(lib.ops.add(a, b))
    f = lib.Function([a, b], out)
    graph = np.asarray(lib.ops.convert_to_numpy(f([x, x])))
    return eager, graph, tuple(out.shape), len(f.inputs), len(f.outputs), op.get_config()


def test_operation_and_function_match_keras():
    ours, theirs = _run(loom), _run(keras)
    np.testing.assert_allclose(ours[0], theirs[0])
    np.testing.assert_allclose(ours[1], theirs[1])
    assert ours[2:] == theirs[2:]


def test_operation_round_trips_its_config():
    Scale = _scaled_op(loom)
    op = Scale.from_config(Scale(factor=4.0, name="s4").get_config())
    assert op.name == "s4" and op.factor == 4.0


def test_operation_with_unsaveable_arguments_says_so():
    class Holds(loom.Operation):
        def __init__(self, thing, name=None):
            super().__init__(name=name)
            self.thing = thing

        def call(self, x):
            return x
    with pytest.raises(ConfigError, match="get_config"):
        Holds(object()).get_config()


def test_operation_input_output_and_spec():
    op = _scaled_op(loom)()
    with pytest.raises(GraphError, match="never been called"):
        op.output
    x = loom.Input((4,))
    y = op(x)
    assert op.input is x and op.output is y
    spec = op.compute_output_spec(loom.Input((5, 2)))
    assert tuple(spec.shape) == (None, 5, 2)


def test_function_rejects_real_tensors_and_trains_nothing():
    with pytest.raises(GraphError, match="placeholders"):
        loom.Function(torch.ones(2), torch.ones(2))
    x = loom.Input((2,))
    f = loom.Function(x, loom.layers.Dense(3)(x))
    assert f.compute_output_shape((None, 2)) == (None, 3)
    assert tuple(f(torch.ones(4, 2)).shape) == (4, 3)

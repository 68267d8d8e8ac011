"""The shared ``loom.ops`` machinery (``loom/ops/_tensor.py``) against Keras: conversion, promotion, axes."""

import itertools

import numpy as np
import pytest
import torch

from loom.errors import InputError, ShapeError
from loom.ops import _tensor
from tests.keras_oracle import keras

DTYPES = ["bool", "uint8", "uint16", "uint32", "int8", "int16", "int32", "int64", "bfloat16", "float16", "float32",
          "float64", int, float]


def _keras_or_error(fn, *args):
    try:
        return fn(*args)
    except ValueError:
        return "error"


def _loom_or_error(*args):
    try:
        return _tensor.result_type(*args)
    except InputError:
        return "error"


def test_result_type_matches_keras_for_every_pair_and_triple():
    for combo in itertools.chain(itertools.product(DTYPES, repeat=2), itertools.product(DTYPES, repeat=3)):
        assert _loom_or_error(*combo) == _keras_or_error(keras.backend.result_type, *combo), combo


def test_result_type_of_values_and_defaults():
    assert _tensor.result_type() == "float32"
    assert _tensor.result_type(torch.zeros(2, dtype=torch.int8), 3) == "int8"  # a Python int stays weak
    assert _tensor.result_type(np.zeros(2, "uint8"), 2.5) == "float32"
    assert _tensor.result_type(None, "int32") == "float32"


VALUES = [1, 1.5, True, [1, 2], [1.0, 2], [True, False], [], [[1], [2.5]], (1, 2), np.float64(2.0), np.float32(2),
          np.int64(3), np.int32(2), np.array([1.0]), np.array([1]), np.array([1], "uint8"), np.array([1], "uint16"),
          np.array([1], "uint32"), np.array([1], "int16"), np.array(True), np.zeros((2, 3), "float16")]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_convert_to_tensor_dtypes_match_keras(value):
    got, want = _tensor.convert_to_tensor(value), keras.ops.convert_to_tensor(value)
    assert got.dtype == want.dtype and tuple(got.shape) == tuple(want.shape)
    np.testing.assert_array_equal(got.numpy(), keras.ops.convert_to_numpy(want))


ARRAY_LISTS = [[np.full((2, 3), 0.5, "float32")], [np.full(2, 2.5)], [np.arange(3), np.arange(3)],
               [np.ones(2, "float16"), np.zeros(2, "float16")], [[np.arange(2, dtype="uint8")]],
               ([np.ones(2, "bool")],)]


@pytest.mark.parametrize("value", ARRAY_LISTS, ids=repr)
def test_convert_to_tensor_stacks_lists_of_arrays_like_keras(value):
    """``ops.convert_to_tensor([image])`` (a batch of one NumPy image): the dtype of the items, 64 bits narrowed."""
    got, want = _tensor.convert_to_tensor(value), keras.ops.convert_to_tensor(value)
    assert got.dtype == want.dtype and tuple(got.shape) == tuple(want.shape)
    np.testing.assert_array_equal(got.numpy(), keras.ops.convert_to_numpy(want))


def test_convert_to_tensor_refuses_ragged_arrays_clearly():
    with pytest.raises(InputError, match="cannot stack"):
        _tensor.convert_to_tensor([np.ones(2), np.ones(3)])


def test_convert_to_tensor_casts_and_passes_tensors_through():
    t = torch.ones(2)
    assert _tensor.convert_to_tensor(t) is t
    assert _tensor.convert_to_tensor(t, "int32").dtype == torch.int32
    assert _tensor.convert_to_tensor([1, 2], dtype="float16").dtype == torch.float16
    assert _tensor.convert_to_tensor([torch.ones(2), torch.zeros(2)]).shape == (2, 2)


def test_convert_to_tensor_reads_variables():
    class Var:  # anything holding its tensor in `.value`, as loom's and Keras's variables do
        value = torch.arange(3.0)

    assert _tensor.convert_to_tensor(Var()) is Var.value
    assert torch.equal(_tensor.convert_to_tensor(keras.Variable([1.0, 2.0])), torch.tensor([1.0, 2.0]))


def test_convert_to_tensor_refusals():
    with pytest.raises(InputError, match="dtype <U1"):
        _tensor.convert_to_tensor(np.array(["a"]))
    with pytest.raises(InputError, match="uint64"):
        _tensor.convert_to_tensor(np.array([1], "uint64"))
    with pytest.raises(InputError, match="sparse"):
        _tensor.convert_to_tensor([1], sparse=True)
    with pytest.raises(InputError, match="cannot turn list"):
        _tensor.convert_to_tensor([[1, 2], [3]])


def test_dtype_names():
    for name in ("uint16", "uint32", "uint64", "bfloat16", "complex64", "bool"):
        assert _tensor.dtype_name(_tensor.to_torch_dtype(name)) == name
    assert _tensor.to_torch_dtype(None) == torch.float32
    assert _tensor.to_torch_dtype(np.int16) == torch.int16
    assert _tensor.standardize_dtype(float) == "float32"
    with pytest.raises(InputError, match="Unknown dtype 'float13'"):
        _tensor.to_torch_dtype("float13")


def test_canonical_axis():
    assert _tensor.canonical_axis(None, 3, "op") is None
    assert _tensor.canonical_axis(-1, 3, "op") == (2,)
    assert _tensor.canonical_axis([0, -2], 3, "op") == (0, 1)
    assert _tensor.canonical_axis(0, 0, "op") == (0,)  # a scalar accepts axis 0 / -1, as NumPy
    with pytest.raises(InputError, match=r"ops\.mean: `axis`=3 is out of range for an input of rank 3"):
        _tensor.canonical_axis(3, 3, "mean")
    with pytest.raises(InputError, match=r"ops\.flip: `axes`=\(1, -2\) repeats an axis"):
        _tensor.canonical_axis((1, -2), 3, "flip", "axes")


def test_broadcast_shapes_or_raise():
    assert _tensor.broadcast_shapes_or_raise("add", torch.zeros(2, 1), (3,)) == (2, 3)
    with pytest.raises(ShapeError, match=r"ops\.add: shapes \(2, 3\), \(4,\) cannot be broadcast together"):
        _tensor.broadcast_shapes_or_raise("add", torch.zeros(2, 3), torch.zeros(4))


def test_op_decorator_names_the_op_for_torch_failures():
    @_tensor.op("boom")
    def boom(x):
        return torch.zeros(2) @ torch.zeros(3)

    with pytest.raises(InputError, match=r"^ops\.boom: "):
        boom(1)

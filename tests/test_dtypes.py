"""Keras's dtype names and promotion rules (loom.dtypes, loom.backend) against keras.backend."""

import itertools

import numpy as np
import pytest
import torch

from loom import backend, dtypes
from loom.errors import ConfigError
from tests.keras_oracle import keras

_PROMOTABLE = ["bool", "uint8", "uint16", "uint32", "int8", "int16", "int32", "int64", "bfloat16", "float16",
               "float32", "float64", int, float]


@pytest.mark.parametrize("a,b", list(itertools.combinations_with_replacement(_PROMOTABLE, 2)))
def test_result_type_matches_keras(a, b):
    assert backend.result_type(a, b) == keras.backend.result_type(a, b)


def test_result_type_edge_cases():
    assert backend.result_type() == keras.backend.result_type()
    assert backend.result_type("int8", "uint8", "float16") == keras.backend.result_type("int8", "uint8", "float16")
    with pytest.raises(ConfigError):
        backend.result_type("float8_e4m3fn", "float32")


@pytest.mark.parametrize("value", ["float32", np.float16, np.dtype("int8"), torch.int64, torch.bfloat16, None, int,
                                   float, bool, "uint32"])
def test_standardize_dtype_matches_keras(value):
    assert backend.standardize_dtype(value) == keras.backend.standardize_dtype(value)


def test_dtype_predicates_and_torch_dtypes():
    for name in ("float16", "int32", "uint8", "bool", "bfloat16"):
        assert backend.is_float_dtype(name) == keras.backend.is_float_dtype(name)
        assert backend.is_int_dtype(name) == keras.backend.is_int_dtype(name)
    assert backend.torch_dtype("float16") is torch.float16 and backend.torch_dtype(None) is torch.float32
    with pytest.raises(ConfigError, match="Unknown dtype"):
        dtypes.standardize_dtype("float7")

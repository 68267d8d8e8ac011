"""pad_sequences against keras.utils.pad_sequences."""

import itertools

import numpy as np
import pytest

from loom.datasets.sequence import pad_sequences
from loom.errors import ConfigError, InputError, ShapeError
from tests.keras_oracle import keras

RNG = np.random.RandomState(0)
INT_SEQUENCES = [list(RNG.randint(1, 50, size=n)) for n in [3, 0, 7, 1, 5, 9, 2]]


def assert_same_as_keras(sequences, **kwargs):
    expected = keras.utils.pad_sequences(sequences, **kwargs)
    result = pad_sequences(sequences, **kwargs)
    assert result.dtype == expected.dtype
    assert result.shape == expected.shape
    np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize(
    "maxlen, padding, truncating",
    list(itertools.product([None, 1, 4, 9, 12], ["pre", "post"], ["pre", "post"])),
)
def test_parity_with_keras(maxlen, padding, truncating):
    assert_same_as_keras(INT_SEQUENCES, maxlen=maxlen, padding=padding, truncating=truncating)


@pytest.mark.parametrize("dtype, value", [("float32", 0.5), ("int64", -1), ("float64", np.nan), ("int32", 7)])
def test_parity_dtype_and_value(dtype, value):
    assert_same_as_keras(INT_SEQUENCES, maxlen=6, dtype=dtype, value=value, padding="post")


def test_parity_numpy_arrays_and_vector_elements():
    vectors = [RNG.standard_normal((n, 3)).astype("float32") for n in [2, 5, 0, 4]]
    assert_same_as_keras(vectors, maxlen=3, dtype="float32")
    assert_same_as_keras([np.arange(n) for n in [4, 1, 6]], truncating="post")


def test_parity_strings_with_object_dtype():
    words = [["a", "b"], ["c"], ["d", "e", "f"]]
    assert_same_as_keras(words, dtype=object, value="<pad>")


def test_docstring_examples():
    sequences = [[1], [2, 3], [4, 5, 6]]
    np.testing.assert_array_equal(pad_sequences(sequences, maxlen=2), [[0, 1], [2, 3], [5, 6]])
    np.testing.assert_array_equal(pad_sequences(sequences, padding="post"), [[1, 0, 0], [2, 3, 0], [4, 5, 6]])


def test_edge_cases_keras_fails_on():
    assert pad_sequences([]).shape == (0, 0)
    np.testing.assert_array_equal(pad_sequences([[1, 2], [3]], maxlen=0), np.zeros((2, 0)))


@pytest.mark.parametrize("kwargs", [{"padding": "middle"}, {"truncating": "both"}, {"maxlen": -1}])
def test_invalid_options_raise_config_error(kwargs):
    with pytest.raises(ConfigError, match="pre|maxlen"):
        pad_sequences(INT_SEQUENCES, **kwargs)
    with pytest.raises(ValueError):
        keras.utils.pad_sequences(INT_SEQUENCES, **kwargs)


def test_bad_inputs():
    with pytest.raises(InputError, match="item 1"):
        pad_sequences([[1, 2], 3])
    with pytest.raises(InputError, match="list of sequences"):
        pad_sequences(5)
    with pytest.raises(ShapeError, match="sequence 1"):
        pad_sequences([np.zeros((2, 3)), np.zeros((2, 4))])
    with pytest.raises(ConfigError, match="dtype=object"):
        pad_sequences([["a"]], value="<pad>")

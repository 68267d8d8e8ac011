import numpy as np
import pytest
import torch

from loom.errors import InputError
from loom.utils import normalize, to_categorical
from tests.keras_oracle import keras


@pytest.mark.parametrize("labels,num_classes", [([0, 2, 1], None), ([[1], [3]], 5), (np.arange(6).reshape(2, 3), 6)])
def test_to_categorical_matches_keras(labels, num_classes):
    np.testing.assert_array_equal(to_categorical(labels, num_classes),
                                  keras.utils.to_categorical(labels, num_classes))


def test_to_categorical_rejects_out_of_range():
    with pytest.raises(InputError, match=r"\[0, 3\)"):
        to_categorical([0, 3], 3)


def test_normalize_matches_keras():
    x = np.random.RandomState(0).rand(4, 5).astype("float32")
    np.testing.assert_allclose(normalize(x), keras.utils.normalize(x), rtol=1e-6)


@pytest.mark.parametrize("labels", [np.array([0, 2, 1]), np.array([0, 2, 1], "int32"), np.array([[0], [2], [1]]),
                                    np.array([0.0, 2.0, 1.0]), [0, 2, 1], np.array([0, 2, 1], "uint8")])
@pytest.mark.parametrize("num_classes", [None, 4])
def test_to_categorical_of_numpy_is_numpy_of_keras_dtype(labels, num_classes):
    ours, theirs = to_categorical(labels, num_classes), keras.utils.to_categorical(labels, num_classes)
    assert type(ours) is type(theirs) is np.ndarray and ours.dtype == theirs.dtype == np.float64
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("labels", [torch.tensor([0, 2, 1]), torch.tensor([0, 2, 1], dtype=torch.int32),
                                    torch.tensor([0.0, 2.0, 1.0]), torch.tensor([[0], [2], [1]])])
def test_to_categorical_of_a_tensor_is_a_tensor_of_keras_dtype(labels):
    ours, theirs = to_categorical(labels, 3), keras.utils.to_categorical(labels, 3)
    assert isinstance(ours, torch.Tensor) and ours.dtype == theirs.dtype == torch.int64
    assert ours.device == labels.device
    torch.testing.assert_close(ours, theirs)
    with pytest.raises(InputError, match=r"\[0, 2\)"):
        to_categorical(labels, 2)

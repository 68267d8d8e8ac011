import numpy as np
import pytest

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

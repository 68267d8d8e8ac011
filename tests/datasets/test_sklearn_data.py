"""load_digits: Keras-style splits of scikit-learn's digits, fixed by the seed; a clear error without sklearn."""

import sys

import numpy as np
import pytest

from loom.datasets.sklearn_data import load_digits
from loom.errors import ConfigError


def test_splits_cover_the_dataset_once():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    digits = sklearn_datasets.load_digits()
    (x_train, y_train), (x_test, y_test) = load_digits()
    assert x_train.shape == (1438, 8, 8) and x_test.shape == (359, 8, 8)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert x_train.min() == 0 and x_train.max() == 16
    images = np.concatenate([x_train, x_test])
    labels = np.concatenate([y_train, y_test])
    order = np.random.RandomState(113).permutation(1797)
    inverse = np.argsort(np.concatenate([order[359:], order[:359]]))
    np.testing.assert_array_equal(images[inverse], digits.images.astype("float32"))
    np.testing.assert_array_equal(labels[inverse], digits.target)


def test_seed_and_test_split():
    pytest.importorskip("sklearn")
    (a, _), _ = load_digits(seed=1)
    (b, _), _ = load_digits(seed=1)
    (c, _), (d, _) = load_digits(seed=2, test_split=0.5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[:10], c[:10])
    assert len(c) + len(d) == 1797 and len(d) == 898


@pytest.mark.parametrize("test_split", [0.0, 1.0, -0.1])
def test_bad_test_split(test_split):
    with pytest.raises(ConfigError, match="between 0 and 1"):
        load_digits(test_split=test_split)


def test_missing_sklearn_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        load_digits()

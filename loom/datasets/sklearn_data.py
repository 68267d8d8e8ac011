"""Small datasets that ship inside scikit-learn, split the Keras way: ``(x_train, y_train), (x_test, y_test)``.

scikit-learn is imported only when a loader is called, so loom works without it.

Example:
    >>> from loom.datasets.sklearn_data import load_digits
    >>> (x_train, y_train), (x_test, y_test) = load_digits()
    >>> x_train.shape, x_test.shape, x_train.dtype
    ((1438, 8, 8), (359, 8, 8), dtype('float32'))
"""

from __future__ import annotations

import numpy as np

from loom.errors import ConfigError


def load_digits(
    test_split: float = 0.2, seed: int = 113
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Loads scikit-learn's 1,797 handwritten digits (8x8 images, values 0-16), split at random.

    The split is fixed by ``seed`` (a ``np.random.RandomState`` permutation), so the same arguments always give
    the same arrays.

    Args:
        test_split: Fraction of the samples put in the test split, in (0, 1). Defaults to `0.2`.
        seed: Seed of the shuffle before splitting. Defaults to `113`.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: float32 images of shape ``(n, 8, 8)`` with values 0-16 and
        int64 labels 0-9.

    Raises:
        ImportError: scikit-learn is not installed (``pip install scikit-learn``).
        loom.errors.ConfigError: ``test_split`` is not strictly between 0 and 1.

    Example:
        >>> (x_train, y_train), _ = load_digits(test_split=0.5, seed=0)
        >>> len(x_train), int(y_train.max())
        (899, 9)
    """
    if not 0.0 < test_split < 1.0:
        raise ConfigError(f"load_digits: test_split must be strictly between 0 and 1; got {test_split}.")
    datasets = _import_sklearn_datasets("load_digits")
    digits = datasets.load_digits()
    images = np.asarray(digits.images, dtype=np.float32)
    labels = np.asarray(digits.target, dtype=np.int64)
    order = np.random.RandomState(seed).permutation(len(labels))
    num_test = int(round(len(labels) * test_split))
    train, test = order[num_test:], order[:num_test]
    return (images[train], labels[train]), (images[test], labels[test])


def _import_sklearn_datasets(loader: str):
    try:
        from sklearn import datasets
    except ImportError as e:
        raise ImportError(
            f"loom.datasets.sklearn_data.{loader} needs scikit-learn, which is not installed. "
            "Install it with: pip install scikit-learn"
        ) from e
    return datasets

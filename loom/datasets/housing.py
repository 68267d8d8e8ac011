"""The seeded shuffle-and-split Keras's housing loaders share (:mod:`boston_housing`, :mod:`california_housing`).

Example:
    >>> import numpy as np
    >>> (x_train, y_train), (x_test, y_test) = shuffle_split(np.arange(10.0)[:, None], np.arange(10.0), 0.2, 113,
    ...                                                      "demo")
    >>> x_train.shape, x_test.shape
    ((8, 1), (2, 1))
"""

from __future__ import annotations

import numpy as np

from loom.datasets.safe_pickle import load_npz
from loom.errors import ConfigError, InputError

Splits = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def read_xy(path: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The ``x`` and ``y`` arrays of a Keras housing ``.npz``."""
    arrays = load_npz(path)
    if "x" not in arrays or "y" not in arrays or len(arrays["x"]) != len(arrays["y"]):
        raise InputError(f"{name}: {path} must hold arrays 'x' and 'y' of the same length; found "
                         f"{ {k: v.shape for k, v in arrays.items()} }.")
    return arrays["x"], arrays["y"]


def check_test_split(test_split: float, name: str) -> None:
    """Raise ConfigError unless ``0 <= test_split < 1``."""
    if not 0 <= test_split < 1:
        raise ConfigError(f"{name}: `test_split` must be in [0, 1); got {test_split}.")


def shuffle_split(x: np.ndarray, y: np.ndarray, test_split: float, seed: int, name: str) -> Splits:
    """Shuffle with ``np.random.RandomState(seed)`` and keep the last ``test_split`` fraction for testing."""
    check_test_split(test_split, name)
    indices = np.arange(len(x))
    np.random.RandomState(seed).shuffle(indices)
    x, y = x[indices], y[indices]
    cut = int(len(x) * (1 - test_split))
    return (np.array(x[:cut]), np.array(y[:cut])), (np.array(x[cut:]), np.array(y[cut:]))

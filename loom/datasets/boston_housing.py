"""Boston housing prices (506 samples, 13 features), read from Keras's ``boston_housing.npz``.

Same splits as ``keras.datasets.boston_housing.load_data``; nothing is downloaded.

Example:
    >>> from loom.datasets import boston_housing
    >>> (x_train, y_train), (x_test, y_test) = boston_housing.load_data()  # doctest: +SKIP
    >>> x_train.shape, x_test.shape  # doctest: +SKIP
    ((404, 13), (102, 13))
"""

from __future__ import annotations

from loom.datasets._files import PathLike, locate_file
from loom.datasets.housing import Splits, check_test_split, read_xy, shuffle_split

ENV_VAR = "LOOM_BOSTON_HOUSING_PATH"
URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/boston_housing.npz"


def load_data(path: PathLike | None = "boston_housing.npz", test_split: float = 0.2, seed: int = 113) -> Splits:
    """Loads the Boston housing dataset, shuffled and split as Keras does.

    Args:
        path: The ``.npz`` file (keys ``x``, ``y``), or a name in Keras's cache ``~/.keras/datasets``. Defaults
            to `"boston_housing.npz"`; ``None`` reads ``$LOOM_BOSTON_HOUSING_PATH``.
        test_split: Fraction kept for testing, in [0, 1). Defaults to `0.2`.
        seed: Seed of the shuffle before splitting. Defaults to `113`.

    Returns:
        ``(x_train, y_train), (x_test, y_test)`` float64 arrays (features ``(n, 13)``, prices ``(n,)``).

    Raises:
        loom.errors.DatasetNotFoundError: the file is not there.
        loom.errors.ConfigError: ``test_split`` out of range.

    Example:
        >>> load_data(test_split=1.5)
        Traceback (most recent call last):
        ...
        loom.errors.ConfigError: boston_housing.load_data: `test_split` must be in [0, 1); got 1.5.
    """
    name = "boston_housing.load_data"
    check_test_split(test_split, name)
    x, y = read_xy(locate_file(path, ENV_VAR, "boston_housing.npz", "boston_housing.npz", URL), name)
    return shuffle_split(x, y, test_split, seed, name)

"""California housing prices (20,640 samples, 8 features), read from Keras's ``california_housing.npz``.

Same versions and splits as ``keras.datasets.california_housing.load_data``; nothing is downloaded.

Example:
    >>> from loom.datasets import california_housing
    >>> (x_train, y_train), _ = california_housing.load_data(version="small")  # doctest: +SKIP
    >>> x_train.shape  # doctest: +SKIP
    (480, 8)
"""

from __future__ import annotations

from loom.datasets._files import PathLike, locate_file
from loom.datasets.housing import Splits, check_test_split, read_xy, shuffle_split
from loom.errors import ConfigError

ENV_VAR = "LOOM_CALIFORNIA_HOUSING_PATH"
URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/california_housing.npz"


def load_data(version: str = "large", path: PathLike | None = "california_housing.npz", test_split: float = 0.2,
              seed: int = 113) -> Splits:
    """Loads the California housing dataset, shuffled and split as Keras does.

    Args:
        version: ``"large"`` (all 20,640 samples) or ``"small"`` (the first 600). Defaults to `"large"`.
        path: The ``.npz`` file (keys ``x``, ``y``), or a name in Keras's cache ``~/.keras/datasets``. Defaults
            to `"california_housing.npz"`; ``None`` reads ``$LOOM_CALIFORNIA_HOUSING_PATH``.
        test_split: Fraction kept for testing, in [0, 1). Defaults to `0.2`.
        seed: Seed of the shuffle before splitting. Defaults to `113`.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: features ``(n, 8)`` and median house values ``(n,)``.

    Raises:
        loom.errors.DatasetNotFoundError: the file is not there.
        loom.errors.ConfigError: unknown ``version`` or ``test_split`` out of range.

    Example:
        >>> load_data(version="medium")
        Traceback (most recent call last):
        ...
        loom.errors.ConfigError: california_housing.load_data: `version` must be one of ['small', 'large']; got 'medium'.
    """
    name = "california_housing.load_data"
    if version not in ("small", "large"):
        raise ConfigError(f"{name}: `version` must be one of ['small', 'large']; got {version!r}.")
    check_test_split(test_split, name)
    x, y = read_xy(locate_file(path, ENV_VAR, "california_housing.npz", "california_housing.npz", URL), name)
    if version == "small":
        x, y = x[:600], y[:600]
    return shuffle_split(x, y, test_split, seed, name)

"""CIFAR-100: 60,000 32x32 colour images in 100 fine (20 coarse) classes, read from local files.

As ``keras.datasets.cifar100``, but nothing is downloaded: loom reads ``cifar-100-python`` (extracted, or
inside ``cifar-100-python.tar.gz``) with a NumPy-only unpickler.

Example:
    >>> from loom.datasets import cifar100
    >>> (x_train, y_train), _ = cifar100.load_data(label_mode="coarse")  # doctest: +SKIP
    >>> int(y_train.max())  # doctest: +SKIP
    19
"""

from __future__ import annotations

import numpy as np

from loom.datasets import cifar
from loom.datasets._files import PathLike
from loom.errors import ConfigError

ENV_VAR = "LOOM_CIFAR100_PATH"
URL = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
FOLDER = "cifar-100-python"


def load_data(label_mode: str = "fine",
              path: PathLike | None = None) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Loads CIFAR-100.

    Args:
        label_mode: ``"fine"`` (100 classes) or ``"coarse"`` (20 superclasses). Defaults to `"fine"`.
        path: ``cifar-100-python.tar.gz``, the ``cifar-100-python`` directory, or a directory containing it.
            Defaults to `None`: ``$LOOM_CIFAR100_PATH``, else Keras's download cache.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images ``(n, 32, 32, 3)`` and int64 labels ``(n, 1)``,
        as Keras.

    Raises:
        ConfigError: ``label_mode`` is neither ``"fine"`` nor ``"coarse"``.
        loom.errors.DatasetNotFoundError: the files are not there.
        loom.errors.InputError: a file is corrupt.

    Example:
        >>> load_data(label_mode="medium")
        Traceback (most recent call last):
        ...
        loom.errors.ConfigError: cifar100.load_data: `label_mode` must be one of ['fine', 'coarse']; got 'medium'.
    """
    if label_mode not in ("fine", "coarse"):
        raise ConfigError(f"cifar100.load_data: `label_mode` must be one of ['fine', 'coarse']; got {label_mode!r}.")
    blobs = cifar.read_members(path, ENV_VAR, FOLDER, "cifar-100-python.tar.gz", "cifar-100-python-target",
                               ["train", "test"], URL)
    key = f"{label_mode}_labels"
    x_train, y_train = cifar.parse_batch(blobs["train"], key, "train")
    x_test, y_test = cifar.parse_batch(blobs["test"], key, "test")
    y_train = np.reshape(y_train, (len(y_train), 1))
    y_test = np.reshape(y_test, (len(y_test), 1))
    return (cifar.to_data_format(x_train), y_train), (cifar.to_data_format(x_test), y_test)

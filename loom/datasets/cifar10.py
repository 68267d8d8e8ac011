"""CIFAR-10: 60,000 32x32 colour images in 10 classes, read from local files, as ``keras.datasets.cifar10``.

Nothing is downloaded. loom reads the "python version" batches (``cifar-10-batches-py``), either extracted
or inside ``cifar-10-python.tar.gz``, with a NumPy-only unpickler.

Example:
    >>> from loom.datasets import cifar10
    >>> (x_train, y_train), (x_test, y_test) = cifar10.load_data()  # doctest: +SKIP
    >>> x_train.shape, y_train.shape  # doctest: +SKIP
    ((50000, 32, 32, 3), (50000, 1))
"""

from __future__ import annotations

import numpy as np

from loom.datasets import cifar
from loom.datasets._files import PathLike

ENV_VAR = "LOOM_CIFAR10_PATH"
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
FOLDER = "cifar-10-batches-py"
TRAIN_FILES = [f"data_batch_{i}" for i in range(1, 6)]


def load_data(path: PathLike | None = None) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Loads CIFAR-10.

    Args:
        path: ``cifar-10-python.tar.gz``, the ``cifar-10-batches-py`` directory, or a directory containing it.
            Defaults to `None`: ``$LOOM_CIFAR10_PATH``, else Keras's download cache.

    Returns:
        ``(x_train, y_train), (x_test, y_test)`` as Keras: uint8 images ``(n, 32, 32, 3)`` (channels_last) and
        uint8 labels 0-9 of shape ``(n, 1)``.

    Raises:
        loom.errors.DatasetNotFoundError: the files are not there (the message says where to get them).
        loom.errors.InputError: a batch is corrupt or holds something other than arrays and labels.

    Example:
        >>> (x_train, y_train), _ = load_data("~/cifar-10-python.tar.gz")  # doctest: +SKIP
    """
    blobs = cifar.read_members(path, ENV_VAR, FOLDER, "cifar-10-python.tar.gz", "cifar-10-batches-py-target",
                               TRAIN_FILES + ["test_batch"], URL)
    parts = [cifar.parse_batch(blobs[name], "labels", name) for name in TRAIN_FILES]
    x_train = np.concatenate([x for x, _ in parts]).astype("uint8")
    y_train = np.concatenate([np.asarray(y, dtype="uint8") for _, y in parts]).reshape(-1, 1)
    x_test, y_test = cifar.parse_batch(blobs["test_batch"], "labels", "test_batch")
    x_test = x_test.astype(x_train.dtype)
    y_test = np.asarray(y_test).astype(y_train.dtype).reshape(-1, 1)
    return (cifar.to_data_format(x_train), y_train), (cifar.to_data_format(x_test), y_test)

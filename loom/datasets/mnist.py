"""MNIST: 70,000 28x28 grayscale images of handwritten digits, read from local files.

Like ``keras.datasets.mnist``, but nothing is downloaded. loom reads either Keras's ``mnist.npz`` (keys
x_train, y_train, x_test, y_test, loaded without pickle) or the four original IDX files.

Example:
    >>> from loom.datasets import mnist
    >>> (x_train, y_train), (x_test, y_test) = mnist.load_data("mnist.npz")  # doctest: +SKIP
    >>> x_train.shape, y_train.dtype  # doctest: +SKIP
    ((60000, 28, 28), dtype('uint8'))
"""

from __future__ import annotations

import os

from loom.datasets._files import PathLike, candidate_locations, describe_locations, keras_cache_dir
from loom.datasets._mnist_format import IDX_FILE_LIST, Splits, find_idx_files, load_idx_files, load_npz
from loom.errors import DatasetNotFoundError

ENV_VAR = "LOOM_MNIST_DIR"
NPZ_NAME = "mnist.npz"
KERAS_NPZ_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"


def load_data(path: PathLike | None = None) -> Splits:
    """Loads MNIST from ``mnist.npz`` or from the four IDX files.

    The place is, in order of precedence: ``path``; the environment variable ``LOOM_MNIST_DIR``; Keras's
    download cache ``~/.keras/datasets/mnist.npz``. A place may be a ``.npz`` file or a directory; in a
    directory the four IDX files are used when present, else ``mnist.npz`` inside it.

    Args:
        path: An ``.npz`` file, or a directory holding ``train-images-idx3-ubyte.gz``,
            ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz`` and ``t10k-labels-idx1-ubyte.gz``
            (each may also be uncompressed) or ``mnist.npz``. Defaults to `None`: search the places above.

    Returns:
        ``(x_train, y_train), (x_test, y_test)`` as in Keras: uint8 images of shape ``(60000, 28, 28)`` and
        ``(10000, 28, 28)`` with values 0-255, and uint8 labels 0-9.

    Raises:
        loom.errors.DatasetNotFoundError: The files are not there; the message says how to get them.
        loom.errors.InputError: A file is truncated, corrupt, stores pickled objects, or does not fit.

    Example:
        >>> (x_train, y_train), _ = load_data("~/.keras/datasets/mnist.npz")  # doctest: +SKIP
        >>> x_train.shape  # doctest: +SKIP
        (60000, 28, 28)
    """
    locations = candidate_locations(path, ENV_VAR, [os.path.join(keras_cache_dir(), NPZ_NAME)])
    for location, _ in locations:
        if os.path.isfile(location):
            return load_npz(location)
        if os.path.isdir(location):
            files, missing = find_idx_files(location)
            if not missing:
                return load_idx_files(files)
            if os.path.isfile(os.path.join(location, NPZ_NAME)):
                return load_npz(os.path.join(location, NPZ_NAME))
    raise DatasetNotFoundError(_not_found_message(locations))


def _not_found_message(locations: list[tuple[str, str]]) -> str:
    return (
        "MNIST files not found. Looked in:\n"
        f"{describe_locations(locations)}\n"
        "No system package ships MNIST, so get the files on a machine with internet access, either:\n"
        f"  * Keras's {NPZ_NAME}: {KERAS_NPZ_URL} (running keras.datasets.mnist.load_data() once puts it in "
        "~/.keras/datasets/, where loom also looks), or\n"
        f"  * the four IDX files {IDX_FILE_LIST} from the MNIST database or a mirror,\n"
        f"then call mnist.load_data(path=FILE_OR_DIR) or set {ENV_VAR}=FILE_OR_DIR."
    )

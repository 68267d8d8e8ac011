"""Fashion-MNIST: 70,000 28x28 grayscale images of clothing in 10 classes, read from local IDX files.

Like ``keras.datasets.fashion_mnist``, but nothing is downloaded: loom reads the four IDX files from disk.
On Debian and Ubuntu, ``apt-get install dataset-fashion-mnist`` puts them in
``/usr/share/datasets/fashion-mnist``, where loom looks by default.

Example:
    >>> from loom.datasets import fashion_mnist
    >>> (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()  # doctest: +SKIP
    >>> x_train.shape, fashion_mnist.class_names[y_train[0]]  # doctest: +SKIP
    ((60000, 28, 28), 'Ankle boot')
"""

from __future__ import annotations

import os

from loom.datasets._files import PathLike, candidate_locations, describe_locations, keras_cache_dir
from loom.datasets._mnist_format import IDX_FILE_LIST, Splits, find_idx_files, load_idx_files
from loom.errors import DatasetNotFoundError

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"
ENV_VAR = "LOOM_FASHION_MNIST_DIR"

class_names = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


def load_data(path: PathLike | None = None) -> Splits:
    """Loads Fashion-MNIST from the four IDX files, gzip-compressed or not.

    The directory is, in order of precedence: ``path``; the environment variable ``LOOM_FASHION_MNIST_DIR``;
    ``/usr/share/datasets/fashion-mnist`` (Debian package ``dataset-fashion-mnist``); Keras's download cache
    ``~/.keras/datasets/fashion-mnist``.

    Args:
        path: Directory holding ``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
            ``t10k-images-idx3-ubyte.gz`` and ``t10k-labels-idx1-ubyte.gz`` (each may also be uncompressed,
            without ``.gz``). Defaults to `None`: search the places above.

    Returns:
        ``(x_train, y_train), (x_test, y_test)`` as in Keras: uint8 images of shape ``(60000, 28, 28)`` and
        ``(10000, 28, 28)`` with values 0-255, and uint8 labels 0-9 (see :data:`class_names`).

    Raises:
        loom.errors.DatasetNotFoundError: The files are not there; the message says how to get them.
        loom.errors.InputError: A file is truncated, corrupt, or does not fit the others.

    Example:
        >>> (x_train, y_train), _ = load_data("/usr/share/datasets/fashion-mnist")  # doctest: +SKIP
        >>> x_train.dtype, y_train.max()  # doctest: +SKIP
        (dtype('uint8'), 9)
    """
    defaults = [DEFAULT_DIR, os.path.join(keras_cache_dir(), "fashion-mnist")]
    locations = candidate_locations(path, ENV_VAR, defaults)
    for directory, _ in locations:
        files, missing = find_idx_files(directory)
        if not missing:
            return load_idx_files(files)
    raise DatasetNotFoundError(_not_found_message(locations))


def _not_found_message(locations: list[tuple[str, str]]) -> str:
    return (
        "Fashion-MNIST files not found. Looked in:\n"
        f"{describe_locations(locations)}\n"
        "To get them, either:\n"
        "  * on Debian/Ubuntu: apt-get install dataset-fashion-mnist  (installs them in "
        f"{DEFAULT_DIR}, which loom reads by default), or\n"
        f"  * download the four IDX files {IDX_FILE_LIST} from "
        "https://github.com/zalandoresearch/fashion-mnist (folder data/fashion) into a directory DIR and call "
        f"fashion_mnist.load_data(path=DIR) or set {ENV_VAR}=DIR."
    )

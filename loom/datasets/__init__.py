"""Standard datasets read from local files, with the API of ``keras.datasets``.

Nothing is downloaded: each loader reads files already on disk and, when they are missing, raises
:class:`loom.errors.DatasetNotFoundError` saying how to get them.

Modules:
    fashion_mnist: Fashion-MNIST from IDX files (Debian package ``dataset-fashion-mnist``).
    mnist: MNIST from Keras's ``mnist.npz`` or IDX files.
    imdb: IMDB reviews from a pickle-free ``.npz``, plus the word index.
    sklearn_data: scikit-learn's bundled datasets (``load_digits``), split the Keras way.
    cifar10, cifar100: CIFAR's python-version batches (extracted or in the ``.tar.gz``), NumPy-only unpickling.
    reuters: Keras's ``reuters.npz`` plus ``get_word_index`` / ``get_label_names``.
    boston_housing, california_housing: Keras's ``.npz`` files, shuffled and split as Keras.
    safe_pickle: reading pickled dataset files that may rebuild NumPy arrays only.
    idx: reading and writing the IDX format.
    sequence: ``pad_sequences``.

Example:
    >>> from loom.datasets import fashion_mnist
    >>> (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()  # doctest: +SKIP
    >>> x_train.shape  # doctest: +SKIP
    (60000, 28, 28)
"""

from loom.datasets import fashion_mnist, idx, imdb, mnist, sequence, sklearn_data
from loom.datasets import boston_housing, california_housing, cifar10, cifar100, reuters, safe_pickle
from loom.datasets.idx import read_idx, write_idx
from loom.datasets.sequence import pad_sequences
from loom.datasets.sklearn_data import load_digits

__all__ = [
    "boston_housing",
    "california_housing",
    "cifar10",
    "cifar100",
    "reuters",
    "safe_pickle",
    "fashion_mnist",
    "idx",
    "imdb",
    "load_digits",
    "mnist",
    "pad_sequences",
    "read_idx",
    "sequence",
    "sklearn_data",
    "write_idx",
]

"""The on-disk layout shared by MNIST and Fashion-MNIST: four IDX files, or Keras's ``.npz`` with four arrays.

Example:
    >>> import os, tempfile
    >>> import numpy as np
    >>> from loom.datasets.idx import write_idx
    >>> from loom.datasets._mnist_format import find_idx_files, load_idx_files
    >>> folder = tempfile.mkdtemp()
    >>> for name, n in [("train", 3), ("t10k", 2)]:
    ...     write_idx(os.path.join(folder, f"{name}-images-idx3-ubyte.gz"), np.zeros((n, 28, 28), "uint8"))
    ...     write_idx(os.path.join(folder, f"{name}-labels-idx1-ubyte.gz"), np.zeros(n, "uint8"))
    >>> files, missing = find_idx_files(folder)
    >>> (x_train, y_train), (x_test, y_test) = load_idx_files(files)
    >>> x_train.shape, y_test.shape
    ((3, 28, 28), (2,))
"""

from __future__ import annotations

import os
import zipfile

import numpy as np

from loom.datasets.idx import read_idx
from loom.errors import InputError

Splits = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
IDX_FILE_LIST = ", ".join(stem + ".gz" for stem in IDX_FILES.values())


def _name_variants(stem: str) -> list[str]:
    """``train-images-idx3-ubyte`` gzipped or not, and the ``train-images.idx3-ubyte`` some unzip tools write."""
    dotted = stem.replace("-idx", ".idx")
    return [stem + ".gz", stem, dotted + ".gz", dotted]


def find_idx_files(directory: str) -> tuple[dict[str, str], list[str]]:
    """Finds the four IDX files in ``directory``.

    Args:
        directory: The folder to look in.

    Returns:
        ``(found, missing)``: a dict from split key (``"x_train"``, ...) to file path, and the names not found.
    """
    found, missing = {}, []
    for key, stem in IDX_FILES.items():
        paths = [os.path.join(directory, name) for name in _name_variants(stem)]
        existing = [p for p in paths if os.path.isfile(p)]
        if existing:
            found[key] = existing[0]
        else:
            missing.append(stem + "[.gz]")
    return found, missing


def load_idx_files(files: dict[str, str]) -> Splits:
    """Reads the four IDX files that :func:`find_idx_files` found and checks they fit together."""
    arrays = {key: read_idx(path) for key, path in files.items()}
    return check_splits(arrays, dict(files))


def load_npz(path: str) -> Splits:
    """Reads a Keras-style ``.npz`` (keys x_train, y_train, x_test, y_test) without pickle."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            absent = [key for key in NPZ_KEYS if key not in archive.files]
            arrays = {key: archive[key] for key in NPZ_KEYS if key in archive.files}
    except (ValueError, zipfile.BadZipFile, EOFError, OSError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise InputError(f"{path}: cannot read as a pickle-free .npz archive ({e}). Download the file again.") from e
    if absent:
        raise InputError(f"{path}: the .npz lacks {absent}; expected the keys {list(NPZ_KEYS)}.")
    return check_splits(arrays, {key: f"{path}[{key}]" for key in NPZ_KEYS})


def check_splits(arrays: dict[str, np.ndarray], sources: dict[str, str]) -> Splits:
    """Checks images are ``(n, height, width)`` uint8 and labels ``(n,)`` uint8 with matching ``n``."""
    for key, array in arrays.items():
        want_ndim = 3 if key.startswith("x") else 1
        if array.ndim != want_ndim or array.dtype != np.uint8:
            kind = "images (n, height, width)" if want_ndim == 3 else "labels (n,)"
            raise InputError(
                f"{sources[key]}: expected uint8 {kind}, got shape {array.shape} of {array.dtype}. "
                "Is this the right file?"
            )
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if len(images) != len(labels):
            raise InputError(
                f"{sources[f'x_{split}']} holds {len(images)} images but {sources[f'y_{split}']} holds "
                f"{len(labels)} labels; the {split} files do not belong together."
            )
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])

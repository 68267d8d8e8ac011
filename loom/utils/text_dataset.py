"""``text_dataset_from_directory``: a streaming dataset of ``.txt`` files (and labels) from a directory tree.

Same arguments, file order, labels and subsets as ``keras.utils.text_dataset_from_directory``. A batch of
texts is a NumPy array of Python strings (``(batch,)``); files are read one batch at a time. Use
:meth:`~loom.utils.file_dataset.FileDataset.map` to turn texts into tensors before ``fit`` (for example
with a ``TextVectorization`` layer), as with ``tf.data``.

Example:
    >>> import os, tempfile
    >>> root = tempfile.mkdtemp()
    >>> for cls, text in (("neg", "bad film"), ("pos", "great film")):
    ...     os.makedirs(os.path.join(root, cls))
    ...     with open(os.path.join(root, cls, "0.txt"), "w") as f:
    ...         _ = f.write(text)
    >>> ds = text_dataset_from_directory(root, shuffle=False, verbose=False)
    >>> x, y = next(iter(ds))
    >>> x.tolist(), y.tolist(), ds.class_names
    (['bad film', 'great film'], [0, 1], ['neg', 'pos'])
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from loom.errors import ConfigError, InputError
from loom.utils import dataset_index
from loom.utils.file_dataset import FileDataset

_NAME = "text_dataset_from_directory"


def text_dataset_from_directory(
    directory: str, labels: Any = "inferred", label_mode: str | None = "int",
    class_names: Sequence[str] | None = None, batch_size: int | None = 32, max_length: int | None = None,
    shuffle: bool = True, seed: int | None = None, validation_split: float | None = None, subset: str | None = None,
    follow_links: bool = False, format: str = "tf", verbose: bool = True,
) -> FileDataset | list[FileDataset]:
    """Texts from the ``.txt`` files under ``directory`` as a streaming dataset.

    Args:
        directory: Root directory. With inferred labels, each subdirectory is a class (sorted by name).
        labels: ``"inferred"``, a list of integer labels (files in sorted path order), or ``None``. Defaults to
            `"inferred"`.
        label_mode: ``"int"``, ``"categorical"``, ``"binary"`` or ``None``. Defaults to `"int"`.
        class_names: With inferred labels, the subdirectories to use, in label order. Defaults to `None`.
        batch_size: Texts per batch; ``None`` yields single texts. Defaults to `32`.
        max_length: Keep at most this many bytes of each text (UTF-8; a character cut in half is dropped).
            Defaults to `None`: whole files.
        shuffle: Shuffle the files (again after every pass). Defaults to `True`.
        seed: Seed of the shuffles. Defaults to `None`.
        validation_split: Fraction of the files kept for validation. Defaults to `None`.
        subset: ``"training"``, ``"validation"`` or ``"both"``. Defaults to `None`.
        follow_links: Follow symbolic links to subdirectories. Defaults to `False`.
        format: Accepted for compatibility (``"tf"`` or ``"grain"``). Defaults to `"tf"`.
        verbose: Print how many files were found. Defaults to `True`.

    Returns:
        A :class:`FileDataset` (``[train, validation]`` for ``subset="both"``).

    Raises:
        ConfigError: invalid arguments.
        InputError: no class folders or no ``.txt`` files.
    """
    if format not in ("tf", "grain"):
        raise ConfigError(f"{_NAME}: `format` must be 'tf' or 'grain'; got {format!r}.")
    if max_length is not None and (not isinstance(max_length, int) or max_length < 1):
        raise ConfigError(f"{_NAME}: `max_length` must be a positive integer or None; got {max_length!r}.")

    def load(batch_paths: list[str]) -> np.ndarray:
        return np.array([read_text(p, max_length) for p in batch_paths], dtype=object)

    return dataset_index.datasets_from_directory(
        directory, labels, label_mode, class_names, (".txt",), load, batch_size=batch_size, shuffle=shuffle,
        seed=seed, validation_split=validation_split, subset=subset, follow_links=follow_links, verbose=verbose,
        what="text files", caller=_NAME)


def read_text(path: str, max_length: int | None = None) -> str:
    """A text file's content (UTF-8), cut to ``max_length`` bytes."""
    try:
        with open(path, "rb") as f:
            data = f.read() if max_length is None else f.read(max_length)
    except OSError as e:
        raise InputError(f"{_NAME}: cannot read {path!r}: {e}.") from e
    return data.decode("utf-8", errors="ignore" if max_length is not None else "replace")

"""Listing a directory of class folders into file paths, labels and class names, as Keras's dataset utilities.

Shared by :func:`~loom.utils.image_dataset_from_directory`, :func:`~loom.utils.text_dataset_from_directory`
and :func:`~loom.utils.audio_dataset_from_directory`: the same file order, label rules, shuffle (NumPy's
``RandomState(seed)``, so the same files land in the same subset as with Keras) and validation split.
:func:`datasets_from_directory` runs those steps and builds the resulting
:class:`~loom.utils.file_dataset.FileDataset` objects; each caller only checks its own arguments and says how
to read a batch of files.

Example:
    >>> import os, tempfile
    >>> root = tempfile.mkdtemp()
    >>> for cls, name in [("cat", "a.txt"), ("dog", "b.txt"), ("cat", "c.txt")]:
    ...     os.makedirs(os.path.join(root, cls), exist_ok=True)
    ...     open(os.path.join(root, cls, name), "w").close()
    >>> paths, labels, names = index_directory(root, "inferred", (".txt",), shuffle=False, verbose=False)
    >>> [os.path.basename(p) for p in paths], labels.tolist(), names
    (['a.txt', 'c.txt', 'b.txt'], [0, 0, 1], ['cat', 'dog'])
"""

from __future__ import annotations

import os
from typing import Any, Callable, Sequence

import numpy as np

from loom.errors import ConfigError, InputError
from loom.utils.file_dataset import FileDataset

LABEL_MODES = ("int", "categorical", "binary")
SUBSETS = ("training", "validation", "both")


def datasets_from_directory(
    directory: str, labels: Any, label_mode: str | None, class_names: Sequence[str] | None,
    formats: tuple[str, ...], load: Callable[[list[str]], Any], *, batch_size: int | None, shuffle: bool,
    seed: int | None, validation_split: float | None, subset: str | None, follow_links: bool, verbose: bool,
    what: str, caller: str,
) -> FileDataset | list[FileDataset]:
    """The :class:`FileDataset` of the files under ``directory``, as a ``*_dataset_from_directory`` returns it.

    Applies Keras's argument rules (:func:`check_arguments`; ``labels=None`` or ``label_mode=None`` means no
    labels), draws a seed when none is given, lists and labels the files (:func:`index_directory`) and splits
    them (:func:`split_subset`).

    Args:
        directory, labels, label_mode, class_names, batch_size, shuffle, seed, validation_split, subset,
            follow_links, verbose: The caller's arguments of the same names.
        formats: Lower-case extensions to keep, e.g. ``(".txt",)``.
        load: ``load(paths) -> x`` reading one batch of files.
        what: The kind of file, for messages (``"images"``).
        caller: The public function's name, for messages.

    Returns:
        A :class:`FileDataset`, or ``[training, validation]`` for ``subset="both"``.

    Raises:
        ConfigError: invalid arguments, or ``label_mode="binary"`` without exactly 2 classes.
        InputError: as :func:`index_directory`.
    """
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    check_arguments(labels, label_mode, validation_split, subset, shuffle, seed, caller)
    seed = np.random.randint(1e6) if seed is None else seed
    paths, file_labels, names = index_directory(
        directory, labels, formats, class_names, shuffle, seed, follow_links, verbose, what)
    if label_mode == "binary" and len(names or []) != 2:
        raise ConfigError(f'{caller}: label_mode="binary" needs exactly 2 classes; got class_names={names}.')

    def make(subset_name: str | None) -> FileDataset:
        p, lab = split_subset(paths, file_labels, validation_split, subset_name)
        return FileDataset(p, lab, label_mode, names, batch_size, shuffle, seed, load)

    if subset == "both":
        return [make("training"), make("validation")]
    return make(subset)


def index_directory(directory: str, labels: Any, formats: tuple[str, ...], class_names: Sequence[str] | None = None,
                    shuffle: bool = True, seed: int | None = None, follow_links: bool = False,
                    verbose: bool = True, what: str = "files") -> tuple[list[str], np.ndarray | None, list[str] | None]:
    """Files under ``directory`` with one of ``formats``, their labels and the class names.

    Args:
        directory: The root directory.
        labels: ``"inferred"`` (one subdirectory per class, sorted by name), a list of integer labels (one per
            file, files in sorted path order under ``directory``), or ``None``.
        formats: Lower-case extensions to keep, e.g. ``(".txt",)``.
        class_names: With inferred labels, the subdirectories to use, in label order. Defaults to `None`: all.
        shuffle: Shuffle the files with ``np.random.RandomState(seed)``. Defaults to `True`.
        seed: Seed of that shuffle. Defaults to `None`: a random one.
        follow_links: Walk into symbolically linked subdirectories. Defaults to `False`.
        verbose: Print how many files and classes were found. Defaults to `True`.
        what: The kind of file, for messages. Defaults to `"files"`.

    Returns:
        ``(paths, labels, class_names)``; ``labels`` an int32 array (``None`` without labels).

    Raises:
        ConfigError: bad ``labels`` / ``class_names``.
        InputError: the directory is missing, has no class subdirectories, or holds no matching file.
    """
    if not os.path.isdir(directory):
        raise InputError(f"Directory {directory!r} does not exist (or is not a directory).")
    if isinstance(labels, str) and labels == "inferred":
        subdirs = sorted(d for d in os.listdir(directory)
                         if os.path.isdir(os.path.join(directory, d)) and not d.startswith("."))
        if not subdirs:
            raise InputError(f"labels='inferred' needs one subdirectory per class in {directory!r}, but it has no "
                             f"subdirectories. Put each class's {what} in its own folder, or pass labels=None.")
        if class_names is not None:
            unknown = [c for c in class_names if c not in subdirs]
            if unknown:
                raise ConfigError(f"class_names {list(class_names)} do not match the subdirectories of {directory!r}"
                                  f": {subdirs} (or a subset of them); unknown: {unknown}.")
            subdirs = list(class_names)
    else:
        if labels is not None and (isinstance(labels, str) or not isinstance(labels, (list, tuple, np.ndarray))):
            raise ConfigError(f"`labels` must be 'inferred', None, or a list/tuple of integer labels; got {labels!r}.")
        if class_names is not None:
            raise ConfigError("`class_names` can only be given with labels='inferred' (with a list of labels the "
                              "class names are the sorted labels; with labels=None there are none).")
        subdirs = [""]
    paths, file_labels = [], []
    for index, sub in enumerate(subdirs):
        for path in _walk(os.path.join(directory, sub) if sub else directory, follow_links, formats):
            paths.append(path)
            file_labels.append(index)
    if isinstance(labels, str):
        label_array: np.ndarray | None = np.asarray(file_labels, dtype="int32")
        names: list[str] | None = list(subdirs)
    elif labels is None:
        label_array, names = None, None
    else:
        if len(labels) != len(paths):
            raise InputError(f"len(labels) is {len(labels)} but {len(paths)} {what} were found in {directory!r}; "
                             f"give one label per file (files in sorted path order).")
        label_array = np.asarray(labels, dtype="int32")
        names = [str(v) for v in sorted(set(label_array.tolist()))]
    if verbose:
        print(f"Found {len(paths)} files" + ("." if names is None else f" belonging to {len(names)} classes."))
    if not paths:
        raise InputError(f"No {what} found in directory {directory!r}. Allowed formats: {formats}.")
    if shuffle:
        seed = np.random.randint(1e6) if seed is None else seed
        np.random.RandomState(seed).shuffle(paths)
        if label_array is not None:
            np.random.RandomState(seed).shuffle(label_array)
    return paths, label_array, names


def _walk(root: str, follow_links: bool, formats: tuple[str, ...]) -> list[str]:
    """Matching files under ``root``, directories in sorted order and files sorted within each."""
    found = []
    for dirpath, _, files in sorted(os.walk(root, followlinks=follow_links), key=lambda entry: entry[0]):
        found.extend(os.path.join(dirpath, f) for f in sorted(files) if f.lower().endswith(formats))
    return found


def check_arguments(labels: Any, label_mode: str | None, validation_split: float | None, subset: str | None,
                    shuffle: bool, seed: int | None, what: str) -> None:
    """Keras's argument rules for ``*_dataset_from_directory``; ``what`` names the function in messages."""
    if label_mode not in LABEL_MODES + (None,):
        raise ConfigError(f"{what}: `label_mode` must be one of {LABEL_MODES} or None; got {label_mode!r}.")
    if validation_split is not None and not 0 < validation_split < 1:
        raise ConfigError(f"{what}: `validation_split` must be between 0 and 1; got {validation_split}.")
    if bool(validation_split) != bool(subset):
        raise ConfigError(f"{what}: `subset` and `validation_split` must be given together (got subset={subset!r}, "
                          f"validation_split={validation_split}).")
    if subset not in SUBSETS + (None,):
        raise ConfigError(f"{what}: `subset` must be one of {SUBSETS}; got {subset!r}.")
    if validation_split and shuffle and seed is None:
        raise ConfigError(f"{what}: with `validation_split` and shuffle=True, pass a `seed` so that the training "
                          f"and validation subsets do not overlap.")


def split_subset(paths: list[str], labels: np.ndarray | None, validation_split: float | None,
                 subset: str | None) -> tuple[list[str], np.ndarray | None]:
    """The ``"training"`` (first) or ``"validation"`` (last ``validation_split``) part, as Keras."""
    if not validation_split:
        return paths, labels
    num_val = int(validation_split * len(paths))
    if subset == "training":
        cut = slice(0, len(paths) - num_val)
    else:
        cut = slice(len(paths) - num_val, len(paths))
    print(f"Using {cut.stop - cut.start} files for {subset}.")
    return paths[cut], None if labels is None else labels[cut]

"""IMDB movie-review sentiment: 50,000 reviews as sequences of word indices, read from a pickle-free file.

Same results as ``keras.datasets.imdb.load_data`` for the same data and arguments, but nothing is downloaded
and nothing is unpickled. Keras's ``imdb.npz`` stores the reviews as pickled Python lists, which loom
refuses to load; loom reads instead an ``.npz`` of plain integer arrays, the reviews stored ragged:

======================  =============================================================================
``x_train_values``      int32, every training review's word indices, one review after another
``x_train_offsets``     int64, ``n + 1`` entries: review ``i`` is ``values[offsets[i]:offsets[i + 1]]``
``y_train``             the ``n`` labels (0 negative, 1 positive)
``x_test_values`` ...   the same three for the test split
======================  =============================================================================

:func:`save_npz` writes that file from any lists of reviews. To convert Keras's file once (on a copy you
trust, since it executes pickle)::

    import os
    import numpy as np
    from loom.datasets import imdb

    keras_file = os.path.expanduser("~/.keras/datasets/imdb.npz")
    with np.load(keras_file, allow_pickle=True) as f:  # trusted file only
        imdb.save_npz("imdb_loom.npz", f["x_train"], f["y_train"], f["x_test"], f["y_test"])

Example:
    >>> from loom.datasets import imdb
    >>> (x_train, y_train), (x_test, y_test) = imdb.load_data("imdb_loom.npz", num_words=10000)  # doctest: +SKIP
    >>> x_train[0][:3]  # doctest: +SKIP
    [1, 194, 1153]
"""

from __future__ import annotations

import json
import os
import zipfile
from typing import Any, Sequence

import numpy as np

from loom.datasets._files import PathLike, candidate_locations, describe_locations, keras_cache_dir
from loom.io_utils import atomic_open
from loom.errors import ConfigError, DatasetNotFoundError, InputError

ENV_VAR = "LOOM_IMDB_PATH"
WORD_INDEX_NAME = "imdb_word_index.json"
WORD_INDEX_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb_word_index.json"
_SPLITS = ("train", "test")
_KEYS = tuple(key for s in _SPLITS for key in (f"x_{s}_values", f"x_{s}_offsets", f"y_{s}"))

Ragged = tuple[np.ndarray, np.ndarray, np.ndarray]  # (values, offsets, labels) of one split


def load_data(
    path: PathLike | None = None,
    num_words: int | None = None,
    skip_top: int = 0,
    maxlen: int | None = None,
    seed: int = 113,
    start_char: int | None = 1,
    oov_char: int | None = 2,
    index_from: int = 3,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Loads IMDB from loom's pickle-free ``.npz``, with the arguments and results of Keras's loader.

    Each split is shuffled with ``np.random.RandomState(seed)`` (train first, then test); word indices get
    ``index_from`` added and ``start_char`` prepended; with ``maxlen``, reviews of ``maxlen`` or more words
    (start mark included) are dropped; then words outside ``skip_top <= w < num_words`` become ``oov_char``
    (or are removed when ``oov_char`` is None). As in Keras, ``num_words=None`` means "the largest index
    present", which puts that single largest index itself out of vocabulary.

    Args:
        path: loom's IMDB ``.npz`` (see the module docstring and :func:`save_npz`). Defaults to `None`: the
            file named by the environment variable ``LOOM_IMDB_PATH``.
        num_words: Keep only the ``num_words`` most frequent words. Defaults to `None`: keep all.
        skip_top: Treat the ``skip_top`` most frequent words as out of vocabulary. Defaults to `0`.
        maxlen: Drop reviews whose length is ``maxlen`` or more. Defaults to `None`: keep all.
        seed: Seed of the shuffle. Defaults to `113`.
        start_char: Index marking the start of every review; None for no mark. Defaults to `1`.
        oov_char: Index replacing out-of-vocabulary words; None to drop them instead. Defaults to `2`.
        index_from: Offset added to every word index. Defaults to `3`.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: ``x`` are 1-D object arrays of Python lists of ints, ``y``
        the labels.

    Raises:
        loom.errors.DatasetNotFoundError: No file given or found; the message says how to make one.
        loom.errors.InputError: The file is corrupt, in Keras's pickled layout, or inconsistent.
        loom.errors.ConfigError: ``maxlen`` filters out every review of a split.

    Example:
        >>> (x_train, y_train), _ = load_data("imdb_loom.npz", num_words=10000, maxlen=200)  # doctest: +SKIP
        >>> max(max(review) for review in x_train) < 10000  # doctest: +SKIP
        True
    """
    splits = _read_ragged_npz(_locate(path))
    rng = np.random.RandomState(seed)
    splits = [_take(split, _shuffled_indices(len(split[2]), rng)) for split in splits]
    splits = [_mark_and_offset(split, start_char, index_from) for split in splits]
    if maxlen:
        splits = [_take(split, np.flatnonzero(np.diff(split[1]) < maxlen)) for split in splits]
        if any(len(split[2]) == 0 for split in splits):
            raise ConfigError(
                f"imdb.load_data: after dropping reviews of maxlen={maxlen} words or more, no review was kept. "
                "Increase maxlen."
            )
    if not num_words:
        num_words = max(int(split[0].max(initial=0)) for split in splits)
    splits = [_limit_vocabulary(split, skip_top, num_words, oov_char) for split in splits]
    (x_train, y_train), (x_test, y_test) = [(_to_lists(values, offsets), y) for values, offsets, y in splits]
    return (x_train, y_train), (x_test, y_test)


def get_word_index(path: PathLike | None = None) -> dict[str, int]:
    """Reads the IMDB word index: a dict from word to its frequency rank (before ``index_from`` is added).

    Args:
        path: The JSON file (Keras's ``imdb_word_index.json``). Defaults to `None`: Keras's download cache
            ``~/.keras/datasets/imdb_word_index.json``.

    Returns:
        The dict ``{word: index}``.

    Raises:
        loom.errors.DatasetNotFoundError: The file is not there; the message says where to get it.
        loom.errors.InputError: The file is not a JSON object of word to integer.

    Example:
        >>> word_index = get_word_index("imdb_word_index.json")  # doctest: +SKIP
        >>> word_index["the"]  # doctest: +SKIP
        1
    """
    if path is None:
        location = os.path.join(keras_cache_dir(), WORD_INDEX_NAME)
    else:
        location = os.path.expanduser(os.fspath(path))
    if not os.path.isfile(location):
        raise DatasetNotFoundError(
            f"IMDB word index not found at {location}. Download {WORD_INDEX_URL} on a machine with internet "
            "access (keras.datasets.imdb.get_word_index() saves it in ~/.keras/datasets/) and pass its path."
        )
    try:
        with open(location, encoding="utf-8") as f:
            word_index = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{location}: not a valid JSON word index ({e}).") from e
    if not isinstance(word_index, dict) or not all(isinstance(i, int) for i in word_index.values()):
        raise InputError(f"{location}: expected a JSON object mapping words to integer indices.")
    return word_index


def save_npz(
    path: PathLike,
    x_train: Sequence[Sequence[int]],
    y_train: Sequence[int],
    x_test: Sequence[Sequence[int]],
    y_test: Sequence[int],
) -> None:
    """Writes reviews in loom's pickle-free IMDB layout (atomically); the converter from Keras's file.

    Args:
        path: The ``.npz`` file to write.
        x_train: Training reviews, each a sequence of non-negative word indices (raw, before ``index_from``).
        y_train: Training labels, one per review.
        x_test: Test reviews, as ``x_train``.
        y_test: Test labels, one per review.

    Raises:
        loom.errors.InputError: Reviews hold non-integers or negative indices, or labels do not match.

    Example:
        >>> import os, tempfile
        >>> target = os.path.join(tempfile.mkdtemp(), "tiny_imdb.npz")
        >>> save_npz(target, [[5, 6], [7]], [1, 0], [[8]], [1])
        >>> load_data(target, num_words=100)[1][0][0]
        [1, 11]
    """
    arrays = {}
    for split, sequences, labels in (("train", x_train, y_train), ("test", x_test, y_test)):
        values, offsets = _to_ragged(sequences, f"x_{split}")
        labels = np.asarray(labels)
        if labels.shape != (len(offsets) - 1,):
            raise InputError(f"save_npz: y_{split} has shape {labels.shape}; expected ({len(offsets) - 1},).")
        arrays.update({f"x_{split}_values": values, f"x_{split}_offsets": offsets, f"y_{split}": labels})
    with atomic_open(path) as f:
        np.savez(f, **arrays)


def _locate(path: PathLike | None) -> str:
    locations = candidate_locations(path, ENV_VAR, [])
    if locations and os.path.isfile(locations[0][0]):
        return locations[0][0]
    raise DatasetNotFoundError(
        "IMDB file not found. "
        + (f"Looked in:\n{describe_locations(locations)}\n" if locations else f"No path given and ${ENV_VAR} unset.\n")
        + "loom reads a pickle-free .npz (see loom.datasets.imdb's docstring). Make it once from Keras's "
        "imdb.npz on a machine that has it (keras.datasets.imdb.load_data() downloads it to ~/.keras/datasets/):\n"
        "    with np.load(KERAS_IMDB_NPZ, allow_pickle=True) as f:  # trusted file only\n"
        '        imdb.save_npz("imdb_loom.npz", f["x_train"], f["y_train"], f["x_test"], f["y_test"])\n'
        f"then call imdb.load_data(path=\"imdb_loom.npz\") or set {ENV_VAR}."
    )


def _read_ragged_npz(path: str) -> list[Ragged]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            present = set(archive.files)
            if {"x_train", "x_test"} <= present and "x_train_values" not in present:
                raise InputError(
                    f"{path} is in Keras's imdb.npz layout, whose reviews are pickled objects that loom never "
                    "loads. Convert it once with loom.datasets.imdb.save_npz (see the imdb module docstring)."
                )
            absent = [key for key in _KEYS if key not in present]
            if absent:
                raise InputError(f"{path}: not a loom IMDB file; it lacks {absent} (expected keys {list(_KEYS)}).")
            arrays = {key: archive[key] for key in _KEYS}
    except (ValueError, zipfile.BadZipFile, EOFError) as e:
        if isinstance(e, InputError):
            raise
        raise InputError(f"{path}: cannot read as a pickle-free .npz archive ({e}).") from e
    return [_check_split(arrays, split, path) for split in _SPLITS]


def _check_split(arrays: dict[str, np.ndarray], split: str, path: str) -> Ragged:
    values, offsets, labels = (arrays[f"x_{split}_values"], arrays[f"x_{split}_offsets"], arrays[f"y_{split}"])
    problem = None
    if values.ndim != 1 or values.dtype.kind not in "iu" or offsets.ndim != 1 or offsets.dtype.kind not in "iu":
        problem = "values and offsets must be 1-D integer arrays"
    elif len(offsets) == 0 or offsets[0] != 0 or offsets[-1] != len(values) or np.any(np.diff(offsets) < 0):
        problem = f"offsets must rise from 0 to len(values)={len(values)}"
    elif labels.shape != (len(offsets) - 1,):
        problem = f"y_{split} has shape {labels.shape}, expected ({len(offsets) - 1},) (one label per review)"
    if problem:
        raise InputError(f"{path}: inconsistent {split} split: {problem}.")
    return values.astype(np.int64), offsets.astype(np.int64), labels


def _shuffled_indices(count: int, rng: np.random.RandomState) -> np.ndarray:
    indices = np.arange(count)
    rng.shuffle(indices)
    return indices


def _take(split: Ragged, indices: np.ndarray) -> Ragged:
    """The reviews at ``indices``, in that order, still in ragged form."""
    values, offsets, labels = split
    lengths = np.diff(offsets)[indices]
    new_offsets = np.zeros(len(indices) + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_offsets[1:])
    gather = np.repeat(offsets[:-1][indices] - new_offsets[:-1], lengths) + np.arange(new_offsets[-1])
    return values[gather], new_offsets, labels[indices]


def _mark_and_offset(split: Ragged, start_char: int | None, index_from: int) -> Ragged:
    values, offsets, labels = split
    values = values + index_from
    if start_char is None:
        return values, offsets, labels
    marked = np.insert(values, offsets[:-1], start_char)
    return marked, offsets + np.arange(len(offsets)), labels


def _limit_vocabulary(split: Ragged, skip_top: int, num_words: int, oov_char: int | None) -> Ragged:
    values, offsets, labels = split
    in_vocabulary = (values >= skip_top) & (values < num_words)
    if oov_char is not None:
        return np.where(in_vocabulary, values, oov_char), offsets, labels
    review_of_word = np.repeat(np.arange(len(labels)), np.diff(offsets))
    kept_lengths = np.bincount(review_of_word[in_vocabulary], minlength=len(labels))
    new_offsets = np.concatenate([[0], np.cumsum(kept_lengths)]).astype(np.int64)
    return values[in_vocabulary], new_offsets, labels


def _to_lists(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """A 1-D object array of Python lists, as Keras returns (even when all reviews have one length)."""
    flat, bounds = values.tolist(), offsets.tolist()
    reviews = np.empty(len(bounds) - 1, dtype=object)
    for i in range(len(reviews)):
        reviews[i] = flat[bounds[i] : bounds[i + 1]]
    return reviews


def _to_ragged(sequences: Sequence[Sequence[Any]], name: str) -> tuple[np.ndarray, np.ndarray]:
    parts = [np.asarray(sequence) for sequence in sequences]
    for index, part in enumerate(parts):
        if part.size and (part.ndim != 1 or part.dtype.kind not in "iu" or part.min() < 0):
            raise InputError(f"save_npz: {name}[{index}] must be a flat sequence of non-negative integers.")
    lengths = np.array([part.size for part in parts], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    non_empty = [part for part in parts if part.size]
    values = np.concatenate(non_empty) if non_empty else np.zeros(0, dtype=np.int64)
    if values.size and values.max() > np.iinfo(np.int32).max:
        raise InputError(f"save_npz: {name} holds word indices too large for int32.")
    return values.astype(np.int32), offsets

"""Reuters newswire topics: 11,228 newswires as word-index sequences over 46 topics, read from local files.

Same results as ``keras.datasets.reuters`` for the same file and arguments; nothing is downloaded. Keras's
``reuters.npz`` stores ragged object arrays (pickles); loom reads them with a NumPy-only unpickler
(:mod:`loom.datasets.safe_pickle`), so a crafted file cannot run code.

Example:
    >>> from loom.datasets import reuters
    >>> (x_train, y_train), (x_test, y_test) = reuters.load_data(num_words=10000)  # doctest: +SKIP
    >>> len(reuters.get_label_names())
    46
"""

from __future__ import annotations

import json

import numpy as np

from loom.datasets._files import PathLike, locate_file
from loom.datasets.safe_pickle import load_npz
from loom.errors import ConfigError, InputError

ENV_VAR = "LOOM_REUTERS_PATH"
URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/reuters.npz"
WORD_INDEX_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/reuters_word_index.json"
_LABELS = ("cocoa grain veg-oil earn acq wheat copper housing money-supply coffee sugar trade reserves ship cotton "
           "carcass crude nat-gas cpi money-fx interest gnp meal-feed alum oilseed gold tin strategic-metal "
           "livestock retail ipi iron-steel rubber heat jobs lei bop zinc orange pet-chem dlr gas silver wpi hog "
           "lead").split()


def load_data(path: PathLike | None = "reuters.npz", num_words: int | None = None, skip_top: int = 0,
              maxlen: int | None = None, test_split: float = 0.2, seed: int = 113, start_char: int | None = 1,
              oov_char: int | None = 2, index_from: int = 3,
              ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Loads Reuters with Keras's arguments and results.

    The newswires are shuffled with ``np.random.RandomState(seed)``; word indices get ``index_from`` added and
    ``start_char`` prepended; with ``maxlen`` longer newswires (``maxlen`` words or more) are dropped; words
    outside ``skip_top <= w < num_words`` become ``oov_char`` (or are removed when it is ``None``); the last
    ``test_split`` fraction is the test set.

    Args:
        path: Keras's ``reuters.npz`` (keys ``x``, ``y``), or a name in ``~/.keras/datasets``. Defaults to
            `"reuters.npz"`; ``None`` reads ``$LOOM_REUTERS_PATH``.
        num_words: Keep the ``num_words`` most frequent words. Defaults to `None`: all.
        skip_top: Treat the most frequent ``skip_top`` words as out of vocabulary. Defaults to `0`.
        maxlen: Drop sequences of this length or longer. Defaults to `None`.
        test_split: Fraction kept for testing. Defaults to `0.2`.
        seed: Seed of the shuffle. Defaults to `113`.
        start_char: Index marking each sequence's start; ``None`` for none. Defaults to `1`.
        oov_char: Index of out-of-vocabulary words; ``None`` drops them. Defaults to `2`.
        index_from: Offset added to every word index. Defaults to `3`.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: ``x`` object arrays of lists of ints, ``y`` integer topics.

    Raises:
        loom.errors.DatasetNotFoundError: the file is not there.
        loom.errors.InputError: the file is corrupt or holds something other than arrays.
        ConfigError: ``test_split`` out of range.

    Example:
        >>> load_data(test_split=2.0)
        Traceback (most recent call last):
        ...
        loom.errors.ConfigError: reuters.load_data: `test_split` must be in [0, 1); got 2.0.
    """
    if not 0 <= test_split < 1:
        raise ConfigError(f"reuters.load_data: `test_split` must be in [0, 1); got {test_split}.")
    arrays = load_npz(locate_file(path, ENV_VAR, "reuters.npz", "reuters.npz", URL))
    if "x" not in arrays or "y" not in arrays or len(arrays["x"]) != len(arrays["y"]):
        raise InputError(f"reuters.load_data: the file must hold 'x' and 'y' of the same length; found "
                         f"{sorted(arrays)}.")
    indices = np.arange(len(arrays["x"]))
    np.random.RandomState(seed).shuffle(indices)
    xs, labels = arrays["x"][indices], arrays["y"][indices]
    if start_char is not None:
        xs = [[start_char] + [w + index_from for w in x] for x in xs]
    elif index_from:
        xs = [[w + index_from for w in x] for x in xs]
    else:
        xs = [list(x) for x in xs]
    if maxlen:
        kept = [i for i, x in enumerate(xs) if len(x) < maxlen]
        xs, labels = [xs[i] for i in kept], labels[kept]
    if not num_words:
        num_words = max(max(x) for x in xs if len(x))
    if oov_char is not None:
        xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]
    cut = int(len(xs) * (1 - test_split))
    return ((_objects(xs[:cut]), np.array(labels[:cut])), (_objects(xs[cut:]), np.array(labels[cut:])))


def _objects(lists: list[list[int]]) -> np.ndarray:
    """A 1-D object array of lists (``np.array(lists, dtype=object)`` would make 2-D for equal lengths)."""
    out = np.empty(len(lists), dtype=object)
    out[:] = lists
    return out


def get_word_index(path: PathLike | None = "reuters_word_index.json") -> dict[str, int]:
    """The dict from word to index (before ``index_from`` is added), from Keras's ``reuters_word_index.json``.

    Args:
        path: The JSON file, or a name in ``~/.keras/datasets``. Defaults to `"reuters_word_index.json"`.

    Raises:
        loom.errors.DatasetNotFoundError: the file is not there.
        loom.errors.InputError: the file is not a JSON object of word to integer.
    """
    location = locate_file(path, ENV_VAR + "_WORD_INDEX", "reuters_word_index.json", "reuters_word_index.json",
                           WORD_INDEX_URL)
    try:
        with open(location, encoding="utf-8") as f:
            index = json.load(f)
    except ValueError as e:
        raise InputError(f"reuters.get_word_index: {location} is not valid JSON ({e}).") from e
    if not isinstance(index, dict) or not all(isinstance(v, int) for v in index.values()):
        raise InputError(f"reuters.get_word_index: {location} must be a JSON object of word to integer index.")
    return index


def get_label_names() -> tuple[str, ...]:
    """The 46 topic names; label ``i`` is ``get_label_names()[i]``.

    Example:
        >>> get_label_names()[:3]
        ('cocoa', 'grain', 'veg-oil')
    """
    return tuple(_LABELS)

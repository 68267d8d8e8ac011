"""The data a search trains and scores on: one validation split or k folds, and their fingerprint.

Every trial of a search must be scored on the *same* validation data, or the scores do not compare; and
the more configurations are scored on it, the more the best score flatters the best model (the validation
set is being fitted by the search itself). The tuner therefore fixes the split once
(:func:`split_validation`: the last fraction, as Keras's ``validation_split``), records each trial's
:func:`fingerprint` of it, and counts the trials that share it.

In-memory data only: NumPy arrays or torch tensors, alone or in lists / tuples / dicts.

Example:
    >>> import numpy as np
    >>> x, y = np.arange(10.0).reshape(10, 1), np.arange(10)
    >>> x_train, y_train, (x_val, y_val) = split_validation(x, y, 0.2)
    >>> len(x_train), y_val.tolist()
    (8, [8, 9])
    >>> [(len(train), len(val)) for train, val in kfold_indices(10, 5, seed=0)][:2]
    [(8, 2), (8, 2)]
    >>> fingerprint((x_val, y_val)) == fingerprint((x[8:], y[8:]))
    True
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np

from loom.errors import ConfigError, InputError
from loom.structure import flatten, map_structure


def num_samples(*data: Any) -> int:
    """The common number of samples of the leaves of ``data`` (``InputError`` when they disagree)."""
    sizes = {len(leaf) for part in data for leaf in flatten(part) if leaf is not None}
    if len(sizes) != 1:
        raise InputError(f"The tuner needs in-memory arrays with the same number of samples; got sizes "
                         f"{sorted(sizes)}.")
    return sizes.pop()


def take(data: Any, index: Any) -> Any:
    """The rows ``index`` (a slice or an integer array) of every leaf of ``data``."""
    return map_structure(lambda leaf: None if leaf is None else leaf[index], data)


def split_validation(x: Any, y: Any, fraction: float) -> tuple[Any, Any, tuple[Any, Any]]:
    """``(x_train, y_train, (x_val, y_val))``: the LAST ``fraction`` of the samples held out, as Keras."""
    if not 0 < fraction < 1:
        raise ConfigError(f"validation_split must be between 0 and 1 (exclusive); got {fraction}.")
    n = num_samples(x, y)
    split_at = int(math.floor(n * (1.0 - fraction)))
    if split_at in (0, n):
        raise ConfigError(f"{n} samples cannot be split with validation_split={fraction}.")
    head, tail = slice(0, split_at), slice(split_at, n)
    return take(x, head), take(y, head), (take(x, tail), take(y, tail))


def kfold_indices(n: int, k: int, seed: int | None = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` pairs ``(train indices, validation indices)`` over a seeded shuffle of ``n`` samples."""
    if isinstance(k, bool) or not isinstance(k, int) or not 2 <= k <= n:
        raise ConfigError(f"cv must be an integer between 2 and the number of samples ({n}); got {k!r}.")
    order = np.random.RandomState(0 if seed is None else seed).permutation(n)
    folds = np.array_split(order, k)
    return [(np.sort(np.concatenate(folds[:i] + folds[i + 1:])), np.sort(folds[i])) for i in range(k)]


def fingerprint(data: Any) -> str:
    """A short SHA-256 of every leaf's shape, dtype and bytes: equal data, equal fingerprint."""
    digest = hashlib.sha256()
    for leaf in flatten(data):
        if leaf is None:
            digest.update(b"none")
            continue
        array = leaf.detach().cpu().numpy() if hasattr(leaf, "detach") else np.asarray(leaf)
        digest.update(f"{array.shape}{array.dtype}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def check_in_memory(name: str, data: Any) -> None:
    """Raise unless every leaf of ``data`` is a NumPy array or a torch tensor (or ``None``)."""
    for leaf in flatten(data):
        if leaf is not None and not (isinstance(leaf, np.ndarray) or hasattr(leaf, "detach")):
            raise InputError(f"Tuner.search: {name} must be NumPy arrays or torch tensors (alone, in a list or a "
                             f"dict); got {type(leaf).__name__}.")

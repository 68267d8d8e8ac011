"""The data ``adapt()`` accepts, as a stream of batches, shared by every adaptable preprocessing layer.

``adapt`` takes one array (a NumPy array, a tensor, a list of strings or numbers: one batch), or any
iterable of batches (a generator, a ``torch.utils.data.DataLoader``, a loom/Keras ``PyDataset``, a list of
arrays...). Batches given as ``(x, y)`` or ``(x, y, sample_weight)`` tuples contribute their ``x``.

Example:
    >>> import numpy as np
    >>> from loom.layers.preprocessing.adapt_data import iter_batches
    >>> [b.shape for b in iter_batches(np.zeros((4, 2)))]
    [(4, 2)]
    >>> [len(b) for b in iter_batches(iter([["a", "b"], ["c"]]))]
    [2, 1]
"""

from __future__ import annotations

import itertools
from typing import Any, Iterator

import numpy as np
import torch

from loom.errors import InputError


def is_single_batch(data: Any) -> bool:
    """Whether ``data`` is one batch (an array, a tensor, a string list) rather than an iterable of batches."""
    if isinstance(data, (np.ndarray, torch.Tensor, str, bytes)):
        return True
    if isinstance(data, (list, tuple)):
        return not data or not isinstance(data[0], (np.ndarray, torch.Tensor)) and not _is_xy(data)
    return False


def _is_xy(value: Any) -> bool:
    return isinstance(value, tuple) and 2 <= len(value) <= 3 and isinstance(value[0], (np.ndarray, torch.Tensor))


def _features(batch: Any) -> Any:
    """``x`` of an ``(x, y[, sample_weight])`` batch, else the batch itself."""
    if isinstance(batch, tuple) and 2 <= len(batch) <= 3 and not isinstance(batch[0], (str, bytes, int, float)):
        return batch[0]
    return batch


def _indexed(data: Any) -> Iterator:
    for i in range(len(data)):
        yield data[i]


def iter_batches(data: Any, steps: int | None = None, layer: str = "layer") -> Iterator[Any]:
    """The batches of ``data`` (at most ``steps`` of them), each as given (array, tensor or list).

    Raises:
        InputError: ``data`` is empty, or is neither an array nor an iterable of batches.
    """
    if is_single_batch(data):
        if len(data) == 0 if not isinstance(data, (str, bytes)) else False:
            raise InputError(f"{layer}.adapt() received empty data; pass at least one sample.")
        yield data
        return
    if hasattr(data, "__getitem__") and hasattr(data, "__len__") and not isinstance(data, (list, tuple, dict)):
        source = _indexed(data)  # a PyDataset / Sequence: batches by index
    elif hasattr(data, "__iter__"):
        source = iter(data)
    else:
        raise InputError(f"{layer}.adapt() expects a NumPy array, a tensor, a list, or an iterable of batches "
                         f"(generator, DataLoader, PyDataset); got {type(data).__name__}.")
    if steps is not None:
        source = itertools.islice(source, int(steps))
    seen = False
    for batch in source:
        seen = True
        yield _features(batch)
    if not seen:
        raise InputError(f"{layer}.adapt() received an empty iterable (no batches); pass at least one batch.")

"""Array helpers from ``keras.utils``: ``to_categorical`` and ``normalize``.

Example:
    >>> to_categorical([0, 2], num_classes=3)
    array([[1., 0., 0.],
           [0., 0., 1.]])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from loom.errors import InputError


def to_categorical(x: Any, num_classes: int | None = None) -> Any:
    """One-hot encode integer class labels (any shape; a trailing axis of size 1 is dropped, as Keras).

    As Keras 3 on its torch backend: NumPy arrays and lists give a float64 NumPy array; a torch tensor gives
    an int64 tensor on the same device (Keras's ``backend.nn.one_hot`` without a dtype).

    Args:
        x: integer labels in ``[0, num_classes)`` (an array-like or a torch tensor).
        num_classes: the number of classes (default ``None``: ``max(x) + 1``).

    Raises:
        InputError: labels that are not integers, or outside ``[0, num_classes)``.
    """
    if isinstance(x, torch.Tensor):
        return _tensor_to_categorical(x, num_classes)
    x = np.asarray(x)
    if x.size and not np.issubdtype(x.dtype, np.integer):
        if not np.all(np.equal(np.mod(x, 1), 0)):
            raise InputError("to_categorical expects integer class labels.")
        x = x.astype("int64")
    if x.ndim > 1 and x.shape[-1] == 1:
        x = x.reshape(x.shape[:-1])
    num_classes = _checked_classes(int(x.min()) if x.size else 0, int(x.max()) if x.size else -1, num_classes)
    out = np.zeros(x.shape + (num_classes,), dtype="float64")
    np.put_along_axis(out, x[..., None].astype("int64"), 1.0, axis=-1)
    return out


def _tensor_to_categorical(x: torch.Tensor, num_classes: int | None) -> torch.Tensor:
    if x.is_floating_point() and x.numel() and not bool(torch.all(x == torch.round(x))):
        raise InputError("to_categorical expects integer class labels.")
    if x.dim() > 1 and x.shape[-1] == 1:
        x = x.reshape(x.shape[:-1])
    x = x.long()
    num_classes = _checked_classes(int(x.min()) if x.numel() else 0, int(x.max()) if x.numel() else -1,
                                   num_classes)
    return torch.nn.functional.one_hot(x, num_classes)


def _checked_classes(low: int, high: int, num_classes: int | None) -> int:
    if num_classes is None:
        num_classes = high + 1
    if low < 0 or high >= num_classes:
        raise InputError(f"to_categorical: labels must lie in [0, {num_classes}), got [{low}, {high}].")
    return int(num_classes)


def normalize(x, axis: int = -1, order: int = 2) -> np.ndarray:
    """Scale ``x`` to unit ``order``-norm along ``axis`` (default the last axis, L2)."""
    x = np.asarray(x, dtype="float32")
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)

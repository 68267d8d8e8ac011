"""Array helpers from ``keras.utils``: ``to_categorical`` and ``normalize``.

Example:
    >>> to_categorical([0, 2], num_classes=3)
    array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from loom.errors import InputError


def to_categorical(x, num_classes: int | None = None) -> np.ndarray:
    """One-hot encode integer class labels (any shape; a trailing axis of size 1 is dropped, as Keras).

    Args:
        x: integer labels in ``[0, num_classes)``.
        num_classes: the number of classes (default ``max(x) + 1``).
    """
    x = np.asarray(x)
    if x.size and not np.issubdtype(x.dtype, np.integer):
        if not np.all(np.equal(np.mod(x, 1), 0)):
            raise InputError("to_categorical expects integer class labels.")
        x = x.astype("int64")
    if x.ndim > 1 and x.shape[-1] == 1:
        x = x.reshape(x.shape[:-1])
    if num_classes is None:
        num_classes = int(x.max()) + 1 if x.size else 0
    if x.size and (x.min() < 0 or x.max() >= num_classes):
        raise InputError(f"to_categorical: labels must lie in [0, {num_classes}), got [{x.min()}, {x.max()}].")
    out = np.zeros(x.shape + (num_classes,), dtype="float32")
    np.put_along_axis(out, x[..., None].astype("int64"), 1.0, axis=-1)
    return out


def normalize(x, axis: int = -1, order: int = 2) -> np.ndarray:
    """Scale ``x`` to unit ``order``-norm along ``axis`` (default the last axis, L2)."""
    x = np.asarray(x, dtype="float32")
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)

"""Joining and splitting (``keras.ops.concatenate``, ``stack``, ``hstack``, ``split``, ``array_split``...).

Joined tensors promote to a common dtype as torch does; shapes that do not fit raise
:class:`loom.errors.ShapeError` listing them.

Example:
    >>> from loom.ops import numpy as np_ops
    >>> np_ops.concatenate([[1, 2], [3]]).tolist()
    [1, 2, 3]
    >>> [t.tolist() for t in np_ops.array_split([1, 2, 3], 2)]
    [[1, 2], [3]]
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from loom.errors import InputError, ShapeError
from loom.ops._tensor import one_axis, op, tensor, tensors

__all__ = [
    "append", "array_split", "concatenate", "dsplit", "dstack", "hsplit", "hstack", "split", "stack", "vsplit",
    "vstack",
]


def _joined(name: str, xs: Sequence[Any]) -> list[torch.Tensor]:
    if isinstance(xs, torch.Tensor):
        xs = list(xs.unbind(0))
    if not len(xs):
        raise InputError(f"ops.{name}: needs at least one tensor; got an empty sequence.")
    ts = tensors(name, *xs)
    dtype = ts[0].dtype
    for t in ts[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    return [t.to(dtype) for t in ts]


@op("concatenate")
def concatenate(xs: Sequence[Any], axis: int | None = 0) -> torch.Tensor:
    """Join tensors along an existing axis (flattened first when ``axis`` is None).

    Args:
        xs: sequence of tensors whose shapes match except along ``axis``.
        axis: int or None; default 0.
    """
    ts = _joined("concatenate", xs)
    if axis is None:
        return torch.cat([t.reshape(-1) for t in ts])
    d = one_axis(axis, ts[0].ndim, "concatenate")
    for t in ts[1:]:
        if t.ndim != ts[0].ndim or any(a != b for i, (a, b) in enumerate(zip(t.shape, ts[0].shape)) if i != d):
            raise ShapeError(f"ops.concatenate: shapes {[tuple(s.shape) for s in ts]} differ outside axis {axis}.")
    return torch.cat(ts, dim=d)


@op("stack")
def stack(x: Sequence[Any], axis: int = 0) -> torch.Tensor:
    """Join same-shaped tensors along a new axis.

    Args:
        x: sequence of tensors of one shape.
        axis: position of the new axis in the result; default 0.
    """
    ts = _joined("stack", x)
    if any(t.shape != ts[0].shape for t in ts):
        raise ShapeError(f"ops.stack: all shapes must be equal; got {[tuple(t.shape) for t in ts]}.")
    return torch.stack(ts, dim=one_axis(axis, ts[0].ndim + 1, "stack"))


@op("hstack")
def hstack(xs: Sequence[Any]) -> torch.Tensor:
    """Concatenate along axis 1 (axis 0 for 1-D tensors).

    Args:
        xs: sequence of tensors.
    """
    ts = _joined("hstack", xs)
    return torch.hstack(ts)


@op("vstack")
def vstack(xs: Sequence[Any]) -> torch.Tensor:
    """Concatenate along axis 0, 1-D tensors as rows.

    Args:
        xs: sequence of tensors.
    """
    return torch.vstack(_joined("vstack", xs))


@op("dstack")
def dstack(xs: Sequence[Any]) -> torch.Tensor:
    """Concatenate along axis 2 (depth), lifting lower-rank tensors to 3-D first.

    Args:
        xs: sequence of tensors.
    """
    return torch.dstack(_joined("dstack", xs))


@op("append")
def append(x1: Any, x2: Any, axis: int | None = None) -> torch.Tensor:
    """``x2`` appended to ``x1`` along ``axis`` (both flattened when None).

    Args:
        x1: first tensor.
        x2: tensor to append.
        axis: int or None; default None.
    """
    return concatenate([x1, x2], axis=axis)


def _sections(name: str, t: torch.Tensor, indices_or_sections: Any, d: int, even: bool) -> list[torch.Tensor]:
    if isinstance(indices_or_sections, int):
        n = indices_or_sections
        if n <= 0:
            raise InputError(f"ops.{name}: the number of sections must be positive; got {n}.")
        if even and t.shape[d] % n:
            raise ShapeError(f"ops.{name}: axis {d} of length {t.shape[d]} (shape {tuple(t.shape)}) cannot be "
                             f"split into {n} equal sections; use ops.array_split.")
        return list(torch.tensor_split(t, n, dim=d))
    idx = [int(i) for i in (indices_or_sections.tolist() if isinstance(indices_or_sections, torch.Tensor)
                            else indices_or_sections)]
    return list(torch.tensor_split(t, idx, dim=d))


@op("split")
def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[torch.Tensor]:
    """Split into equal sections, or at the given indices, along ``axis``.

    Args:
        x: input tensor.
        indices_or_sections: number of equal sections, or sorted split indices.
        axis: int; default 0.
    """
    t = tensor("split", x)
    return _sections("split", t, indices_or_sections, one_axis(axis, t.ndim, "split"), even=True)


@op("array_split")
def array_split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[torch.Tensor]:
    """As :func:`split`, but sections may differ in length by one.

    Args:
        x: input tensor.
        indices_or_sections: number of sections, or sorted split indices.
        axis: int; default 0.
    """
    t = tensor("array_split", x)
    return _sections("array_split", t, indices_or_sections, one_axis(axis, t.ndim, "array_split"), even=False)


def _named_split(name: str, x: Any, indices_or_sections: Any, axis: int, min_rank: int) -> list[torch.Tensor]:
    t = tensor(name, x)
    if t.ndim < min_rank:
        raise ShapeError(f"ops.{name}: needs a tensor of rank >= {min_rank}; got shape {tuple(t.shape)}.")
    return _sections(name, t, indices_or_sections, axis if t.ndim > 1 else 0, even=True)


@op("hsplit")
def hsplit(x: Any, indices_or_sections: Any) -> list[torch.Tensor]:
    """Split along axis 1 (axis 0 for 1-D tensors).

    Args:
        x: input tensor.
        indices_or_sections: number of equal sections or split indices.
    """
    return _named_split("hsplit", x, indices_or_sections, 1, 1)


@op("vsplit")
def vsplit(x: Any, indices_or_sections: Any) -> list[torch.Tensor]:
    """Split along axis 0; needs rank >= 2.

    Args:
        x: input tensor.
        indices_or_sections: number of equal sections or split indices.
    """
    return _named_split("vsplit", x, indices_or_sections, 0, 2)


@op("dsplit")
def dsplit(x: Any, indices_or_sections: Any) -> list[torch.Tensor]:
    """Split along axis 2; needs rank >= 3.

    Args:
        x: input tensor.
        indices_or_sections: number of equal sections or split indices.
    """
    return _named_split("dsplit", x, indices_or_sections, 2, 3)

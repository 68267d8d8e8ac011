"""Shape and layout ops (``keras.ops.reshape``, ``transpose``, ``squeeze``, ``pad``, ``take``, ``roll``...).

These never change values or dtypes; they check axes and shapes first so a mistake names the op and the shapes
involved.

Example:
    >>> from loom.ops import numpy as np_ops
    >>> np_ops.reshape([1, 2, 3, 4], (2, -1)).shape
    torch.Size([2, 2])
    >>> np_ops.pad([1, 2], (1, 2), mode="edge").tolist()
    [1, 1, 2, 2, 2]
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from loom.errors import InputError, ShapeError
from loom.ops._tensor import canonical_axis, one_axis, op, tensor, tensors, to_torch_dtype

__all__ = [
    "broadcast_to", "expand_dims", "flip", "fliplr", "flipud", "get_item", "meshgrid", "moveaxis", "ndim", "pad",
    "ravel", "repeat", "reshape", "roll", "rot90", "size", "squeeze", "swapaxes", "take", "take_along_axis", "tile",
    "transpose", "view",
]


def _shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, torch.Tensor):
        return tuple(int(s) for s in shape.reshape(-1).tolist())
    return (int(shape),) if isinstance(shape, int) else tuple(int(s) for s in shape)


@op("reshape")
def reshape(x: Any, newshape: Any) -> torch.Tensor:
    """``x`` with shape ``newshape`` (one entry may be -1).

    Args:
        x: input tensor.
        newshape: the new shape; its size must equal ``x``'s.
    """
    t = tensor("reshape", x)
    shape = _shape(newshape)
    known = math.prod([s for s in shape if s != -1])  # a list: torch.compile cannot trace prod(generator)
    if shape.count(-1) > 1 or (-1 not in shape and known != t.numel()) or \
            (-1 in shape and (known == 0 or t.numel() % known)):
        raise ShapeError(f"ops.reshape: cannot reshape a tensor of shape {tuple(t.shape)} ({t.numel()} elements) "
                         f"to `newshape`={shape}.")
    return t.reshape(shape)


@op("transpose")
def transpose(x: Any, axes: Any = None) -> torch.Tensor:
    """Permute axes (reverse them when ``axes`` is None).

    Args:
        x: input tensor.
        axes: a permutation of ``range(ndim)``; default None (reverse).
    """
    t = tensor("transpose", x)
    if axes is None:
        return t.permute(tuple(range(t.ndim - 1, -1, -1)))
    perm = canonical_axis(tuple(axes), t.ndim, "transpose", "axes")
    if len(perm) != t.ndim:
        raise InputError(f"ops.transpose: `axes`={tuple(axes)} must list all {t.ndim} axes of the input.")
    return t.permute(perm)


@op("swapaxes")
def swapaxes(x: Any, axis1: int, axis2: int) -> torch.Tensor:
    """Swap two axes.

    Args:
        x: input tensor.
        axis1: first axis.
        axis2: second axis.
    """
    t = tensor("swapaxes", x)
    return t.transpose(one_axis(axis1, t.ndim, "swapaxes", "axis1"), one_axis(axis2, t.ndim, "swapaxes", "axis2"))


@op("moveaxis")
def moveaxis(x: Any, source: Any, destination: Any) -> torch.Tensor:
    """Move axes ``source`` to positions ``destination``.

    Args:
        x: input tensor.
        source: axis or axes to move.
        destination: their new positions (same count).
    """
    t = tensor("moveaxis", x)
    src = canonical_axis(source, t.ndim, "moveaxis", "source")
    dst = canonical_axis(destination, t.ndim, "moveaxis", "destination")
    if len(src) != len(dst):
        raise InputError(f"ops.moveaxis: `source`={source!r} and `destination`={destination!r} differ in length.")
    return torch.movedim(t, src, dst)


@op("expand_dims")
def expand_dims(x: Any, axis: Any) -> torch.Tensor:
    """Insert length-1 axes at ``axis`` (positions in the result).

    Args:
        x: input tensor.
        axis: int or tuple of positions.
    """
    t = tensor("expand_dims", x)
    n = len(axis) if isinstance(axis, (list, tuple)) else 1
    for a in sorted(canonical_axis(axis, t.ndim + n, "expand_dims")):
        t = t.unsqueeze(a)
    return t


@op("squeeze")
def squeeze(x: Any, axis: Any = None) -> torch.Tensor:
    """Remove length-1 axes (all of them when ``axis`` is None).

    Args:
        x: input tensor.
        axis: int or tuple of axes to remove, each of length 1; default None.
    """
    t = tensor("squeeze", x)
    if axis is None:
        return t.squeeze()
    dims = canonical_axis(axis, t.ndim, "squeeze")
    bad = [d for d in dims if t.shape[d] != 1]
    if bad:
        raise ShapeError(f"ops.squeeze: `axis`={axis!r} names axes of length {[t.shape[d] for d in bad]} in shape "
                         f"{tuple(t.shape)}; only length-1 axes can be removed.")
    return t.squeeze(dims)


@op("ravel")
def ravel(x: Any) -> torch.Tensor:
    """The flattened 1-D tensor.

    Args:
        x: input tensor.
    """
    return tensor("ravel", x).reshape(-1)


@op("flip")
def flip(x: Any, axis: Any = None) -> torch.Tensor:
    """Reverse the order of elements along ``axis`` (all axes when None).

    Args:
        x: input tensor.
        axis: int or tuple; default None.
    """
    t = tensor("flip", x)
    dims = canonical_axis(axis, t.ndim, "flip")
    return t.flip(tuple(range(t.ndim)) if dims is None else dims)


@op("fliplr")
def fliplr(x: Any) -> torch.Tensor:
    """Reverse axis 1 (left/right); needs rank >= 2.

    Args:
        x: input tensor.
    """
    t = tensor("fliplr", x)
    if t.ndim < 2:
        raise ShapeError(f"ops.fliplr: needs a tensor of rank >= 2; got shape {tuple(t.shape)}.")
    return t.flip(1)


@op("flipud")
def flipud(x: Any) -> torch.Tensor:
    """Reverse axis 0 (up/down); needs rank >= 1.

    Args:
        x: input tensor.
    """
    t = tensor("flipud", x)
    if t.ndim < 1:
        raise ShapeError("ops.flipud: needs a tensor of rank >= 1; got a scalar.")
    return t.flip(0)


@op("rot90")
def rot90(array: Any, k: int = 1, axes: tuple[int, int] = (0, 1)) -> torch.Tensor:
    """Rotate by 90 degrees ``k`` times in the plane of ``axes`` (from the first axis toward the second).

    Args:
        array: input tensor of rank >= 2.
        k: number of rotations; default 1.
        axes: the two axes of the plane; default (0, 1).
    """
    t = tensor("rot90", array)
    if t.ndim < 2:
        raise ShapeError(f"ops.rot90: needs a tensor of rank >= 2; got shape {tuple(t.shape)}.")
    dims = canonical_axis(tuple(axes), t.ndim, "rot90", "axes")
    if len(dims) != 2:
        raise InputError(f"ops.rot90: `axes` must be two different axes; got {axes!r}.")
    return torch.rot90(t, k, dims)


@op("roll")
def roll(x: Any, shift: Any, axis: Any = None) -> torch.Tensor:
    """Shift elements cyclically by ``shift`` along ``axis`` (of the flattened tensor when None).

    Args:
        x: input tensor.
        shift: int or tuple of ints.
        axis: int or tuple matching ``shift``; default None.
    """
    t = tensor("roll", x)
    dims = canonical_axis(axis, t.ndim, "roll")
    shift = tuple(int(s) for s in shift) if isinstance(shift, (list, tuple)) else int(shift)
    return torch.roll(t, shift, dims)


@op("tile")
def tile(x: Any, repeats: Any) -> torch.Tensor:
    """Repeat the whole tensor ``repeats`` times along each axis.

    Args:
        x: input tensor.
        repeats: int or sequence of ints (prepended with 1s to the longer of the two ranks).
    """
    t = tensor("tile", x)
    reps = _shape(repeats)
    if len(reps) < t.ndim:
        reps = (1,) * (t.ndim - len(reps)) + reps
    return t.tile(reps)


@op("repeat")
def repeat(x: Any, repeats: Any, axis: Any = None) -> torch.Tensor:
    """Repeat each element ``repeats`` times along ``axis`` (of the flattened tensor when None).

    Args:
        x: input tensor.
        repeats: int, or one count per element along ``axis``.
        axis: int; default None.
    """
    t = tensor("repeat", x)
    if axis is None:
        t, d = t.reshape(-1), 0
    else:
        d = one_axis(axis, t.ndim, "repeat")
    reps = repeats if isinstance(repeats, int) else tensor("repeat", repeats).to(torch.int64).to(t.device)
    return torch.repeat_interleave(t, reps, dim=d)


@op("broadcast_to")
def broadcast_to(x: Any, shape: Any) -> torch.Tensor:
    """``x`` broadcast to ``shape``.

    Args:
        x: input tensor.
        shape: target shape.
    """
    t = tensor("broadcast_to", x)
    target = _shape(shape)
    try:
        return t.broadcast_to(target)
    except RuntimeError as e:
        raise ShapeError(f"ops.broadcast_to: shape {tuple(t.shape)} cannot be broadcast to {target}.") from e


def _pad_widths(name: str, pad_width: Any, ndim: int) -> list[tuple[int, int]]:
    """NumPy's broadcasting of ``pad_width``: an int, one (before, after) pair, or one pair per axis."""
    try:
        widths = torch.as_tensor(pad_width, dtype=torch.int64).broadcast_to((ndim, 2))
    except (RuntimeError, TypeError, ValueError) as e:
        raise InputError(f"ops.{name}: `pad_width`={pad_width!r} must give (before, after) widths for each of the "
                         f"{ndim} axes.") from e
    if bool((widths < 0).any()):
        raise InputError(f"ops.{name}: `pad_width`={pad_width!r} must be non-negative.")
    return [(int(b), int(a)) for b, a in widths.tolist()]


@op("pad")
def pad(x: Any, pad_width: Any, mode: str = "constant", constant_values: Any = None) -> torch.Tensor:
    """Pad with ``pad_width[i] = (before, after)`` elements on each axis ``i``.

    Args:
        x: input tensor.
        pad_width: widths per axis; one pair (or int) applies to every axis.
        mode: ``'constant'`` (default), ``'edge'``, ``'reflect'``, ``'symmetric'`` or ``'wrap'``.
        constant_values: fill value for ``'constant'``; default None (0).
    """
    t = tensor("pad", x)
    if mode not in ("constant", "edge", "reflect", "symmetric", "wrap"):
        raise InputError(f"ops.pad: `mode` must be one of ['constant', 'edge', 'reflect', 'symmetric', 'wrap']; "
                         f"got {mode!r}.")
    if constant_values is not None and mode != "constant":
        raise InputError(f"ops.pad: `constant_values` only applies to mode='constant'; got mode={mode!r}.")
    widths = _pad_widths("pad", pad_width, t.ndim)
    if mode == "constant":
        flat = [v for pair in reversed(widths) for v in pair]
        return F.pad(t, flat, value=0 if constant_values is None else constant_values)
    for d, (before, after) in enumerate(widths):
        t = _pad_axis(t, d, before, after, mode)
    return t


def _pad_axis(t: torch.Tensor, d: int, before: int, after: int, mode: str) -> torch.Tensor:
    """Pad one axis by gathering source indices, so every mode works for any dtype and rank."""
    n = t.shape[d]
    if before == after == 0:
        return t
    if n == 0:
        raise ShapeError(f"ops.pad: cannot pad an empty axis {d} with mode={mode!r}.")
    pos = torch.arange(-before, n + after, device=t.device)
    if mode == "reflect" and n == 1:
        idx = torch.zeros_like(pos)
    else:
        if mode == "edge":
            idx = pos.clamp(0, n - 1)
        elif mode == "wrap":
            idx = pos % n
        elif mode == "reflect":
            period = 2 * (n - 1)
            p = pos % period
            idx = torch.where(p < n, p, period - p)
        else:  # symmetric: the edge value repeats
            period = 2 * n
            p = pos % period
            idx = torch.where(p < n, p, period - 1 - p)
    return t.index_select(d, idx)


@op("take")
def take(x: Any, indices: Any, axis: int | None = None) -> torch.Tensor:
    """Elements at ``indices`` along ``axis`` (of the flattened tensor when None); negative indices wrap.

    Args:
        x: input tensor.
        indices: integer tensor of any shape; it replaces ``axis`` in the result's shape.
        axis: int or None; default None.
    """
    t, idx = tensors("take", x, indices)
    if idx.dtype.is_floating_point or idx.dtype == torch.bool:
        raise InputError(f"ops.take: `indices` must be integers; got dtype {idx.dtype}.")
    if axis is None:
        t, d = t.reshape(-1), 0
    else:
        d = one_axis(axis, t.ndim, "take")
    idx = idx.long()
    n = t.shape[d]
    idx = torch.where(idx < 0, idx + n, idx)
    out = t.index_select(d, idx.reshape(-1))
    return out.reshape(t.shape[:d] + idx.shape + t.shape[d + 1:])


@op("take_along_axis")
def take_along_axis(x: Any, indices: Any, axis: int | None = None) -> torch.Tensor:
    """Pick values with ``indices`` shaped like ``x`` along ``axis`` (as after an ``argsort``).

    Args:
        x: input tensor.
        indices: integer tensor broadcastable to ``x`` except along ``axis``.
        axis: int or None (flattened); default None.
    """
    t, idx = tensors("take_along_axis", x, indices)
    if axis is None:
        t, d = t.reshape(-1), 0
    else:
        d = one_axis(axis, t.ndim, "take_along_axis")
    idx = idx.long()
    idx = torch.where(idx < 0, idx + t.shape[d], idx)
    return torch.take_along_dim(t, idx, dim=d)


@op("get_item")
def get_item(x: Any, key: Any) -> torch.Tensor:
    """``x[key]`` (ints, slices, None, Ellipsis, index or bool tensors).

    Args:
        x: input tensor.
        key: an index as for ``x[key]``.
    """
    t = tensor("get_item", x)
    if isinstance(key, (list, tuple)) and not isinstance(key, tuple):
        key = tensor("get_item", key).to(t.device)
    return t[key]


@op("view")
def view(x: Any, dtype: Any = None) -> torch.Tensor:
    """The same bytes read as ``dtype`` (the last axis scales with the item size ratio).

    Args:
        x: input tensor.
        dtype: the new dtype; default None (floatx).
    """
    return tensor("view", x).view(to_torch_dtype(dtype))


def ndim(x: Any) -> int:
    """The rank of ``x`` (a Python int).

    Args:
        x: input tensor.
    """
    return tensor("ndim", x).ndim


def size(x: Any) -> torch.Tensor:
    """The number of elements of ``x`` (an int64 scalar tensor, as Keras's torch backend returns).

    Args:
        x: input tensor.
    """
    t = tensor("size", x)
    return torch.tensor(t.numel(), dtype=torch.int64, device=t.device)


@op("meshgrid")
def meshgrid(*x: Any, indexing: str = "xy") -> list[torch.Tensor]:
    """Coordinate grids from 1-D coordinate vectors.

    Args:
        *x: 1-D tensors.
        indexing: ``'xy'`` (Cartesian, default) or ``'ij'`` (matrix).
    """
    if indexing not in ("xy", "ij"):
        raise InputError(f"ops.meshgrid: `indexing` must be 'xy' or 'ij'; got {indexing!r}.")
    return list(torch.meshgrid(*tensors("meshgrid", *x), indexing=indexing))

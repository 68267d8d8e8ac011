"""Sorting, searching, counting and selection (``keras.ops.sort``, ``where``, ``unique``, ``histogram``...).

Index results are int32, as Keras returns them.

Example:
    >>> from loom.ops import numpy as np_ops
    >>> np_ops.argsort([3, 1, 2]).tolist()
    [1, 2, 0]
    >>> np_ops.where([True, False], 1, 2).tolist()
    [1, 2]
"""

from __future__ import annotations

import builtins
from typing import Any, Callable, Sequence

import torch

from loom.errors import InputError, ShapeError
from loom.ops._tensor import (broadcast_shapes_or_raise, cast, one_axis, op, result_type, tensor, tensors,
                              to_torch_dtype)

__all__ = [
    "argpartition", "argsort", "bincount", "digitize", "histogram", "isin", "nonzero", "searchsorted", "select",
    "sort", "unique", "unravel_index", "vectorize", "where",
]


def _along(name: str, x: Any, axis: Any) -> tuple[torch.Tensor, int]:
    t = tensor(name, x)
    if axis is None:
        return t.reshape(-1), 0
    return t, one_axis(axis, t.ndim, name)


@op("sort")
def sort(x: Any, axis: int | None = -1) -> torch.Tensor:
    """Sorted values along ``axis`` (of the flattened tensor when None).

    Args:
        x: input tensor.
        axis: int or None; default -1.
    """
    t, d = _along("sort", x, axis)
    if t.dtype == torch.bool:
        return torch.sort(t.to(torch.uint8), dim=d).values.bool()
    return torch.sort(t, dim=d).values


@op("argsort")
def argsort(x: Any, axis: int | None = -1) -> torch.Tensor:
    """Indices that sort ``x`` along ``axis`` (stable), int32.

    Args:
        x: input tensor.
        axis: int or None (flattened); default -1.
    """
    t, d = _along("argsort", x, axis)
    if t.dtype == torch.bool:
        t = t.to(torch.uint8)
    return torch.argsort(t, dim=d, stable=True).to(torch.int32)


@op("argpartition")
def argpartition(x: Any, kth: int, axis: int | None = -1) -> torch.Tensor:
    """Indices that put the ``kth`` smallest element in place, smaller ones before it, larger after, int32.

    Args:
        x: input tensor.
        kth: position of the partition element.
        axis: int or None (flattened); default -1.
    """
    t, d = _along("argpartition", x, axis)
    n = t.shape[d]
    if not -n <= kth < n:
        raise InputError(f"ops.argpartition: `kth`={kth} is out of range for axis {axis} of length {n}.")
    return torch.argsort(t, dim=d, stable=True).to(torch.int32)


@op("searchsorted")
def searchsorted(sorted_sequence: Any, values: Any, side: str = "left") -> torch.Tensor:
    """Indices where ``values`` would be inserted into the 1-D ``sorted_sequence`` to keep it sorted, int32.

    Args:
        sorted_sequence: 1-D ascending tensor.
        values: values to place.
        side: ``'left'`` (first suitable index, default) or ``'right'`` (last).
    """
    seq, vals = tensors("searchsorted", sorted_sequence, values)
    if seq.ndim != 1:
        raise ShapeError(f"ops.searchsorted: `sorted_sequence` must be 1-D; got shape {tuple(seq.shape)}.")
    if side not in ("left", "right"):
        raise InputError(f"ops.searchsorted: `side` must be 'left' or 'right'; got {side!r}.")
    dtype = torch.promote_types(seq.dtype, vals.dtype)
    return torch.searchsorted(seq.to(dtype), vals.to(dtype), side=side, out_int32=True)


@op("digitize")
def digitize(x: Any, bins: Any) -> torch.Tensor:
    """Index of the bin of each value of ``x`` (``bins`` ascending; right edges open), int32.

    Args:
        x: values.
        bins: 1-D ascending bin edges.
    """
    t, b = tensors("digitize", x, bins)
    if t.dtype == torch.bool:
        t = t.to(torch.uint8)
    dtype = torch.promote_types(t.dtype, b.dtype)
    return torch.bucketize(t.to(dtype), b.to(dtype), right=True).to(torch.int32)


@op("histogram")
def histogram(x: Any, bins: int = 10, range: tuple[float, float] | None = None
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Counts of ``x`` in ``bins`` equal-width bins, and the bin edges.

    Args:
        x: 1-D values.
        bins: number of bins; default 10.
        range: ``(low, high)`` of the bins; default None (the data's min and max).
    """
    t = tensor("histogram", x)
    if t.ndim != 1:
        raise ShapeError(f"ops.histogram: `x` must be 1-D; got shape {tuple(t.shape)}.")
    if not isinstance(bins, int) or bins <= 0:
        raise InputError(f"ops.histogram: `bins` must be a positive int; got {bins!r}.")
    t = t if t.dtype.is_floating_point else t.to(torch.float32)
    if range is None:
        lo, hi = (float(t.min()), float(t.max())) if t.numel() else (0.0, 1.0)
    else:
        lo, hi = float(range[0]), float(range[1])
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    edges = torch.linspace(lo, hi, bins + 1, dtype=torch.float64, device=t.device).to(t.dtype)
    inside = (t >= lo) & (t <= hi)
    idx = ((t.to(torch.float64) - lo) / (hi - lo) * bins).floor().clamp(0, bins - 1).long()
    counts = torch.zeros(bins, dtype=t.dtype, device=t.device).index_add_(0, idx[inside],
                                                                         torch.ones_like(t[inside]))
    return counts, edges


@op("bincount")
def bincount(x: Any, weights: Any = None, minlength: int = 0, sparse: bool = False) -> torch.Tensor:
    """Occurrences of each non-negative integer in ``x`` (summed ``weights`` when given); 2-D counts per row.

    Args:
        x: 1-D or 2-D non-negative integers.
        weights: same shape as ``x``; default None.
        minlength: minimum number of bins; default 0.
        sparse: must be False (no sparse tensors); default False.
    """
    if sparse:
        raise InputError("ops.bincount: sparse=True is not supported.")
    t = tensor("bincount", x)
    if t.dtype.is_floating_point or t.dtype == torch.bool:
        raise InputError(f"ops.bincount: `x` must hold integers; got dtype {t.dtype}.")
    if t.numel() and bool(t.min() < 0):
        raise InputError("ops.bincount: `x` must be non-negative.")
    w = None if weights is None else tensor("bincount", weights).to(t.device)
    dtype = "int32" if w is None else result_type(t.dtype, w.dtype)
    length = builtins.max(int(t.max()) + 1 if t.numel() else 0, minlength)
    if t.ndim == 1:
        rows, wrows = [t], [w]
    elif t.ndim == 2:
        rows, wrows = list(t), ([None] * t.shape[0] if w is None else list(w))
    else:
        raise ShapeError(f"ops.bincount: `x` must be 1-D or 2-D; got shape {tuple(t.shape)}.")
    out = torch.stack([torch.bincount(r.long(), weights=wr, minlength=length) for r, wr in zip(rows, wrows)])
    return cast(out if t.ndim == 2 else out[0], dtype)


@op("unique")
def unique(x: Any, sorted: bool = True, return_index: bool = False, return_inverse: bool = False,
           return_counts: bool = False, axis: int | None = None, size: int | None = None,
           fill_value: Any = None) -> Any:
    """Unique elements (or slices along ``axis``), optionally with first indices, inverse and counts.

    Args:
        x: input tensor.
        sorted: return values sorted; default True.
        return_index: also return the first index of each unique value; default False.
        return_inverse: also return indices rebuilding ``x``; default False.
        return_counts: also return how often each occurs; default False.
        axis: int or None (flattened); default None.
        size: pad or cut the result to this many values; default None.
        fill_value: padding value when ``size`` is larger; default None (0).
    """
    t = tensor("unique", x)
    d = None if axis is None else one_axis(axis, t.ndim, "unique")
    values, inverse, counts = torch.unique(t, sorted=True, return_inverse=True, return_counts=True, dim=d)
    n = values.shape[0 if d is None else d]
    inv_flat = inverse.reshape(-1)
    first = torch.full((n,), inv_flat.numel(), dtype=torch.long, device=t.device).scatter_reduce(
        0, inv_flat, torch.arange(inv_flat.numel(), device=t.device), reduce="amin")
    if size is not None:
        values, first, counts = _resize(values, first, counts, size, 0 if d is None else d, fill_value)
    out = [values]
    if return_index:
        out.append(first)
    if return_inverse:
        out.append(inverse)
    if return_counts:
        out.append(counts)
    return out[0] if len(out) == 1 else tuple(out)


def _resize(values: torch.Tensor, first: torch.Tensor, counts: torch.Tensor, size: int, d: int, fill: Any
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    n = values.shape[d]
    if n >= size:
        return values.narrow(d, 0, size), first[:size], counts[:size]
    pad_shape = list(values.shape)
    pad_shape[d] = size - n
    filler = torch.full(pad_shape, 0 if fill is None else fill, dtype=values.dtype, device=values.device)
    extra = torch.zeros(size - n, dtype=counts.dtype, device=counts.device)
    return torch.cat([values, filler], dim=d), torch.cat([first, extra]), torch.cat([counts, extra])


@op("nonzero")
def nonzero(x: Any) -> torch.Tensor:
    """Indices of non-zero elements, shape ``(ndim, count)``, int32.

    Args:
        x: input tensor.
    """
    return torch.nonzero(tensor("nonzero", x)).T.to(torch.int32)


@op("where")
def where(condition: Any, x1: Any = None, x2: Any = None) -> torch.Tensor:
    """``x1`` where ``condition`` holds, else ``x2``; with only ``condition``, the indices where it holds.

    Args:
        condition: bool tensor (other types are tested for non-zero).
        x1: values where true; default None.
        x2: values where false; default None.
    """
    if (x1 is None) != (x2 is None):
        raise InputError("ops.where: give both `x1` and `x2`, or neither.")
    cond = tensor("where", condition)
    cond = cond if cond.dtype == torch.bool else cond != 0
    if x1 is None:
        return torch.stack(torch.where(cond), dim=0)
    c, a, b = tensors("where", cond, x1, x2)
    broadcast_shapes_or_raise("where", c, a, b)
    return torch.where(c, a, b)


@op("select")
def select(condlist: Sequence[Any], choicelist: Sequence[Any], default: Any = 0) -> torch.Tensor:
    """For each element, the choice of the first true condition, else ``default``.

    Args:
        condlist: bool tensors.
        choicelist: value tensors, one per condition.
        default: value where no condition holds; default 0.
    """
    if len(condlist) != len(choicelist):
        raise InputError(f"ops.select: `condlist` ({len(condlist)}) and `choicelist` ({len(choicelist)}) must "
                         f"have the same length.")
    out = tensor("select", default)
    for c, v in reversed(list(zip(condlist, choicelist))):
        ct, vt, out = tensors("select", c, v, out)
        out = torch.where(ct.bool(), vt, out)
    return out


@op("isin")
def isin(x1: Any, x2: Any, assume_unique: bool = False, invert: bool = False) -> torch.Tensor:
    """Whether each element of ``x1`` occurs in ``x2`` (bool, shaped like ``x1``).

    Args:
        x1: values to test.
        x2: the values to look for.
        assume_unique: accepted for NumPy compatibility; default False.
        invert: return "not in" instead; default False.
    """
    a, b = tensors("isin", x1, x2)
    dtype = torch.promote_types(a.dtype, b.dtype)
    if dtype == torch.bool:
        dtype = torch.int32
    return torch.isin(a.to(dtype), b.to(dtype), assume_unique=assume_unique, invert=invert)


@op("unravel_index")
def unravel_index(indices: Any, shape: Sequence[int]) -> tuple[torch.Tensor, ...]:
    """Flat indices to coordinate tensors, one per axis of ``shape``.

    Args:
        indices: integer flat indices.
        shape: the shape they index.
    """
    t = tensor("unravel_index", indices)
    dims = tuple(int(s) for s in shape)
    total = 1
    for s in dims:
        total *= s
    if t.numel() and (bool(t.min() < 0) or bool(t.max() >= total)):
        raise InputError(f"ops.unravel_index: indices must lie in [0, {total}) for shape {dims}.")
    dtype = to_torch_dtype(result_type(t.dtype))
    return tuple(c.to(dtype) for c in torch.unravel_index(t.long(), dims))


def vectorize(pyfunc: Callable[..., Any], *, excluded: set | None = None, signature: str | None = None
              ) -> Callable[..., Any]:
    """Turn a function of scalars (or core shapes given by ``signature``) into one mapped over tensors.

    Args:
        pyfunc: the function.
        excluded: positional indices or keyword names passed through unmapped; default None.
        signature: NumPy gufunc signature such as ``'(n),(n)->()'``; default None (all scalar).
    """
    excluded = set(excluded or ())
    ins = None if signature is None else [len([d for d in p.split(",") if d.strip()]) for p in
                                          signature.split("->")[0].replace(" ", "")[1:-1].split("),(")]

    def mapped(*args: Any, **kwargs: Any) -> Any:
        fixed = {i: a for i, a in enumerate(args) if i in excluded}
        live = [i for i in builtins.range(len(args)) if i not in excluded]
        ts = tensors("vectorize", *(args[i] for i in live))
        cores = [0] * len(ts) if ins is None else ins
        batch = broadcast_shapes_or_raise("vectorize", *(t.shape[:t.ndim - c] for t, c in zip(ts, cores)))
        ts = [t.expand(tuple(batch) + t.shape[t.ndim - c:]) for t, c in zip(ts, cores)]

        def call(*xs: torch.Tensor) -> Any:
            full, it = [], iter(xs)
            for i in builtins.range(len(args)):
                full.append(fixed[i] if i in fixed else next(it))
            return pyfunc(*full, **kwargs)

        fn = call
        for _ in builtins.range(len(batch)):
            fn = torch.vmap(fn)
        return fn(*ts)

    return mapped

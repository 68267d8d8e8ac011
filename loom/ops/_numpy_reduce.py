"""Reductions and scans (``keras.ops.sum``, ``mean``, ``argmax``, ``cumsum``, ``quantile``, the ``nan*`` family).

``axis`` is None (all axes), an int or a tuple; negative values count from the end; a wrong axis raises
:class:`loom.errors.InputError` naming the op. Output dtypes follow Keras's torch backend: ``sum`` of small
integers or bools is int32, ``mean``/``var``/``std``/``quantile`` of integers are floatx, ``arg*`` are int32.

Example:
    >>> from loom.ops import numpy as np_ops
    >>> np_ops.sum([[1, 2], [3, 4]], axis=-1).tolist()
    [3, 7]
    >>> np_ops.mean([1, 2]).dtype
    torch.float32
"""

from __future__ import annotations

import builtins
from typing import Any

import torch

from loom.errors import InputError
from loom.ops._tensor import as_float, canonical_axis, cast, one_axis, op, result_type, tensor, to_torch_dtype

__all__ = [
    "all", "amax", "amin", "any", "argmax", "argmin", "average", "count_nonzero", "cumprod", "cumsum", "max",
    "mean", "min", "prod", "ptp", "std", "sum", "var",
]

_SMALL_INTS = (torch.bool, torch.uint8, torch.int8, torch.int16)


def _dims(name: str, x: torch.Tensor, axis: Any) -> tuple[int, ...]:
    """Normalised axes; None means every axis (empty for a scalar)."""
    axes = canonical_axis(axis, x.ndim, name)
    if axes is None:
        return tuple(range(x.ndim))
    return axes if x.ndim else ()


def _empty_axis(axis: Any) -> bool:
    return isinstance(axis, (list, tuple)) and len(axis) == 0


def _reduce(fn: Any, x: torch.Tensor, dims: tuple[int, ...], keepdims: bool) -> torch.Tensor:
    """``fn`` over ``dims``; no dims (a scalar, or ``axis=()``) reduces nothing."""
    if not dims:
        return fn(x) if x.ndim == 0 else x
    return fn(x, dim=dims, keepdim=keepdims)


@op("sum")
def sum(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Sum over ``axis``; bool and 8/16-bit integer inputs give int32.

    Args:
        x: input tensor.
        axis: axis or axes to reduce; default None (all).
        keepdims: keep reduced axes with length 1; default False.
    """
    x = tensor("sum", x)
    if _empty_axis(axis):
        return x
    out_dtype = torch.int32 if x.dtype in _SMALL_INTS else x.dtype
    dims = _dims("sum", x, axis)
    return cast(torch.sum(x, dim=dims, keepdim=keepdims) if dims else x, out_dtype)


@op("prod")
def prod(x: Any, axis: Any = None, keepdims: bool = False, dtype: Any = None) -> torch.Tensor:
    """Product over ``axis``; integers and bools give int32 unless ``dtype`` says otherwise.

    Args:
        x: input tensor.
        axis: axis or axes to reduce; default None (all).
        keepdims: keep reduced axes with length 1; default False.
        dtype: output dtype; default None (Keras's promoted type of ``x``).
    """
    x = tensor("prod", x)
    if dtype is None:
        dtype = result_type(x.dtype)
        dtype = "int32" if dtype in ("bool", "uint8", "int8", "int16") else dtype
    dims = _dims("prod", x, axis)
    x = cast(x, dtype)
    for d in sorted(dims, reverse=True):
        x = torch.prod(x, dim=d, keepdim=keepdims, dtype=x.dtype)
    return x


@op("mean")
def mean(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Arithmetic mean over ``axis``; integer and bool inputs give floatx.

    Args:
        x: input tensor.
        axis: axis or axes to reduce; default None (all).
        keepdims: keep reduced axes with length 1; default False.
    """
    x = tensor("mean", x)
    if _empty_axis(axis):
        return x
    dims = _dims("mean", x, axis)
    xc = x if x.dtype.is_floating_point else cast(x, result_type(x.dtype, "float32"))
    return torch.mean(xc, dim=dims, keepdim=keepdims) if dims else xc


@op("var")
def var(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Population variance over ``axis`` (divides by N).

    Args:
        x: input tensor.
        axis: axis or axes to reduce; default None (all).
        keepdims: keep reduced axes with length 1; default False.
    """
    t = tensor("var", x)
    out = result_type(t.dtype, float)
    if _empty_axis(axis):
        return torch.zeros_like(t, dtype=to_torch_dtype(out))
    dims = _dims("var", t, axis)
    t = cast(t, result_type(t.dtype, "float32"))
    return cast(torch.var(t, dim=dims, keepdim=keepdims, correction=0), out)


@op("std")
def std(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Population standard deviation over ``axis`` (divides by N).

    Args:
        x: input tensor.
        axis: axis or axes to reduce; default None (all).
        keepdims: keep reduced axes with length 1; default False.
    """
    t = as_float(tensor("std", x))
    return torch.std(t, dim=_dims("std", t, axis), keepdim=keepdims, correction=0)


def _extreme(name: str, fn: Any, x: Any, axis: Any, keepdims: bool, initial: Any) -> torch.Tensor:
    t = tensor(name, x)
    dims = _dims(name, t, axis)
    if t.numel() == 0:
        if initial is None:
            raise InputError(f"ops.{name}: cannot reduce an empty tensor (shape {tuple(t.shape)}) without "
                             f"`initial`.")
        shape = [1 if d in dims else s for d, s in enumerate(t.shape)] if keepdims else \
            [s for d, s in enumerate(t.shape) if d not in dims]
        return torch.full(shape, initial, dtype=t.dtype, device=t.device)
    out = _reduce(fn, t, dims, keepdims)
    if initial is not None:
        init = torch.as_tensor(initial, dtype=out.dtype, device=out.device)
        out = torch.maximum(out, init) if fn is torch.amax else torch.minimum(out, init)
    return out


@op("max")
def max(x: Any, axis: Any = None, keepdims: bool = False, initial: Any = None) -> torch.Tensor:
    """Maximum over ``axis``.

    Args:
        x: input tensor.
        axis: axis or axes to reduce; default None (all).
        keepdims: keep reduced axes with length 1; default False.
        initial: a lower bound for the result, required for empty inputs; default None.
    """
    return _extreme("max", torch.amax, x, axis, keepdims, initial)


@op("min")
def min(x: Any, axis: Any = None, keepdims: bool = False, initial: Any = None) -> torch.Tensor:
    """Minimum over ``axis``.

    Args:
        x: input tensor.
        axis: axis or axes to reduce; default None (all).
        keepdims: keep reduced axes with length 1; default False.
        initial: an upper bound for the result, required for empty inputs; default None.
    """
    return _extreme("min", torch.amin, x, axis, keepdims, initial)


@op("amax")
def amax(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Maximum over ``axis`` (as :func:`max` without ``initial``).

    Args:
        x: input tensor.
        axis: axis or axes to reduce; default None (all).
        keepdims: keep reduced axes with length 1; default False.
    """
    return _extreme("amax", torch.amax, x, axis, keepdims, None)


@op("amin")
def amin(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Minimum over ``axis`` (as :func:`min` without ``initial``).

    Args:
        x: input tensor.
        axis: axis or axes to reduce; default None (all).
        keepdims: keep reduced axes with length 1; default False.
    """
    return _extreme("amin", torch.amin, x, axis, keepdims, None)


@op("all")
def all(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Whether every element along ``axis`` is true (non-zero); bool result.

    Args:
        x: input tensor.
        axis: axis or axes to reduce; default None (all).
        keepdims: keep reduced axes with length 1; default False.
    """
    t = tensor("all", x)
    return _reduce(torch.all, t.bool() if t.dtype != torch.bool else t, _dims("all", t, axis), keepdims)


@op("any")
def any(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Whether any element along ``axis`` is true (non-zero); bool result.

    Args:
        x: input tensor.
        axis: axis or axes to reduce; default None (all).
        keepdims: keep reduced axes with length 1; default False.
    """
    t = tensor("any", x)
    return _reduce(torch.any, t.bool() if t.dtype != torch.bool else t, _dims("any", t, axis), keepdims)


def _arg(name: str, fn: Any, x: Any, axis: Any, keepdims: bool) -> torch.Tensor:
    t = tensor(name, x)
    if t.dtype == torch.bool:
        t = t.to(torch.int32)
    if axis is None:
        out = fn(t.reshape(-1))
        return out.reshape([1] * t.ndim).to(torch.int32) if keepdims else out.to(torch.int32)
    return fn(t, dim=one_axis(axis, t.ndim, name), keepdim=keepdims).to(torch.int32)


@op("argmax")
def argmax(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Index of the maximum along ``axis`` (flattened when None), int32.

    Args:
        x: input tensor.
        axis: one axis; default None (the flattened tensor).
        keepdims: keep the reduced axis with length 1; default False.
    """
    return _arg("argmax", torch.argmax, x, axis, keepdims)


@op("argmin")
def argmin(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Index of the minimum along ``axis`` (flattened when None), int32.

    Args:
        x: input tensor.
        axis: one axis; default None (the flattened tensor).
        keepdims: keep the reduced axis with length 1; default False.
    """
    return _arg("argmin", torch.argmin, x, axis, keepdims)


@op("count_nonzero")
def count_nonzero(x: Any, axis: Any = None) -> torch.Tensor:
    """Number of non-zero elements along ``axis``, int32.

    Args:
        x: input tensor.
        axis: axis or axes to count over; default None (all).
    """
    t = tensor("count_nonzero", x)
    if _empty_axis(axis):
        return (t != 0).to(torch.int32)
    dims = _dims("count_nonzero", t, axis)
    return (t != 0).sum(dim=dims).to(torch.int32) if dims else (t != 0).to(torch.int32)


def _scan(name: str, fn: Any, x: Any, axis: Any, dtype: Any) -> torch.Tensor:
    t = tensor(name, x)
    if axis is None:
        t, axis = t.reshape(-1), 0
    d = one_axis(axis, t.ndim, name)
    out = result_type(dtype if dtype is not None else t.dtype)
    out = "int32" if out == "bool" else out
    target = to_torch_dtype(out)
    return fn(cast(t, target), dim=d, dtype=target)


@op("cumsum")
def cumsum(x: Any, axis: Any = None, dtype: Any = None) -> torch.Tensor:
    """Cumulative sum along ``axis`` (of the flattened tensor when None).

    Args:
        x: input tensor.
        axis: one axis; default None (flatten first).
        dtype: output dtype; default None (Keras's promoted type of ``x``; bools give int32).
    """
    return _scan("cumsum", torch.cumsum, x, axis, dtype)


@op("cumprod")
def cumprod(x: Any, axis: Any = None, dtype: Any = None) -> torch.Tensor:
    """Cumulative product along ``axis`` (of the flattened tensor when None).

    Args:
        x: input tensor.
        axis: one axis; default None (flatten first).
        dtype: output dtype; default None (Keras's promoted type of ``x``; bools give int32).
    """
    return _scan("cumprod", torch.cumprod, x, axis, dtype)


@op("ptp")
def ptp(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Peak to peak: ``max - min`` along ``axis``.

    Args:
        x: input tensor.
        axis: axis or axes to reduce; default None (all).
        keepdims: keep reduced axes with length 1; default False.
    """
    t = tensor("ptp", x)
    if _empty_axis(axis):
        return torch.zeros_like(t)
    if t.dtype == torch.bool:
        raise InputError("ops.ptp: a bool tensor has no peak-to-peak difference; cast it to int first.")
    dims = _dims("ptp", t, axis)
    return _reduce(torch.amax, t, dims, keepdims) - _reduce(torch.amin, t, dims, keepdims)


@op("average")
def average(x: Any, axis: Any = None, weights: Any = None) -> torch.Tensor:
    """Weighted mean along ``axis``.

    Args:
        x: input tensor.
        axis: one axis; default None (all elements).
        weights: weights of the same shape as ``x``, or 1-D along ``axis``; default None (plain mean).
    """
    t = tensor("average", x)
    w = None if weights is None else tensor("average", weights)
    dtype = result_type(t.dtype, float, *(() if w is None else (w.dtype,)))
    t = cast(t, dtype)
    if w is None:
        return torch.mean(t, dim=_dims("average", t, axis)) if t.ndim else t
    w = cast(w, dtype)
    if axis is None:
        if w.shape != t.shape:
            raise InputError(f"ops.average: `weights` shape {tuple(w.shape)} must equal `x` shape "
                             f"{tuple(t.shape)} when axis is None.")
        return torch.sum(t * w) / torch.sum(w)
    d = one_axis(axis, t.ndim, "average")
    if w.ndim == 1 and t.ndim > 1:
        if w.shape[0] != t.shape[d]:
            raise InputError(f"ops.average: 1-D `weights` of length {w.shape[0]} must match axis {axis} of `x` "
                             f"(length {t.shape[d]}).")
        w = w.reshape([-1 if i == d else 1 for i in builtins.range(t.ndim)])
    return torch.sum(t * w, dim=d) / torch.sum(w.expand_as(t), dim=d)

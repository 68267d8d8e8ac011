"""Quantiles and NaN-ignoring reductions (``keras.ops.quantile``, ``median``, ``nansum``, ``nanmean``...).

Quantiles compute in float32 (float64 inputs too, as Keras's torch backend) and return floatx; the ``nan*``
ops treat NaN as missing. Integer inputs cannot hold NaN, so there the ``nan*`` ops equal their plain twins.

Example:
    >>> import math
    >>> from loom.ops import numpy as np_ops
    >>> np_ops.nanmean([1.0, math.nan, 3.0]).item()
    2.0
    >>> np_ops.median([[1, 5, 2]], axis=1).tolist()
    [2.0]
"""

from __future__ import annotations

import math
from typing import Any

import torch

from loom.errors import InputError
from loom.ops import _numpy_reduce as red
from loom.ops._tensor import canonical_axis, cast, op, result_type, tensor

__all__ = [
    "median", "nanargmax", "nanargmin", "nancumprod", "nancumsum", "nanmax", "nanmean", "nanmedian", "nanmin",
    "nanpercentile", "nanprod", "nanquantile", "nanstd", "nansum", "nanvar", "percentile", "quantile",
]

_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(name: str, x: Any, q: Any, axis: Any, method: str, keepdims: bool, nan: bool) -> torch.Tensor:
    if method not in _METHODS:
        raise InputError(f"ops.{name}: `method` must be one of {list(_METHODS)}; got {method!r}.")
    t = tensor(name, x)
    out_dtype = result_type(t.dtype, float)
    t = cast(t, result_type(t.dtype, "float32"))
    qt = cast(tensor(name, q), t.dtype).to(t.device)
    if bool(torch.any((qt < 0) | (qt > 1))):
        raise InputError(f"ops.{name}: quantiles must lie in [0, 1] (percentiles in [0, 100]); got {q!r}.")
    axes = canonical_axis(axis, t.ndim, name)
    if axes is None:
        flat = t.reshape(-1)
        axes = tuple(range(t.ndim))
    else:
        rest = [d for d in range(t.ndim) if d not in axes]
        flat = t.permute(rest + list(axes)).reshape([t.shape[d] for d in rest] + [-1])
    fn = torch.nanquantile if nan else torch.quantile
    y = fn(flat, qt, dim=-1, interpolation=method)
    if keepdims:
        shift = 1 if qt.ndim else 0
        for d in sorted(axes):
            y = y.unsqueeze(d + shift)
    return cast(y, out_dtype)


@op("quantile")
def quantile(x: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False) -> torch.Tensor:
    """The ``q``-th quantiles of ``x`` along ``axis``.

    Args:
        x: input tensor.
        q: a quantile or 1-D tensor of quantiles in [0, 1]; a leading axis of the result when 1-D.
        axis: axis or axes to reduce; default None (all).
        method: ``'linear'`` (default), ``'lower'``, ``'higher'``, ``'midpoint'`` or ``'nearest'``.
        keepdims: keep reduced axes with length 1; default False.
    """
    return _quantile("quantile", x, q, axis, method, keepdims, nan=False)


@op("percentile")
def percentile(x: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False
               ) -> torch.Tensor:
    """The ``q``-th percentiles (``q`` in [0, 100]); otherwise as :func:`quantile`.

    Args:
        x: input tensor.
        q: a percentile or 1-D tensor of percentiles in [0, 100].
        axis: axis or axes to reduce; default None (all).
        method: interpolation, as in :func:`quantile`; default ``'linear'``.
        keepdims: keep reduced axes with length 1; default False.
    """
    return _quantile("percentile", x, tensor("percentile", q, dtype="float32") / 100.0, axis, method, keepdims,
                     nan=False)


@op("median")
def median(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """The median along ``axis`` (the mean of the two middle values for even lengths).

    Args:
        x: input tensor.
        axis: axis or axes to reduce; default None (all).
        keepdims: keep reduced axes with length 1; default False.
    """
    return _quantile("median", x, 0.5, axis, "linear", keepdims, nan=False)


@op("nanquantile")
def nanquantile(x: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False
                ) -> torch.Tensor:
    """As :func:`quantile`, ignoring NaN.

    Args:
        x: input tensor.
        q: a quantile or 1-D tensor of quantiles in [0, 1].
        axis: axis or axes to reduce; default None (all).
        method: interpolation, as in :func:`quantile`; default ``'linear'``.
        keepdims: keep reduced axes with length 1; default False.
    """
    return _quantile("nanquantile", x, q, axis, method, keepdims, nan=True)


@op("nanpercentile")
def nanpercentile(x: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False
                  ) -> torch.Tensor:
    """As :func:`percentile`, ignoring NaN.

    Args:
        x: input tensor.
        q: a percentile or 1-D tensor of percentiles in [0, 100].
        axis: axis or axes to reduce; default None (all).
        method: interpolation, as in :func:`quantile`; default ``'linear'``.
        keepdims: keep reduced axes with length 1; default False.
    """
    q = tensor("nanpercentile", q, dtype="float32") / 100.0
    return _quantile("nanpercentile", x, q, axis, method, keepdims, nan=True)


@op("nanmedian")
def nanmedian(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """As :func:`median`, ignoring NaN.

    Args:
        x: input tensor.
        axis: axis or axes to reduce; default None (all).
        keepdims: keep reduced axes with length 1; default False.
    """
    if red._empty_axis(axis):
        return tensor("nanmedian", x)
    return _quantile("nanmedian", x, 0.5, axis, "linear", keepdims, nan=True)


def _filled(name: str, x: Any, fill: float) -> torch.Tensor:
    t = tensor(name, x)
    if not t.dtype.is_floating_point:
        return t
    return torch.where(torch.isnan(t), torch.tensor(fill, dtype=t.dtype, device=t.device), t)


@op("nansum")
def nansum(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Sum treating NaN as 0.

    Args:
        x: input tensor.
        axis: axis or axes to reduce; default None (all).
        keepdims: keep reduced axes with length 1; default False.
    """
    t = _filled("nansum", x, 0.0)
    if red._empty_axis(axis):
        return cast(t, "int32") if t.dtype in red._SMALL_INTS else t
    return red.sum(t, axis=axis, keepdims=keepdims)


@op("nanprod")
def nanprod(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Product treating NaN as 1.

    Args:
        x: input tensor.
        axis: axis or axes to reduce; default None (all).
        keepdims: keep reduced axes with length 1; default False.
    """
    t = _filled("nanprod", x, 1.0)
    return t if red._empty_axis(axis) else red.prod(t, axis=axis, keepdims=keepdims)


@op("nancumsum")
def nancumsum(x: Any, axis: Any = None, dtype: Any = None) -> torch.Tensor:
    """Cumulative sum treating NaN as 0.

    Args:
        x: input tensor.
        axis: one axis; default None (flatten first).
        dtype: output dtype; default None (as :func:`cumsum`).
    """
    return red.cumsum(_filled("nancumsum", x, 0.0), axis=axis, dtype=dtype)


@op("nancumprod")
def nancumprod(x: Any, axis: Any = None, dtype: Any = None) -> torch.Tensor:
    """Cumulative product treating NaN as 1.

    Args:
        x: input tensor.
        axis: one axis; default None (flatten first).
        dtype: output dtype; default None (as :func:`cumprod`).
    """
    return red.cumprod(_filled("nancumprod", x, 1.0), axis=axis, dtype=dtype)


def _nan_extreme(name: str, x: Any, axis: Any, keepdims: bool, fill: float) -> torch.Tensor:
    t = tensor(name, x)
    fn = red.amax if fill < 0 else red.amin
    if not t.dtype.is_floating_point:
        return fn(t, axis=axis, keepdims=keepdims)
    if red._empty_axis(axis):
        return t
    nan = torch.isnan(t)
    out = fn(torch.where(nan, torch.tensor(fill, dtype=t.dtype, device=t.device), t), axis=axis, keepdims=keepdims)
    return torch.where(red.all(nan, axis=axis, keepdims=keepdims), torch.nan, out)


@op("nanmax")
def nanmax(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Maximum ignoring NaN (NaN where every value is NaN).

    Args:
        x: input tensor.
        axis: axis or axes to reduce; default None (all).
        keepdims: keep reduced axes with length 1; default False.
    """
    return _nan_extreme("nanmax", x, axis, keepdims, -math.inf)


@op("nanmin")
def nanmin(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Minimum ignoring NaN (NaN where every value is NaN).

    Args:
        x: input tensor.
        axis: axis or axes to reduce; default None (all).
        keepdims: keep reduced axes with length 1; default False.
    """
    return _nan_extreme("nanmin", x, axis, keepdims, math.inf)


def _nan_arg(name: str, x: Any, axis: Any, keepdims: bool, fill: float) -> torch.Tensor:
    t = tensor(name, x)
    fn = red.argmax if fill < 0 else red.argmin
    if not t.dtype.is_floating_point:
        return fn(t, axis=axis, keepdims=keepdims)
    nan = torch.isnan(t)
    out = fn(torch.where(nan, torch.tensor(fill, dtype=t.dtype, device=t.device), t), axis=axis,
             keepdims=keepdims)
    if axis is None:
        all_nan = nan.all().reshape(out.shape)
    else:
        all_nan = red.all(nan, axis=axis, keepdims=keepdims)
    return torch.where(all_nan, torch.tensor(-1, dtype=torch.int32, device=t.device), out)


@op("nanargmax")
def nanargmax(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Index of the maximum ignoring NaN, int32 (-1 where every value is NaN).

    Args:
        x: input tensor.
        axis: one axis; default None (the flattened tensor).
        keepdims: keep the reduced axis with length 1; default False.
    """
    return _nan_arg("nanargmax", x, axis, keepdims, -math.inf)


@op("nanargmin")
def nanargmin(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Index of the minimum ignoring NaN, int32 (-1 where every value is NaN).

    Args:
        x: input tensor.
        axis: one axis; default None (the flattened tensor).
        keepdims: keep the reduced axis with length 1; default False.
    """
    return _nan_arg("nanargmin", x, axis, keepdims, math.inf)


@op("nanmean")
def nanmean(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Mean ignoring NaN.

    Args:
        x: input tensor.
        axis: axis or axes to reduce; default None (all).
        keepdims: keep reduced axes with length 1; default False.
    """
    t = tensor("nanmean", x)
    if red._empty_axis(axis):
        return t
    t = cast(t, result_type(t.dtype, float))
    return torch.nanmean(t, dim=red._dims("nanmean", t, axis), keepdim=keepdims)


@op("nanvar")
def nanvar(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Population variance ignoring NaN.

    Args:
        x: input tensor.
        axis: axis or axes to reduce; default None (all).
        keepdims: keep reduced axes with length 1; default False.
    """
    t = tensor("nanvar", x)
    t = cast(t, result_type(t.dtype, float))
    if red._empty_axis(axis):
        return torch.where(torch.isnan(t), t, torch.zeros((), dtype=t.dtype, device=t.device))
    dims = red._dims("nanvar", t, axis)
    valid = ~torch.isnan(t)
    centered = torch.where(valid, t - torch.nanmean(t, dim=dims, keepdim=True), 0.0)
    return (centered * centered).sum(dim=dims, keepdim=keepdims) / valid.sum(dim=dims, keepdim=keepdims)


@op("nanstd")
def nanstd(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Population standard deviation ignoring NaN.

    Args:
        x: input tensor.
        axis: axis or axes to reduce; default None (all).
        keepdims: keep reduced axes with length 1; default False.
    """
    return torch.sqrt(nanvar(x, axis=axis, keepdims=keepdims))

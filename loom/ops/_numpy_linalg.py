"""Products, diagonals and calculus (``keras.ops.matmul``, ``dot``, ``einsum``, ``trace``, ``diff``, ``cross``...).

Products compute integers in floats (exact for the sizes integer products are used at) and return Keras's
promoted dtype; inner dimensions that do not match raise :class:`loom.errors.ShapeError` naming both shapes.

Example:
    >>> from loom.ops import numpy as np_ops
    >>> np_ops.matmul([[1, 2]], [[3], [4]]).tolist()
    [[11]]
    >>> np_ops.trace([[1, 2], [3, 4]]).item()
    5
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from loom.errors import InputError, ShapeError
from loom.ops._tensor import as_float, broadcast_shapes_or_raise, cast, one_axis, op, result_type, tensor, tensors

__all__ = [
    "corrcoef", "correlate", "cross", "diag", "diagflat", "diagonal", "diff", "dot", "einsum", "inner", "kron",
    "matmul", "outer", "slogdet", "tensordot", "trace", "trapezoid", "tril", "triu", "vdot",
]


def _compute(result: str) -> str:
    """The dtype a product of ``result``-typed operands computes in: a float (float16 widens on the CPU)."""
    compute = result_type(result, float)
    return "float32" if compute == "float16" else compute


def _product(name: str, x1: Any, x2: Any) -> tuple[torch.Tensor, torch.Tensor, str]:
    a, b = tensors(name, x1, x2)
    result = result_type(a.dtype, b.dtype)
    compute = _compute(result)
    return cast(a, compute), cast(b, compute), result


@op("matmul")
def matmul(x1: Any, x2: Any) -> torch.Tensor:
    """Matrix product with NumPy's batching rules (1-D operands are vectors).

    Args:
        x1: first operand, rank >= 1.
        x2: second operand, rank >= 1; ``x1.shape[-1]`` must equal ``x2``'s contracted axis.
    """
    a, b = tensors("matmul", x1, x2)
    result = "int32" if a.dtype == b.dtype == torch.int8 else result_type(a.dtype, b.dtype)
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"ops.matmul: operands must have rank >= 1; got shapes {tuple(a.shape)} and "
                         f"{tuple(b.shape)}.")
    inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if a.shape[-1] != inner_b:
        raise ShapeError(f"ops.matmul: inner dimensions differ: shapes {tuple(a.shape)} and {tuple(b.shape)}.")
    compute = _compute(result)
    return cast(torch.matmul(cast(a, compute), cast(b, compute)), result)


@op("dot")
def dot(x1: Any, x2: Any) -> torch.Tensor:
    """NumPy's ``dot``: scalar multiply, inner product of vectors, or matrix product.

    Args:
        x1: first operand.
        x2: second operand.
    """
    a, b, result = _product("dot", x1, x2)
    if a.ndim == 0 or b.ndim == 0:
        return cast(a * b, result)
    if b.ndim > 2:
        return cast(torch.tensordot(a, b, dims=([-1], [b.ndim - 2])), result)
    return cast(matmul(a, b), result)


@op("tensordot")
def tensordot(x1: Any, x2: Any, axes: Any = 2) -> torch.Tensor:
    """Sum products over ``axes``: the last ``axes`` of ``x1`` with the first of ``x2``, or explicit lists.

    Args:
        x1: first operand.
        x2: second operand.
        axes: int, or a pair of axis sequences; default 2.
    """
    a, b, result = _product("tensordot", x1, x2)
    if isinstance(axes, (list, tuple)):
        first, second = axes
        axes = ([first] if isinstance(first, int) else list(first), [second] if isinstance(second, int)
                else list(second))
    return cast(torch.tensordot(a, b, dims=axes), result)


@op("inner")
def inner(x1: Any, x2: Any) -> torch.Tensor:
    """Inner product over the last axes.

    Args:
        x1: first operand.
        x2: second operand; last axis matches ``x1``'s.
    """
    a, b, result = _product("inner", x1, x2)
    return cast(torch.inner(a, b), result)


@op("vdot")
def vdot(x1: Any, x2: Any) -> torch.Tensor:
    """Dot product of the flattened operands (the first conjugated).

    Args:
        x1: first operand.
        x2: second operand with as many elements.
    """
    a, b, result = _product("vdot", x1, x2)
    return cast(torch.vdot(a.reshape(-1), b.reshape(-1)), result)


@op("outer")
def outer(x1: Any, x2: Any) -> torch.Tensor:
    """Outer product of the flattened operands.

    Args:
        x1: first operand.
        x2: second operand.
    """
    a, b = tensors("outer", x1, x2)
    return torch.outer(a.reshape(-1), b.reshape(-1))


@op("kron")
def kron(x1: Any, x2: Any) -> torch.Tensor:
    """Kronecker product.

    Args:
        x1: first operand.
        x2: second operand.
    """
    return torch.kron(*tensors("kron", x1, x2))


@op("cross")
def cross(x1: Any, x2: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: int | None = None
          ) -> torch.Tensor:
    """Cross product of 3-vectors (2-vectors are padded with a zero z, as NumPy's).

    Args:
        x1: vectors along ``axisa``.
        x2: vectors along ``axisb``.
        axisa: vector axis of ``x1``; default -1.
        axisb: vector axis of ``x2``; default -1.
        axisc: vector axis of the result; default -1.
        axis: overrides all three when given; default None.
    """
    a, b = tensors("cross", x1, x2)
    if axis is not None:
        axisa = axisb = axisc = axis
    result = result_type(a.dtype, b.dtype)
    a = torch.movedim(a, one_axis(axisa, a.ndim, "cross", "axisa"), -1)
    b = torch.movedim(b, one_axis(axisb, b.ndim, "cross", "axisb"), -1)
    for arg, t in (("x1", a), ("x2", b)):
        if t.shape[-1] not in (2, 3):
            raise ShapeError(f"ops.cross: `{arg}` vectors must have 2 or 3 components; got shape {tuple(t.shape)}.")
    broadcast_shapes_or_raise("cross", a.shape[:-1], b.shape[:-1])
    if a.shape[-1] == 2 and b.shape[-1] == 2:
        z = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
        return cast(z, result)
    a, b = torch.broadcast_tensors(*(F.pad(t, (0, 1)) if t.shape[-1] == 2 else t for t in (a, b)))
    compute = "float32" if result == "float16" else result
    out = torch.linalg.cross(cast(a, compute), cast(b, compute), dim=-1)
    return cast(torch.movedim(out, -1, one_axis(axisc, out.ndim, "cross", "axisc")), result)


@op("einsum")
def einsum(subscripts: str, *operands: Any, **kwargs: Any) -> torch.Tensor:
    """Einstein summation, e.g. ``einsum('ij,jk->ik', a, b)``.

    Args:
        subscripts: the equation.
        *operands: the tensors.
        **kwargs: accepted for NumPy compatibility and ignored.
    """
    ts = tensors("einsum", *operands)
    if ts and all(t.dtype == torch.int8 for t in ts):
        return torch.einsum(subscripts, *(t.to(torch.int32) for t in ts)).to(torch.int32)
    return torch.einsum(subscripts, *ts)


@op("correlate")
def correlate(x1: Any, x2: Any, mode: str = "valid") -> torch.Tensor:
    """Cross-correlation of two 1-D sequences, as NumPy's.

    Args:
        x1: first sequence.
        x2: second sequence.
        mode: ``'valid'`` (default), ``'same'`` or ``'full'``.
    """
    if mode not in ("valid", "same", "full"):
        raise InputError(f"ops.correlate: `mode` must be 'valid', 'same' or 'full'; got {mode!r}.")
    a, b = tensors("correlate", x1, x2)
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"ops.correlate: needs 1-D inputs; got shapes {tuple(a.shape)} and {tuple(b.shape)}.")
    dtype = result_type(a.dtype, b.dtype)
    dtype = "float64" if dtype == "int64" else dtype if dtype in ("bfloat16", "float16", "float64") else "float32"
    a, b = cast(a, dtype), cast(b, dtype)
    n, m = a.shape[0], b.shape[0]
    full = F.conv1d(a.reshape(1, 1, -1), b.reshape(1, 1, -1), padding=m - 1).reshape(-1)
    if mode == "full":
        return full
    keep = max(n, m) - min(n, m) + 1 if mode == "valid" else n
    start = (full.shape[0] - keep) // 2
    return full[start:start + keep]


@op("slogdet")
def slogdet(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Sign and log of the absolute determinant of square matrices.

    Args:
        x: tensor of shape ``(..., n, n)``.
    """
    t = as_float(tensor("slogdet", x))
    if t.ndim < 2 or t.shape[-1] != t.shape[-2]:
        raise ShapeError(f"ops.slogdet: needs square matrices (..., n, n); got shape {tuple(t.shape)}.")
    return tuple(torch.linalg.slogdet(t))  # type: ignore[return-value]


@op("diag")
def diag(x: Any, k: int = 0) -> torch.Tensor:
    """The ``k``-th diagonal of a matrix, or a matrix with 1-D ``x`` on that diagonal.

    Args:
        x: 1-D or 2-D tensor.
        k: diagonal offset; default 0.
    """
    t = tensor("diag", x)
    if t.ndim not in (1, 2):
        raise ShapeError(f"ops.diag: needs a 1-D or 2-D tensor; got shape {tuple(t.shape)}.")
    return torch.diag(t, diagonal=k)


@op("diagflat")
def diagflat(x: Any, k: int = 0) -> torch.Tensor:
    """A matrix with the flattened ``x`` on diagonal ``k``.

    Args:
        x: input tensor.
        k: diagonal offset; default 0.
    """
    return torch.diagflat(tensor("diagflat", x), offset=k)


@op("diagonal")
def diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> torch.Tensor:
    """The diagonal of the (``axis1``, ``axis2``) planes, as a new last axis.

    Args:
        x: tensor of rank >= 2.
        offset: diagonal offset; default 0.
        axis1: first plane axis; default 0.
        axis2: second plane axis; default 1.
    """
    t = tensor("diagonal", x)
    return torch.diagonal(t, offset, one_axis(axis1, t.ndim, "diagonal", "axis1"),
                          one_axis(axis2, t.ndim, "diagonal", "axis2"))


@op("trace")
def trace(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> torch.Tensor:
    """Sum along a diagonal; small integers and bools give int32.

    Args:
        x: tensor of rank >= 2.
        offset: diagonal offset; default 0.
        axis1: first plane axis; default 0.
        axis2: second plane axis; default 1.
    """
    d = diagonal(x, offset, axis1, axis2)
    small = (torch.bool, torch.int8, torch.int16, torch.uint8)
    return torch.sum(d, dim=-1, dtype=torch.int32 if d.dtype in small else d.dtype)


@op("tril")
def tril(x: Any, k: int = 0) -> torch.Tensor:
    """Zero the elements above diagonal ``k`` of the last two axes.

    Args:
        x: tensor of rank >= 2.
        k: diagonal offset; default 0.
    """
    return torch.tril(tensor("tril", x), diagonal=k)


@op("triu")
def triu(x: Any, k: int = 0) -> torch.Tensor:
    """Zero the elements below diagonal ``k`` of the last two axes.

    Args:
        x: tensor of rank >= 2.
        k: diagonal offset; default 0.
    """
    return torch.triu(tensor("triu", x), diagonal=k)


@op("diff")
def diff(a: Any, n: int = 1, axis: int = -1) -> torch.Tensor:
    """The ``n``-th discrete difference along ``axis``.

    Args:
        a: input tensor.
        n: times to difference; default 1.
        axis: int; default -1.
    """
    t = tensor("diff", a)
    if n < 0:
        raise InputError(f"ops.diff: `n` must be non-negative; got {n}.")
    return torch.diff(t, n=n, dim=one_axis(axis, t.ndim, "diff")) if n else t


@op("corrcoef")
def corrcoef(x: Any) -> torch.Tensor:
    """Pearson correlation coefficients of the rows of ``x``.

    Args:
        x: 1-D or 2-D tensor (rows are variables, columns observations).
    """
    t = tensor("corrcoef", x)
    t = t.to(torch.float64) if t.dtype == torch.int64 else as_float(t)
    return torch.corrcoef(t)


@op("trapezoid")
def trapezoid(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1) -> torch.Tensor:
    """Integral of ``y`` along ``axis`` by the trapezoidal rule.

    Args:
        y: values.
        x: sample points; default None (spacing ``dx``).
        dx: spacing when ``x`` is None; default 1.0.
        axis: int; default -1.
    """
    t = as_float(tensor("trapezoid", y))
    d = one_axis(axis, t.ndim, "trapezoid")
    if x is not None:
        return torch.trapezoid(t, as_float(tensor("trapezoid", x)).to(t.device), dim=d)
    return torch.trapezoid(t, dx=float(dx), dim=d)

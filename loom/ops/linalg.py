"""``keras.ops.linalg`` on torch: decompositions, solves, norms and forward-mode derivatives.

Inputs are stacks of matrices ``(..., M, N)``; integer inputs compute in floatx. Bad shapes raise a
:class:`~loom.errors.ShapeError` naming the op; torch failures (a singular or non positive-definite matrix)
become an :class:`~loom.errors.InputError`.

Example:
    >>> from loom.ops import linalg
    >>> linalg.det([[2.0, 0.0], [0.0, 3.0]]).item()
    6.0
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from loom.errors import ConfigError, ShapeError
from loom.ops._common import check_choice, float_result, ftensor
from loom.ops._tensor import op


def _matrix(x: Any, name: str, square: bool = True, arg: str = "x") -> torch.Tensor:
    x = ftensor(x, name)
    if x.ndim < 2:
        raise ShapeError(f"ops.linalg.{name}: `{arg}` must have rank >= 2 (..., M, N), got shape {tuple(x.shape)}.")
    if square and x.shape[-1] != x.shape[-2]:
        raise ShapeError(f"ops.linalg.{name}: `{arg}` must be square in its last two dims, got shape "
                         f"{tuple(x.shape)}.")
    return x


def _pair(a: Any, b: Any, name: str, square: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    a, b = _matrix(a, name, square, arg="a"), ftensor(b, name)
    dtype = float_result(a, b)
    return a.to(dtype), b.to(a.device, dtype)


@op("linalg.cholesky")
def cholesky(x: Any, upper: bool = False) -> torch.Tensor:
    """The Cholesky factor ``L`` (``upper=True``: ``U``) of a symmetric positive-definite ``x``."""
    return torch.linalg.cholesky(_matrix(x, "cholesky"), upper=upper)


@op("linalg.cholesky_inverse")
def cholesky_inverse(x: Any, upper: bool = False) -> torch.Tensor:
    """The inverse of ``A`` from its Cholesky factor ``x`` (lower, or upper with ``upper=True``)."""
    return torch.cholesky_inverse(_matrix(x, "cholesky_inverse"), upper=upper)


@op("linalg.det")
def det(x: Any) -> torch.Tensor:
    """The determinant of each square matrix."""
    return torch.linalg.det(_matrix(x, "det"))


@op("linalg.eig")
def eig(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Complex eigenvalues and eigenvectors of a general square matrix."""
    return tuple(torch.linalg.eig(_matrix(x, "eig")))


@op("linalg.eigh")
def eigh(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues (ascending) and eigenvectors of a symmetric (Hermitian) matrix."""
    return tuple(torch.linalg.eigh(_matrix(x, "eigh")))


@op("linalg.inv")
def inv(x: Any) -> torch.Tensor:
    """The inverse of each square matrix."""
    return torch.linalg.inv(_matrix(x, "inv"))


@op("linalg.lu_factor")
def lu_factor(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """The packed LU factorization and 0-based pivot indices (as Keras / SciPy)."""
    lu, pivots = torch.linalg.lu_factor(_matrix(x, "lu_factor", square=False))
    return lu, pivots - 1


@op("linalg.norm")
def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Vector norm (one axis, or a 1-D input) or matrix norm (two axes, or a 2-D input), NumPy's ``ord``."""
    x = ftensor(x, "linalg.norm")
    if isinstance(axis, list):
        axis = tuple(axis)
    if axis is not None and not isinstance(axis, (int, tuple)):
        raise ConfigError(f"ops.linalg.norm: `axis` must be None, an int or a pair of ints, got {axis!r}.")
    if isinstance(ord, str) and ord not in ("fro", "nuc"):
        raise ConfigError(f"ops.linalg.norm: `ord` must be a number, 'fro' or 'nuc', got {ord!r}.")
    return torch.linalg.norm(x, ord=ord, dim=axis, keepdim=keepdims)


@op("linalg.qr")
def qr(x: Any, mode: str = "reduced") -> tuple[torch.Tensor, torch.Tensor]:
    """``Q`` and ``R`` with ``x = Q @ R``; ``mode`` is ``'reduced'`` or ``'complete'``."""
    check_choice(mode, ("reduced", "complete"), "ops.linalg.qr", "mode")
    return tuple(torch.linalg.qr(_matrix(x, "qr", square=False), mode=mode))


@op("linalg.solve")
def solve(a: Any, b: Any) -> torch.Tensor:
    """``x`` with ``a @ x = b`` for square ``a``."""
    return torch.linalg.solve(*_pair(a, b, "solve"))


@op("linalg.solve_triangular")
def solve_triangular(a: Any, b: Any, lower: bool = False) -> torch.Tensor:
    """``x`` with ``a @ x = b`` for triangular ``a`` (upper unless ``lower=True``); ``b`` may be a vector."""
    a, b = _pair(a, b, "solve_triangular")
    if b.ndim == a.ndim - 1:
        return torch.linalg.solve_triangular(a, b.unsqueeze(-1), upper=not lower).squeeze(-1)
    return torch.linalg.solve_triangular(a, b, upper=not lower)


@op("linalg.svd")
def svd(x: Any, full_matrices: bool = True, compute_uv: bool = True) -> Any:
    """``(U, S, Vh)`` with ``x = U @ diag(S) @ Vh``; only ``S`` when ``compute_uv=False``."""
    x = _matrix(x, "svd", square=False)
    if not compute_uv:
        return torch.linalg.svdvals(x)
    return tuple(torch.linalg.svd(x, full_matrices=full_matrices))


@op("linalg.lstsq")
def lstsq(a: Any, b: Any, rcond: float | None = None) -> torch.Tensor:
    """The least-squares solution of ``a @ x = b``; singular values below ``rcond * max`` are ignored."""
    a, b = _pair(a, b, "lstsq", square=False)
    vector = b.ndim == a.ndim - 1
    b = b.unsqueeze(-1) if vector else b
    if b.shape[-2] != a.shape[-2]:
        raise ShapeError(f"ops.linalg.lstsq: `a` and `b` must have the same number of rows, got a.shape="
                         f"{tuple(a.shape)}, b.shape={tuple(b.shape)}.")
    driver = "gelsd" if rcond is not None and a.device.type == "cpu" else None
    if rcond is not None and a.device.type != "cpu":
        out = torch.linalg.pinv(a, rtol=rcond) @ b
    else:
        out = torch.linalg.lstsq(a, b, rcond=rcond, driver=driver).solution
    return out.squeeze(-1) if vector else out


@op("linalg.matrix_rank")
def matrix_rank(x: Any, tol: float | None = None) -> torch.Tensor:
    """The number of singular values above ``tol`` (default: torch's ``eps * max(M, N) * max(S)``), int32."""
    return torch.linalg.matrix_rank(_matrix(x, "matrix_rank", square=False), atol=tol).to(torch.int32)


@op("linalg.pinv")
def pinv(x: Any, rcond: float | None = None) -> torch.Tensor:
    """The Moore-Penrose pseudo-inverse; singular values below ``rcond * max`` count as zero."""
    return torch.linalg.pinv(_matrix(x, "pinv", square=False), rtol=rcond)


def jvp(fun: Callable, primals: Any, tangents: Any, has_aux: bool = False) -> tuple:
    """Forward-mode derivative: ``(fun(*primals), J @ tangents)`` (and ``aux`` when ``has_aux``)."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise ConfigError("ops.linalg.jvp: `primals` and `tangents` must be tuples or lists of tensors.")
    if len(primals) != len(tangents):
        raise ShapeError(f"ops.linalg.jvp: got {len(primals)} primals but {len(tangents)} tangents.")
    return torch.func.jvp(fun, tuple(primals), tuple(tangents), has_aux=has_aux)


__all__ = ["cholesky", "cholesky_inverse", "det", "eig", "eigh", "inv", "jvp", "lstsq", "lu_factor",
           "matrix_rank", "norm", "pinv", "qr", "solve", "solve_triangular", "svd"]

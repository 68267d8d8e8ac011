"""Element-wise activation ops of ``keras.ops.nn`` (re-exported by :mod:`loom.ops.nn`).

Integer inputs compute in floatx, except ``relu``, ``relu6`` and ``hard_tanh``, which keep the input dtype as
Keras's do.

Example:
    >>> from loom.ops import nn
    >>> nn.relu6([-1.0, 3.0, 9.0]).tolist()
    [0.0, 3.0, 6.0]
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
import torch.nn.functional as F

from loom.errors import ShapeError
from loom.ops._common import as_float, check_axis, ftensor, tensor

_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


def _numeric(x: Any, op: str) -> torch.Tensor:
    """``x`` as a tensor, bools in floatx (ops that keep integer dtypes have no bool version)."""
    t = tensor(x, op=op)
    return as_float(t, op) if t.dtype == torch.bool else t


def relu(x: Any) -> torch.Tensor:
    """``max(x, 0)``, keeping the input dtype (bool: floatx)."""
    return torch.relu(_numeric(x, "relu"))


def relu6(x: Any) -> torch.Tensor:
    """``min(max(x, 0), 6)``, keeping the input dtype (bool: floatx)."""
    return torch.clamp(_numeric(x, "relu6"), 0, 6)


def sigmoid(x: Any) -> torch.Tensor:
    """``1 / (1 + exp(-x))``."""
    return torch.sigmoid(ftensor(x, "sigmoid"))


def sparse_sigmoid(x: Any) -> torch.Tensor:
    """0 below -1, 1 above 1, ``(x + 1) / 2`` between."""
    return torch.clamp((ftensor(x, "sparse_sigmoid") + 1.0) * 0.5, 0.0, 1.0)


def softplus(x: Any) -> torch.Tensor:
    """``log(1 + exp(x))``."""
    return F.softplus(ftensor(x, "softplus"))


def softsign(x: Any) -> torch.Tensor:
    """``x / (1 + |x|)``."""
    return F.softsign(ftensor(x, "softsign"))


def soft_shrink(x: Any, threshold: float = 0.5) -> torch.Tensor:
    """``x - threshold`` above ``threshold``, ``x + threshold`` below ``-threshold``, else 0."""
    x = ftensor(x, "soft_shrink")
    return torch.where(x > threshold, x - threshold, torch.where(x < -threshold, x + threshold, 0.0))


def sparse_plus(x: Any) -> torch.Tensor:
    """0 below -1, ``x`` above 1, ``(x + 1)**2 / 4`` between."""
    x = ftensor(x, "sparse_plus")
    return torch.where(x <= -1, 0.0, torch.where(x >= 1, x, (x + 1.0) ** 2 / 4.0)).to(x.dtype)


def silu(x: Any) -> torch.Tensor:
    """``x * sigmoid(x)``."""
    return F.silu(ftensor(x, "silu"))


swish = silu


def squareplus(x: Any, b: float = 4) -> torch.Tensor:
    """``(x + sqrt(x**2 + b)) / 2``."""
    x = ftensor(x, "squareplus")
    return (x + torch.sqrt(x * x + b)) / 2


def log_sigmoid(x: Any) -> torch.Tensor:
    """``log(sigmoid(x))``, computed stably."""
    return F.logsigmoid(ftensor(x, "log_sigmoid"))


def leaky_relu(x: Any, negative_slope: float = 0.2) -> torch.Tensor:
    """``x`` for positive ``x``, ``negative_slope * x`` otherwise."""
    return F.leaky_relu(ftensor(x, "leaky_relu"), negative_slope)


def hard_sigmoid(x: Any) -> torch.Tensor:
    """``relu6(x + 3) / 6``."""
    return F.hardsigmoid(ftensor(x, "hard_sigmoid"))


def hard_silu(x: Any) -> torch.Tensor:
    """``x * relu6(x + 3) / 6``."""
    return F.hardswish(ftensor(x, "hard_silu"))


hard_swish = hard_silu


def elu(x: Any, alpha: float = 1.0) -> torch.Tensor:
    """``x`` for positive ``x``, ``alpha * (exp(x) - 1)`` otherwise."""
    return F.elu(ftensor(x, "elu"), alpha)


def selu(x: Any) -> torch.Tensor:
    """Scaled ELU with Klambauer et al.'s constants."""
    x = ftensor(x, "selu")
    return _SELU_SCALE * torch.where(x > 0, x, _SELU_ALPHA * torch.expm1(x))


def gelu(x: Any, approximate: bool = True) -> torch.Tensor:
    """Gaussian error linear unit; the tanh approximation by default (as Keras)."""
    return F.gelu(ftensor(x, "gelu"), approximate="tanh" if approximate else "none")


def celu(x: Any, alpha: float = 1.0) -> torch.Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    return F.celu(ftensor(x, "celu"), alpha)


def glu(x: Any, axis: int = -1) -> torch.Tensor:
    """Gated linear unit: the first half along ``axis`` times the sigmoid of the second half."""
    x = ftensor(x, "glu")
    axis = check_axis(axis, x.ndim, "glu")
    if x.shape[axis] % 2:
        raise ShapeError(f"ops.nn.glu: axis {axis} of `x` must have even size, got shape {tuple(x.shape)}.")
    a, b = torch.chunk(x, 2, dim=axis)
    return a * torch.sigmoid(b)


def tanh_shrink(x: Any) -> torch.Tensor:
    """``x - tanh(x)``."""
    x = ftensor(x, "tanh_shrink")
    return x - torch.tanh(x)


def hard_tanh(x: Any) -> torch.Tensor:
    """``x`` clipped to ``[-1, 1]``, keeping the input dtype (bool: floatx)."""
    x = _numeric(x, "hard_tanh")
    if x.dtype == torch.uint8:
        return torch.clamp(x, max=1)
    return torch.clamp(x, -1, 1)


def hard_shrink(x: Any, threshold: float = 0.5) -> torch.Tensor:
    """``x`` where ``|x| > threshold``, else 0."""
    return F.hardshrink(ftensor(x, "hard_shrink"), threshold)


def threshold(x: Any, threshold: float, default_value: float) -> torch.Tensor:
    """``x`` where ``x > threshold``, else ``default_value``."""
    x = tensor(x, op="threshold")
    return torch.where(x > threshold, x, torch.tensor(default_value, dtype=x.dtype, device=x.device))


def _axis_or_flat(x: torch.Tensor, axis: Any, op: str, fn) -> torch.Tensor:
    """``fn(t, dim)`` along one axis, over all entries (``None``) or over several axes jointly (a tuple)."""
    if axis is None:
        return fn(x.reshape(-1), 0).reshape(x.shape)
    if isinstance(axis, (tuple, list)):
        axes = [check_axis(a, x.ndim, op) for a in axis]
        keep = [d for d in range(x.ndim) if d not in axes]
        moved = x.permute(*keep, *axes)
        out = fn(moved.reshape(*moved.shape[:len(keep)], -1), -1).reshape(moved.shape)
        return out.permute(*sorted(range(x.ndim), key=[*keep, *axes].__getitem__))
    axis = check_axis(axis, x.ndim, op)
    if x.shape[axis] == 1:
        warnings.warn(f"{op} over axis {axis} of a tensor of shape {tuple(x.shape)}: the axis has size 1, so the "
                      f"result is constant. Did you mean sigmoid?", stacklevel=3)
    return fn(x, axis)


def softmax(x: Any, axis: Any = -1) -> torch.Tensor:
    """``exp(x) / sum(exp(x))`` along ``axis`` (``None``: over all entries; a tuple: over those axes jointly)."""
    x = ftensor(x, "softmax")
    return _axis_or_flat(x, axis, "softmax", lambda t, d: torch.softmax(t, d))


def log_softmax(x: Any, axis: Any = -1) -> torch.Tensor:
    """``log(softmax(x))`` along ``axis``, computed stably."""
    x = ftensor(x, "log_softmax")
    return _axis_or_flat(x, axis, "log_softmax", lambda t, d: torch.log_softmax(t, d))


def sparsemax(x: Any, axis: int = -1) -> torch.Tensor:
    """Euclidean projection of ``x`` onto the probability simplex along ``axis`` (Martins & Astudillo, 2016)."""
    x = ftensor(x, "sparsemax")
    axis = check_axis(axis, x.ndim, "sparsemax")
    z, _ = torch.sort(x, dim=axis, descending=True)
    cums = torch.cumsum(z, dim=axis)
    shape = [1] * x.ndim
    shape[axis] = -1
    k = torch.arange(1, x.shape[axis] + 1, device=x.device, dtype=x.dtype).view(shape)
    support = z - (cums - 1) / k > 0
    count = support.sum(dim=axis, keepdim=True)
    tau = (torch.where(support, cums, 0.0).sum(dim=axis, keepdim=True) - 1) / count
    return torch.clamp(x - tau, min=0.0)


def polar(abs_: Any, angle: Any) -> torch.Tensor:
    """The complex tensor ``abs_ * (cos(angle) + i sin(angle))``."""
    r, a = ftensor(abs_, "polar"), ftensor(angle, "polar")
    return torch.polar(r, a.to(r.device, r.dtype))


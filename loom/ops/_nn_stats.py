"""Cross-entropies, one-hot encodings, moments and normalizations of ``keras.ops.nn``
(re-exported by :mod:`loom.ops.nn`).

Example:
    >>> from loom.ops import nn
    >>> nn.one_hot([0, 2], 3).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
"""

from __future__ import annotations

import numbers
from typing import Any

import torch
import torch.nn.functional as F

from loom import backend
from loom.errors import ConfigError, ShapeError
from loom.ops._common import check_axes, check_axis, float_result, ftensor, tensor

EPSILON = 1e-7
"""Keras's ``backend.epsilon()``: probabilities are clipped to ``[EPSILON, 1 - EPSILON]``."""


def _same_shape(op: str, target: torch.Tensor, output: torch.Tensor) -> None:
    if target.shape != output.shape:
        raise ShapeError(f"ops.nn.{op}: `target` and `output` must have the same shape, got target.shape="
                         f"{tuple(target.shape)}, output.shape={tuple(output.shape)}.")


def binary_crossentropy(target: Any, output: Any, from_logits: bool = False) -> torch.Tensor:
    """Element-wise binary cross-entropy (no reduction).

    Args:
        target: labels in ``[0, 1]``, the shape of ``output``.
        output: probabilities (clipped to ``[1e-7, 1 - 1e-7]``) or logits.
        from_logits: whether ``output`` holds logits; default False.
    """
    output = ftensor(output, "binary_crossentropy")
    target = tensor(target, op="binary_crossentropy").to(output.device, output.dtype)
    _same_shape("binary_crossentropy", target, output)
    if from_logits:
        return F.binary_cross_entropy_with_logits(output, target, reduction="none")
    output = torch.clamp(output, EPSILON, 1.0 - EPSILON)
    return -(target * torch.log(output) + (1 - target) * torch.log(1 - output))


def categorical_crossentropy(target: Any, output: Any, from_logits: bool = False, axis: int = -1) -> torch.Tensor:
    """Cross-entropy between one-hot (or soft) targets and probabilities/logits along ``axis``.

    Args:
        target: class distributions, the shape of ``output``.
        output: probabilities (renormalized along ``axis`` and clipped) or logits.
        from_logits: whether ``output`` holds logits; default False.
        axis: the class axis; default -1.
    """
    output = ftensor(output, "categorical_crossentropy")
    target = tensor(target, op="categorical_crossentropy").to(output.device, output.dtype)
    _same_shape("categorical_crossentropy", target, output)
    if output.ndim < 1:
        raise ShapeError("ops.nn.categorical_crossentropy: `target` and `output` must be at least rank 1, got scalars.")
    axis = check_axis(axis, output.ndim, "categorical_crossentropy")
    if from_logits:
        log_prob = torch.log_softmax(output, dim=axis)
    else:
        output = output / output.sum(dim=axis, keepdim=True)
        log_prob = torch.log(torch.clamp(output, EPSILON, 1.0 - EPSILON))
    return -(target * log_prob).sum(dim=axis)


def sparse_categorical_crossentropy(target: Any, output: Any, from_logits: bool = False,
                                    axis: int = -1) -> torch.Tensor:
    """Cross-entropy between integer class targets and probabilities/logits along ``axis``.

    Args:
        target: class indices, the shape of ``output`` without ``axis`` (or with it of size 1).
        output: probabilities (renormalized along ``axis`` and clipped) or logits.
        from_logits: whether ``output`` holds logits; default False.
        axis: the class axis; default -1.
    """
    op = "sparse_categorical_crossentropy"
    output = ftensor(output, op)
    target = tensor(target, op=op).long().to(output.device)
    if output.ndim < 1:
        raise ShapeError(f"ops.nn.{op}: `output` must be at least rank 1, got a scalar.")
    axis = check_axis(axis, output.ndim, op)
    if target.ndim == output.ndim and target.shape[axis] == 1:
        target = target.squeeze(axis)
    expected = output.shape[:axis] + output.shape[axis + 1:]
    if target.shape != expected:
        raise ShapeError(f"ops.nn.{op}: `target` must have the shape of `output` without its class axis, got "
                         f"target.shape={tuple(target.shape)}, output.shape={tuple(output.shape)}.")
    if from_logits:
        log_prob = torch.log_softmax(output, dim=axis)
    else:
        output = output / output.sum(dim=axis, keepdim=True)
        log_prob = torch.log(torch.clamp(output, EPSILON, 1.0 - EPSILON))
    return -torch.gather(log_prob, axis, target.unsqueeze(axis)).squeeze(axis)


def one_hot(x: Any, num_classes: int, axis: int = -1, dtype: Any = None, sparse: bool = False) -> torch.Tensor:
    """One-hot encode integer ``x`` into a new axis of size ``num_classes``; negative indices give zeros.

    Args:
        x: integer class indices (floats are truncated).
        num_classes: size of the new axis.
        axis: where the new axis goes; default -1.
        dtype: output dtype; default None (floatx).
        sparse: must be False (loom has no sparse tensors); default False.
    """
    if sparse:
        raise ConfigError("ops.nn.one_hot: `sparse=True` is not supported by loom (torch dense tensors).")
    if not isinstance(num_classes, numbers.Integral) or num_classes < 1:
        raise ConfigError(f"ops.nn.one_hot: `num_classes` must be a positive int, got {num_classes!r}.")
    x = tensor(x, op="one_hot")
    if x.dtype.is_floating_point:
        x = x.long()
    axis = check_axis(axis, x.ndim + 1, "one_hot")
    classes = torch.arange(num_classes, device=x.device)
    out = (x.long().unsqueeze(-1) == classes).to(backend.torch_dtype(dtype))
    return out.movedim(-1, axis)


def multi_hot(inputs: Any, num_classes: int | None = None, axis: int = -1, dtype: Any = None,
              sparse: bool = False, **kwargs: Any) -> torch.Tensor:
    """Multi-hot encode: the one-hot encodings of each sample's indices combined with ``max``."""
    if num_classes is None:
        num_classes = kwargs.pop("num_tokens", None)
    if kwargs:
        raise ConfigError(f"ops.nn.multi_hot: unexpected arguments {sorted(kwargs)}.")
    if num_classes is None:
        raise ConfigError("ops.nn.multi_hot: `num_classes` is required.")
    x = tensor(inputs, op="multi_hot")
    encoded = one_hot(x.to(torch.int32), num_classes, axis=axis, dtype=dtype, sparse=sparse)
    return torch.amax(encoded, dim=1 if x.ndim > 1 else 0)


def moments(x: Any, axes: Any, keepdims: bool = False, synchronized: bool = False) -> tuple[torch.Tensor, ...]:
    """Mean and variance of ``x`` over ``axes`` (float16 computed in float32).

    Args:
        x: input tensor.
        axes: axis or axes to reduce.
        keepdims: keep the reduced axes with size 1; default False.
        synchronized: must be False (no cross-device reduction here); default False.
    """
    if synchronized:
        raise ConfigError("ops.nn.moments: `synchronized=True` is not supported by loom.")
    x = ftensor(x, "moments")
    dims = check_axes(axes, x.ndim, "moments", "axes")
    work = x.float() if x.dtype == torch.float16 else x
    mean = work.mean(dim=dims, keepdim=True)
    variance = (work * work).mean(dim=dims, keepdim=True) - mean * mean
    if not keepdims:
        mean, variance = mean.squeeze(dims), variance.squeeze(dims)
    if work is not x:
        big = torch.finfo(torch.float16).max
        mean, variance = mean.clamp(-big, big).to(x.dtype), variance.clamp(-big, big).to(x.dtype)
    return mean, variance


def batch_normalization(x: Any, mean: Any, variance: Any, axis: int, offset: Any = None, scale: Any = None,
                        epsilon: float = 1e-3) -> torch.Tensor:
    """``(x - mean) / sqrt(variance + epsilon) * scale + offset``, the 1-D statistics laid along ``axis``."""
    x = ftensor(x, "batch_normalization")
    axis = check_axis(axis, x.ndim, "batch_normalization")
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]

    def along(v: Any, name: str) -> torch.Tensor:
        v = tensor(v, op="batch_normalization").to(x.device, x.dtype)
        if v.numel() != x.shape[axis]:
            raise ShapeError(f"ops.nn.batch_normalization: `{name}` must have {x.shape[axis]} entries (axis {axis} of "
                             f"x.shape={tuple(x.shape)}), got shape {tuple(v.shape)}.")
        return v.reshape(shape)

    out = (x - along(mean, "mean")) * torch.rsqrt(along(variance, "variance") + epsilon)
    if scale is not None:
        out = out * along(scale, "scale")
    if offset is not None:
        out = out + along(offset, "offset")
    return out


def _compute(x: Any, op: str) -> tuple[torch.Tensor, torch.dtype]:
    x = tensor(x, op=op)
    original = x.dtype if x.dtype.is_floating_point else backend.torch_dtype(None)
    compute = torch.promote_types(original, torch.float32)
    return x.to(compute), original


def layer_normalization(x: Any, gamma: Any = None, beta: Any = None, axis: Any = -1, epsilon: float | None = None,
                        **kwargs: Any) -> torch.Tensor:
    """Normalize ``x`` to zero mean and unit variance over ``axis``, then scale by ``gamma`` and shift by
    ``beta`` (``rms_scaling=True``: divide by the root of the variance only, no shift)."""
    rms_scaling = kwargs.pop("rms_scaling", False)
    if kwargs:
        raise ConfigError(f"ops.nn.layer_normalization: unexpected arguments {sorted(kwargs)}.")
    eps = EPSILON if epsilon is None else epsilon
    x, original = _compute(x, "layer_normalization")
    dims = sorted(check_axes(axis, x.ndim, "layer_normalization"))
    shape = [x.shape[d] if d in dims else 1 for d in range(x.ndim)]

    def fit(v: Any) -> torch.Tensor | None:
        return None if v is None else tensor(v, op="layer_normalization").to(x.device, x.dtype).reshape(shape)

    gamma, beta = fit(gamma), fit(beta)
    mean = x.mean(dim=dims, keepdim=True)
    variance = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
    out = x * torch.rsqrt(variance + eps) if rms_scaling else (x - mean) * torch.rsqrt(variance + eps)
    if gamma is not None:
        out = out * gamma
    if beta is not None and not rms_scaling:
        out = out + beta
    return out.to(original)


def rms_normalization(x: Any, scale: Any = None, axis: Any = -1, epsilon: float | None = None) -> torch.Tensor:
    """``x / sqrt(mean(x**2, axis) + epsilon) * scale``."""
    eps = EPSILON if epsilon is None else epsilon
    x, original = _compute(x, "rms_normalization")
    if x.ndim == 0:
        x = x.reshape(1)
    dims = check_axes(axis, x.ndim, "rms_normalization")
    out = x * torch.rsqrt((x * x).mean(dim=dims, keepdim=True) + eps)
    if scale is not None:
        out = out * tensor(scale, op="rms_normalization").to(x.device, x.dtype)
    return out.to(original)


def normalize(x: Any, axis: int = -1, order: int = 2, epsilon: float | None = None) -> torch.Tensor:
    """``x`` divided by its ``order``-norm along ``axis`` (at least ``epsilon``)."""
    if isinstance(order, bool) or not isinstance(order, numbers.Integral) or order < 1:
        raise ConfigError(f"ops.nn.normalize: `order` must be an int >= 1, got {order!r}.")
    eps = EPSILON if epsilon is None else epsilon
    x = ftensor(x, "normalize")
    if x.ndim == 0:
        x = x.reshape(1)
    dims = check_axes(axis, x.ndim, "normalize")
    if order == 2:
        inv = torch.rsqrt((x * x).sum(dim=dims, keepdim=True))
        return x * torch.clamp(inv, max=1.0 / eps)
    norm = torch.linalg.vector_norm(x, ord=order, dim=dims, keepdim=True)
    return x / torch.clamp(norm, min=eps)


def psnr(x1: Any, x2: Any, max_val: float) -> torch.Tensor:
    """Peak signal-to-noise ratio ``20 log10(max_val) - 10 log10(mse)`` of two same-shape tensors."""
    x1, x2 = ftensor(x1, "psnr"), ftensor(x2, "psnr")
    if x1.shape != x2.shape:
        raise ShapeError(f"ops.nn.psnr: `x1` and `x2` must have the same shape, got {tuple(x1.shape)} and "
                         f"{tuple(x2.shape)}.")
    dtype = float_result(x1, x2)
    x1, x2 = x1.to(dtype), x2.to(x1.device, dtype)
    mse = ((x1 - x2) ** 2).mean()
    return 20 * torch.log10(torch.tensor(max_val, dtype=dtype, device=x1.device)) - 10 * torch.log10(mse)

"""Convolution and pooling ops of ``keras.ops.nn`` with Keras's kernel layouts and TF-style ``'same'`` padding
(re-exported by :mod:`loom.ops.nn`).

Inputs are ``(batch, *spatial, channels)`` by default (``data_format='channels_last'``); kernels are Keras's
``(*kernel, in_channels, out_channels)`` (``conv_transpose``: ``(*kernel, out_channels, in_channels)``).

Example:
    >>> import torch
    >>> from loom.ops import nn
    >>> nn.conv(torch.ones(1, 5, 5, 2), torch.ones(3, 3, 2, 4), padding="same").shape
    torch.Size([1, 5, 5, 4])
"""

from __future__ import annotations

import numbers
from typing import Any

import torch
import torch.nn.functional as F

from loom.errors import ConfigError, ShapeError
from loom.ops._common import check_choice, data_format, ftensor, tensor, tuple_arg

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
_MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG_POOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


def _to_first(x: torch.Tensor, fmt: str, op: str) -> torch.Tensor:
    if x.ndim not in (3, 4, 5):
        raise ShapeError(f"ops.nn.{op}: `inputs` must have rank 3, 4 or 5 (batch, 1-3 spatial dims, channels), "
                         f"got shape "
                         f"{tuple(x.shape)}.")
    return x.movedim(-1, 1) if fmt == "channels_last" else x


def _from_first(y: torch.Tensor, fmt: str) -> torch.Tensor:
    return y.movedim(1, -1) if fmt == "channels_last" else y


def _padding(padding: str, op: str) -> str:
    return check_choice(str(padding).lower(), ("valid", "same"), op, "padding")


def same_pads(sizes: Any, kernel: Any, strides: Any, dilation: Any) -> list[tuple[int, int]]:
    """TF's ``'same'`` padding per spatial dim: ``(before, after)``, the extra one after."""
    pads = []
    for n, k, s, d in zip(sizes, kernel, strides, dilation):
        total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def _pad(x: torch.Tensor, pads: list[tuple[int, int]], value: float = 0.0) -> torch.Tensor:
    flat = [p for pair in reversed(pads) for p in pair]  # F.pad lists the last dim first
    return F.pad(x, flat, value=value) if any(flat) else x


def _prepare(inputs: Any, kernel: Any, op: str, fmt: str | None):
    """Channels-first ``x``, kernel ``w`` in one compute dtype, the data format and the result dtype (integer
    inputs and kernels give an integer result, as Keras; computed in float64, exact for realistic values)."""
    x, w = tensor(inputs, op=op), tensor(kernel, op=op)
    fmt = data_format(fmt, op)
    x = _to_first(x, fmt, op)
    if w.ndim != x.ndim:
        raise ShapeError(f"ops.nn.{op}: `kernel` must have rank {x.ndim} for inputs of rank {x.ndim}, got kernel.shape="
                         f"{tuple(w.shape)}.")
    if not x.dtype.is_floating_point and not w.dtype.is_floating_point:
        return x.double(), w.to(x.device, torch.float64), fmt, torch.promote_types(x.dtype, w.dtype)
    dtype = x.dtype if x.dtype.is_floating_point else w.dtype
    return x.to(dtype), w.to(x.device, dtype), fmt, dtype


def _finish(y: torch.Tensor, fmt: str, dtype: torch.dtype) -> torch.Tensor:
    y = y if dtype.is_floating_point else torch.round(y).to(dtype)
    return _from_first(y, fmt)


def _conv_core(op: str, x: torch.Tensor, w_torch: torch.Tensor, groups: int, strides: Any, padding: str,
               dilation_rate: Any) -> torch.Tensor:
    n = x.ndim - 2
    strides, dilation = tuple_arg(strides, n, op, "strides"), tuple_arg(dilation_rate, n, op, "dilation_rate")
    if _padding(padding, op) == "same":
        x = _pad(x, same_pads(x.shape[2:], w_torch.shape[2:], strides, dilation))
    for size, k, d in zip(x.shape[2:], w_torch.shape[2:], dilation):
        if size < (k - 1) * d + 1:
            raise ShapeError(f"ops.nn.{op}: the (dilated) kernel {tuple(w_torch.shape[2:])} is larger than the input's "
                             f"spatial shape {tuple(x.shape[2:])}.")
    return _CONV[n](x, w_torch, stride=strides, dilation=dilation, groups=groups)


def conv(inputs: Any, kernel: Any, strides: Any = 1, padding: str = "valid", data_format: str | None = None,
         dilation_rate: Any = 1) -> torch.Tensor:
    """N-D convolution (N = 1, 2, 3), grouped when the kernel has fewer input channels than ``inputs``.

    Args:
        inputs: ``(batch, *spatial, channels)`` (or channels-first) tensor, 1-3 spatial dims.
        kernel: ``(*kernel_size, in_channels // groups, out_channels)``.
        strides: int or one int per spatial dim; default 1.
        padding: ``'valid'`` or ``'same'`` (TF's, extra padding after); default ``'valid'``.
        data_format: ``'channels_last'`` or ``'channels_first'``; default None (channels_last).
        dilation_rate: int or one int per spatial dim; default 1.
    """
    x, w, fmt, out_dtype = _prepare(inputs, kernel, "conv", data_format)
    channels, k_in = x.shape[1], w.shape[-2]
    if k_in == 0 or channels % k_in:
        raise ShapeError(f"ops.nn.conv: the input has {channels} channels, which the kernel's input channels {k_in} "
                         f"(kernel.shape={tuple(w.shape)}) do not divide.")
    w_torch = w.permute(-1, -2, *range(w.ndim - 2))
    return _finish(_conv_core("conv", x, w_torch, channels // k_in, strides, padding, dilation_rate), fmt, out_dtype)


def _depthwise_weight(w: torch.Tensor, channels: int, op: str) -> torch.Tensor:
    if w.shape[-2] != channels:
        raise ShapeError(f"ops.nn.{op}: the depthwise kernel's input channels {w.shape[-2]} (kernel.shape="
                         f"{tuple(w.shape)}) must equal the input's {channels} channels.")
    spatial = w.shape[:-2]
    w = w.reshape(*spatial, 1, channels * w.shape[-1])
    return w.permute(-1, -2, *range(len(spatial)))


def depthwise_conv(inputs: Any, kernel: Any, strides: Any = 1, padding: str = "valid",
                   data_format: str | None = None, dilation_rate: Any = 1) -> torch.Tensor:
    """Depthwise convolution: each input channel convolved with its own ``depth_multiplier`` filters.

    Args:
        inputs: ``(batch, *spatial, channels)`` (or channels-first) tensor, 1-3 spatial dims.
        kernel: ``(*kernel_size, in_channels, depth_multiplier)``.
        strides: int or one int per spatial dim; default 1.
        padding: ``'valid'`` or ``'same'`` (TF's, extra padding after); default ``'valid'``.
        data_format: ``'channels_last'`` or ``'channels_first'``; default None (channels_last).
        dilation_rate: int or one int per spatial dim; default 1.
    """
    x, w, fmt, out_dtype = _prepare(inputs, kernel, "depthwise_conv", data_format)
    w_torch = _depthwise_weight(w, x.shape[1], "depthwise_conv")
    out = _conv_core("depthwise_conv", x, w_torch, x.shape[1], strides, padding, dilation_rate)
    return _finish(out, fmt, out_dtype)


def separable_conv(inputs: Any, depthwise_kernel: Any, pointwise_kernel: Any, strides: Any = 1,
                   padding: str = "valid", data_format: str | None = None, dilation_rate: Any = 1) -> torch.Tensor:
    """A depthwise convolution followed by a 1x1 ``pointwise_kernel`` convolution.

    Args:
        inputs: ``(batch, *spatial, channels)`` (or channels-first) tensor.
        depthwise_kernel: ``(*kernel_size, in_channels, depth_multiplier)``.
        pointwise_kernel: ``(1, ..., 1, in_channels * depth_multiplier, out_channels)``.
        strides: of the depthwise step; default 1.
        padding: ``'valid'`` or ``'same'``; default ``'valid'``.
        data_format: default None (channels_last).
        dilation_rate: of the depthwise step; default 1.
    """
    fmt = data_format
    depth = depthwise_conv(inputs, depthwise_kernel, strides, padding, fmt, dilation_rate)
    return conv(depth, pointwise_kernel, 1, "valid", fmt, 1)


def conv_transpose(inputs: Any, kernel: Any, strides: Any = 1, padding: str = "valid", output_padding: Any = None,
                   data_format: str | None = None, dilation_rate: Any = 1) -> torch.Tensor:
    """Transposed convolution (the gradient of ``conv``); output lengths as Keras's ``deconv_output_length``.

    Args:
        inputs: ``(batch, *spatial, channels)`` (or channels-first) tensor.
        kernel: ``(*kernel_size, out_channels, in_channels)``.
        strides: int or one per spatial dim; default 1.
        padding: ``'valid'`` or ``'same'``; default ``'valid'``.
        output_padding: extra length per spatial dim; default None (inferred).
        data_format: default None (channels_last).
        dilation_rate: int or one per spatial dim; default 1.
    """
    op = "conv_transpose"
    x, w, fmt, out_dtype = _prepare(inputs, kernel, op, data_format)
    n, padding = x.ndim - 2, _padding(padding, op)
    strides, dilation = tuple_arg(strides, n, op, "strides"), tuple_arg(dilation_rate, n, op, "dilation_rate")
    if w.shape[-1] != x.shape[1]:
        raise ShapeError(f"ops.nn.{op}: the kernel's input channels {w.shape[-1]} (kernel.shape={tuple(w.shape)}) must "
                         f"equal the input's {x.shape[1]} channels.")
    out_pad = None if output_padding is None else (
        (output_padding,) * n if isinstance(output_padding, numbers.Integral) else tuple(output_padding))
    full = _CONV_T[n](x, w.permute(-1, -2, *range(n)), stride=strides, dilation=dilation)
    pads = []
    for i in range(n):
        size, k_eff, s = x.shape[2 + i], (w.shape[i] - 1) * dilation[i] + 1, strides[i]
        if out_pad is None:
            length = size * s if padding == "same" else size * s + max(k_eff - s, 0)
        else:
            length = (size - 1) * s + (k_eff % 2 if padding == "same" else k_eff) + out_pad[i]
        left = 0
        if padding == "same":  # Keras's split of the implicit padding: the larger half on the left
            pad_len = s + k_eff - 2 if out_pad is None else k_eff + k_eff % 2 - 2 + out_pad[i]
            left = (k_eff - 1) - min(pad_len - pad_len // 2, k_eff - 1)
        pads.append((-left, length - full.shape[2 + i] + left))
    return _finish(_pad(full, pads), fmt, out_dtype)


def _pool_args(inputs: Any, pool_size: Any, strides: Any, padding: str, fmt: str | None, op: str):
    x = ftensor(inputs, op)
    fmt = data_format(fmt, op)
    x = _to_first(x, fmt, op)
    n = x.ndim - 2
    pool = tuple_arg(pool_size, n, op, "pool_size")
    strides = pool if strides is None else tuple_arg(strides, n, op, "strides")
    pads = same_pads(x.shape[2:], pool, strides, (1,) * n) if _padding(padding, op) == "same" else None
    if pads is None and any(s < k for s, k in zip(x.shape[2:], pool)):
        raise ShapeError(f"ops.nn.{op}: `pool_size` {pool} is larger than the input's spatial shape "
                         f"{tuple(x.shape[2:])} with padding='valid'.")
    return x, fmt, n, pool, strides, pads


def max_pool(inputs: Any, pool_size: Any, strides: Any = None, padding: str = "valid",
             data_format: str | None = None) -> torch.Tensor:
    """Max pooling over 1-3 spatial dims.

    Args:
        inputs: ``(batch, *spatial, channels)`` (or channels-first) tensor.
        pool_size: int or one per spatial dim.
        strides: int or one per spatial dim; default None (``pool_size``).
        padding: ``'valid'`` or ``'same'`` (padded entries never win); default ``'valid'``.
        data_format: default None (channels_last).
    """
    inputs = tensor(inputs, op="max_pool")
    original = inputs.dtype
    x, fmt, n, pool, strides, pads = _pool_args(inputs, pool_size, strides, padding, data_format, "max_pool")
    if not original.is_floating_point:  # integer inputs keep their dtype (float64 holds them exactly)
        x = x.double()
    if pads is not None:
        x = _pad(x, pads, float("-inf"))
    return _finish(_MAX_POOL[n](x, pool, strides), fmt, original if not original.is_floating_point else x.dtype)


def average_pool(inputs: Any, pool_size: Any, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None) -> torch.Tensor:
    """Average pooling; with ``'same'`` padding the padded entries are left out of each average, as Keras's
    TensorFlow and JAX backends and loom's ``AveragePooling`` layers do (Keras 3.15's torch backend counts
    replicated edge values when the padding is asymmetric).

    Args:
        inputs: ``(batch, *spatial, channels)`` (or channels-first) tensor.
        pool_size: int or one per spatial dim.
        strides: int or one per spatial dim; default None (``pool_size``).
        padding: ``'valid'`` or ``'same'``; default ``'valid'``.
        data_format: default None (channels_last).
    """
    x, fmt, n, pool, strides, pads = _pool_args(inputs, pool_size, strides, padding, data_format, "average_pool")
    if pads is None:
        return _from_first(_AVG_POOL[n](x, pool, strides), fmt)
    ones = _pad(torch.ones((1, 1, *x.shape[2:]), dtype=x.dtype, device=x.device), pads)
    return _from_first(_AVG_POOL[n](_pad(x, pads), pool, strides) / _AVG_POOL[n](ones, pool, strides), fmt)


def _adaptive(inputs: Any, output_size: Any, fmt: str | None, op: str, fns: dict) -> torch.Tensor:
    x = ftensor(inputs, op)
    fmt = data_format(fmt, op)
    x = _to_first(x, fmt, op)
    size = tuple_arg(output_size, x.ndim - 2, op, "output_size")
    return _from_first(fns[x.ndim - 2](x, size), fmt)


def adaptive_average_pool(inputs: Any, output_size: Any, data_format: str | None = None) -> torch.Tensor:
    """Average pooling to a fixed spatial ``output_size`` (as torch's adaptive pooling)."""
    fns = {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d}
    return _adaptive(inputs, output_size, data_format, "adaptive_average_pool", fns)


def adaptive_max_pool(inputs: Any, output_size: Any, data_format: str | None = None) -> torch.Tensor:
    """Max pooling to a fixed spatial ``output_size`` (as torch's adaptive pooling)."""
    fns = {1: F.adaptive_max_pool1d, 2: F.adaptive_max_pool2d, 3: F.adaptive_max_pool3d}
    return _adaptive(inputs, output_size, data_format, "adaptive_max_pool", fns)


def _block(block_size: Any, op: str) -> int:
    if isinstance(block_size, bool) or not isinstance(block_size, numbers.Integral) or block_size < 2:
        raise ConfigError(f"ops.nn.{op}: `block_size` must be an int >= 2, got {block_size!r}.")
    return block_size


def depth_to_space(x: Any, block_size: int, data_format: str = "channels_last") -> torch.Tensor:
    """Move ``block_size**2`` channel groups into spatial blocks: ``(N, H, W, C*r*r) -> (N, H*r, W*r, C)``."""
    op, r = "depth_to_space", _block(block_size, "depth_to_space")
    x, fmt = tensor(x, op=op), _check_fmt(data_format, op)
    _rank4(x, op)
    n, h, w, c = x.shape if fmt == "channels_last" else x.permute(0, 2, 3, 1).shape
    if c % (r * r):
        raise ShapeError(f"ops.nn.{op}: channels {c} are not divisible by block_size**2 = {r * r}.")
    if fmt == "channels_first":  # channels ordered (c, r, r) as in torch's pixel_shuffle
        return F.pixel_shuffle(x, r)
    y = x.reshape(n, h, w, r, r, c // (r * r)).permute(0, 1, 3, 2, 4, 5)
    return y.reshape(n, h * r, w * r, c // (r * r))


def space_to_depth(x: Any, block_size: int, data_format: str = "channels_last") -> torch.Tensor:
    """Move spatial ``block_size x block_size`` blocks into channels: ``(N, H*r, W*r, C) -> (N, H, W, C*r*r)``."""
    op, r = "space_to_depth", _block(block_size, "space_to_depth")
    x, fmt = tensor(x, op=op), _check_fmt(data_format, op)
    _rank4(x, op)
    n, h, w, c = x.shape if fmt == "channels_last" else x.permute(0, 2, 3, 1).shape
    if h % r or w % r:
        raise ShapeError(f"ops.nn.{op}: height {h} and width {w} must be divisible by block_size {r}.")
    if fmt == "channels_first":
        return F.pixel_unshuffle(x, r)
    y = x.reshape(n, h // r, r, w // r, r, c).permute(0, 1, 3, 2, 4, 5)
    return y.reshape(n, h // r, w // r, r * r * c)


def _check_fmt(fmt: str, op: str) -> str:
    return check_choice(fmt, ("channels_last", "channels_first"), op, "data_format")


def _rank4(x: torch.Tensor, op: str, arg: str = "x") -> None:
    if x.ndim != 4:
        raise ShapeError(f"ops.nn.{op}: `{arg}` must have rank 4, got shape {tuple(x.shape)}.")


def unfold(x: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> torch.Tensor:
    """Sliding-window patches of a channels-first ``(N, C, H, W)`` tensor as ``(N, C*kH*kW, L)`` (torch's
    ``unfold``)."""
    x = tensor(x, op="unfold")
    _rank4(x, "unfold")
    return F.unfold(x, kernel_size, dilation=dilation, padding=padding, stride=stride)


def fold(x: Any, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
         stride: Any = 1) -> torch.Tensor:
    """Sum sliding-window patches ``(N, C*kH*kW, L)`` back into ``(N, C, *output_size)`` (torch's ``fold``)."""
    x = tensor(x, op="fold")
    if x.ndim != 3:
        raise ShapeError(f"ops.nn.fold: `x` must have rank 3 (N, C*kH*kW, L), got shape {tuple(x.shape)}.")
    try:
        return F.fold(x, output_size, kernel_size, dilation=dilation, padding=padding, stride=stride)
    except RuntimeError as e:
        raise ShapeError(f"ops.nn.fold: x.shape={tuple(x.shape)} does not fit output_size={output_size}, "
                         f"kernel_size={kernel_size}: {e}") from e

"""Quantization math, as ``keras.quantizers``' functions: abs-max and grouped int quantization, int4 packing,
fake quantization with straight-through gradients, float8 scaling.

Results are torch tensors; inputs may be tensors, NumPy arrays or nested lists.

Example:
    >>> import torch
    >>> q, scale = abs_max_quantize(torch.tensor([[0.5, -1.0, 2.0]]), axis=-1)
    >>> q.tolist(), round(float(scale), 2)
    ([[32, -64, 127]], 63.5)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from loom import backend
from loom._torch_compat import function_input
from loom.errors import ConfigError, InputError

__all__ = ["abs_max_quantize", "abs_max_quantize_grouped_with_zero_point", "compute_float8_amax_history",
           "compute_float8_scale", "fake_quant_with_min_max_vars", "pack_int4", "quantize_and_dequantize",
           "unpack_int4"]

_FLOAT8 = {"float8_e4m3fn": torch.float8_e4m3fn, "float8_e5m2": torch.float8_e5m2}


def _tensor(x: Any) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x
    array = np.asarray(x)
    if array.dtype == np.float64:
        array = array.astype(backend.floatx())
    return torch.as_tensor(array)


def _dtype(name: Any) -> torch.dtype:
    if isinstance(name, torch.dtype):
        return name
    if str(name) in _FLOAT8:
        return _FLOAT8[str(name)]
    return backend.torch_dtype(name)


def _axes(axis: Any, ndim: int) -> tuple[int, ...]:
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if not -ndim <= a < ndim:
            raise InputError(f"abs_max_quantize: axis {a} is out of range for an input of rank {ndim}.")
    return tuple(a % ndim for a in axes)


def abs_max_quantize(inputs: Any, axis: Any, value_range: tuple = (-127, 127), dtype: str = "int8",
                     epsilon: float = 1e-7, to_numpy: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """``(quantized, scale)``: ``inputs * scale`` rounded and clipped to ``value_range``, where ``scale`` is
    ``value_range[1] / (max|inputs| along axis + epsilon)`` (kept as size-1 dimensions).

    ``to_numpy`` is accepted for Keras compatibility (the computation runs in torch either way).
    """
    x = _tensor(inputs)
    denominator = x.abs().amax(dim=_axes(axis, x.dim()), keepdim=True) + epsilon
    # a true division, as Keras's (``127 / tensor`` in torch multiplies by the reciprocal: one ulp off)
    scale = torch.div(denominator.new_full((), value_range[1]), denominator)
    scale = scale.to(x.dtype)
    out = torch.clamp(torch.round(x * scale), value_range[0], value_range[1])
    return out.to(_dtype(dtype)), scale


def abs_max_quantize_grouped_with_zero_point(inputs: Any, block_size: int, value_range: tuple = (-8, 7),
                                             dtype: str = "int8", epsilon: float = 1e-7,
                                             to_numpy: bool = False) -> tuple[torch.Tensor, ...]:
    """Asymmetric quantization of a 2-D ``(input_dim, output_dim)`` tensor in groups of ``block_size`` rows.

    Returns ``(quantized, scale, zero_point)``; ``scale`` and ``zero_point`` (``int8``) have shape
    ``(ceil(input_dim / block_size), output_dim)``, and ``quantized = clip(round(x / scale) + zero_point)``.
    """
    x = _tensor(inputs)
    if x.dim() != 2:
        raise InputError(f"abs_max_quantize_grouped_with_zero_point: expected a 2-D tensor, got shape "
                         f"{tuple(x.shape)}.")
    if not isinstance(block_size, int) or block_size < 1:
        raise ConfigError(f"abs_max_quantize_grouped_with_zero_point: block_size must be a positive integer, got "
                          f"{block_size!r}.")
    qmin, qmax = value_range
    bits = int(math.log2(qmax - qmin + 1))
    rows, cols = x.shape
    groups = -(-rows // block_size)
    padded = torch.cat([x, x.new_zeros(groups * block_size - rows, cols)]) if groups * block_size > rows else x
    blocks = padded.reshape(groups, block_size, cols)
    low, high = blocks.amin(dim=1), blocks.amax(dim=1)
    flat = high == low
    low, high = torch.where(flat, low - 1, low), torch.where(flat, high + 1, high)
    scale = (high - low + epsilon) / (2 ** bits - 1) if epsilon > 0 else (high - low) / (2 ** bits - 1)
    scale = torch.where(scale <= 0, torch.full_like(scale, 1e-8), scale)
    zero = torch.clamp(torch.round(-low / scale) + qmin, qmin, qmax)
    quantized = torch.clamp(torch.round(blocks / scale[:, None]) + zero[:, None], qmin, qmax)
    quantized = quantized.reshape(groups * block_size, cols)[:rows]
    return quantized.to(_dtype(dtype)), scale.to(x.dtype), zero.to(torch.int8)


def quantize_and_dequantize(inputs: Any, scale: Any, quantized_dtype: str, compute_dtype: str) -> torch.Tensor:
    """``inputs / scale`` clipped to the float8 ``quantized_dtype``'s range, cast to it and back, times ``scale``.

    Raises:
        ConfigError: ``quantized_dtype`` is not a float8 dtype (``'float8_e4m3fn'``, ``'float8_e5m2'``).
    """
    if str(quantized_dtype) not in _FLOAT8:
        raise ConfigError(f"quantize_and_dequantize: quantized_dtype must be one of {sorted(_FLOAT8)}, got "
                          f"{quantized_dtype!r}.")
    compute = _dtype(compute_dtype)
    limit = torch.finfo(_FLOAT8[str(quantized_dtype)]).max
    scale = _tensor(scale).to(compute)
    x = torch.clamp(_tensor(inputs).to(compute) / scale, -limit, limit)
    return x.to(_FLOAT8[str(quantized_dtype)]).to(compute) * scale


def compute_float8_scale(amax: Any, scale: Any, dtype_max: Any, margin: int = 0) -> torch.Tensor:
    """The new float8 scaling factor from the running ``amax``: ``amax / dtype_max * 2**margin`` where ``amax`` is
    positive and finite, else the old ``scale``."""
    amax, scale = _tensor(amax), _tensor(scale)
    factor = (_tensor(dtype_max) / amax) / (2 ** margin)
    factor = torch.where((amax > 0) & torch.isfinite(amax), factor, 1.0 / scale)
    return 1.0 / factor


def compute_float8_amax_history(x: Any, amax_history: Any) -> torch.Tensor:
    """``amax_history`` rolled one step left, with ``max|x|`` written at position 0."""
    history = _tensor(amax_history)
    rolled = torch.roll(history, shifts=-1)
    rolled[0] = _tensor(x).abs().max().to(history.dtype)
    return rolled


def pack_int4(arr: Any, axis: int = 0, dtype: str = "int8") -> tuple[torch.Tensor, tuple, int]:
    """Pack pairs of 4-bit values along ``axis`` into single bytes (low nibble first).

    Returns ``(packed, packed_shape, original_length)``.

    Raises:
        ConfigError: ``dtype`` is not ``'int8'`` / ``'uint8'``. InputError: ``arr`` is not of that dtype.
    """
    if dtype not in ("int8", "uint8"):
        raise ConfigError(f"pack_int4: expected dtype 'int8' or 'uint8', got {dtype!r}.")
    x = _tensor(arr)
    if x.dtype != _dtype(dtype):
        raise InputError(f"pack_int4: expected a {dtype} tensor for packing, got {backend.dtype_name(x.dtype)}.")
    axis = axis % x.dim()
    moved = x.movedim(axis, 0)
    length = moved.shape[0]
    if length % 2:
        moved = torch.cat([moved, moved.new_zeros((1,) + tuple(moved.shape[1:]))])
    low, high = moved[0::2].to(torch.int16) & 15, moved[1::2].to(torch.int16) & 15
    packed = ((high << 4) | low).to(torch.uint8).view(_dtype(dtype)).movedim(0, axis).contiguous()
    return packed, tuple(packed.shape), int(length)


def unpack_int4(packed: Any, orig_len: int, axis: int = 0, dtype: str = "int8") -> torch.Tensor:
    """The 4-bit values :func:`pack_int4` packed, sign-extended for ``'int8'``, trimmed to ``orig_len``."""
    if dtype not in ("int8", "uint8"):
        raise ConfigError(f"unpack_int4: expected dtype 'int8' or 'uint8', got {dtype!r}.")
    p = _tensor(packed)
    if p.dtype not in (torch.int8, torch.uint8):
        raise InputError(f"unpack_int4: expected an int8 or uint8 tensor, got {backend.dtype_name(p.dtype)}.")
    axis = axis % p.dim()
    moved = p.movedim(axis, 0).to(torch.int16) & 255
    low, high = moved & 15, (moved >> 4) & 15
    if dtype == "int8":
        low, high = (low ^ 8) - 8, (high ^ 8) - 8
    stacked = torch.stack([low, high], dim=1).reshape((-1,) + tuple(moved.shape[1:]))[:orig_len]
    return stacked.to(_dtype(dtype)).movedim(0, axis)


def _nudged_range(x: torch.Tensor, low: torch.Tensor, high: torch.Tensor, num_bits: int, narrow_range: bool,
                  axis: int | None) -> tuple:
    """``(nudged low, nudged high, 1 / scale, quantized zero, scale)`` broadcastable against ``x``."""
    compute = torch.promote_types(low.dtype, torch.float32)
    low_c, high_c = low.to(compute), high.to(compute)
    if axis is not None:
        shape = [1] * x.dim()
        shape[axis] = -1
        low_c, high_c = low_c.reshape(shape), high_c.reshape(shape)
    quant_max, quant_min = (1 << num_bits) - 1, 1 if narrow_range else 0
    scale = (high_c - low_c) / (quant_max - quant_min)
    inv_scale = (quant_max - quant_min) / (high_c - low_c)
    zero = torch.round(torch.clamp(quant_min - low_c / scale, quant_min, quant_max))
    nudged_low, nudged_high = (quant_min - zero) * scale, (quant_max - zero) * scale
    return nudged_low, nudged_high, inv_scale, torch.floor(-nudged_low * inv_scale + 0.5), scale


class _FakeQuant(torch.autograd.Function):
    """Fake quantization with the straight-through gradient of TensorFlow's ``fake_quant_with_min_max_vars``.

    Written with ``setup_context`` so that ``torch.func`` transforms and ``jit_compile=True`` train steps can
    differentiate it; the inputs enter as views (:func:`loom._torch_compat.function_input`).
    """

    @staticmethod
    def forward(x: torch.Tensor, low: torch.Tensor, high: torch.Tensor, num_bits: int, narrow_range: bool,
                axis: int | None) -> torch.Tensor:
        nudged_low, nudged_high, inv_scale, quant_zero, scale = _nudged_range(x, low, high, num_bits,
                                                                             narrow_range, axis)
        clamped = torch.minimum(torch.maximum(x.to(nudged_low.dtype), nudged_low), nudged_high)
        result = torch.floor((clamped - nudged_low) * inv_scale - quant_zero + 0.5) * scale
        return result.to(x.dtype)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: torch.Tensor) -> None:
        x, low, high, num_bits, narrow_range, axis = inputs
        nudged_low, nudged_high = _nudged_range(x, low, high, num_bits, narrow_range, axis)[:2]
        ctx.save_for_backward(x, nudged_low, nudged_high)
        ctx.axis, ctx.low_shape, ctx.high_shape = axis, low.shape, high.shape

    @staticmethod
    def backward(ctx: Any, upstream: torch.Tensor) -> tuple:
        x, low, high = ctx.saved_tensors
        zero = torch.zeros_like(upstream)
        dx = torch.where((x >= low) & (x <= high), upstream, zero)
        grad_low, grad_high = torch.where(x <= low, upstream, zero), torch.where(x >= high, upstream, zero)
        if ctx.axis is None:
            grad_low, grad_high = grad_low.sum(), grad_high.sum()
        else:
            dims = [d for d in range(x.dim()) if d != ctx.axis]
            grad_low, grad_high = grad_low.sum(dim=dims), grad_high.sum(dim=dims)
        return dx, grad_low.reshape(ctx.low_shape), grad_high.reshape(ctx.high_shape), None, None, None


def fake_quant_with_min_max_vars(inputs: Any, min_vals: Any, max_vals: Any, num_bits: int = 8,
                                 narrow_range: bool = False, axis: int | None = None) -> torch.Tensor:
    """Quantize to ``num_bits`` levels between (nudged) ``min_vals`` and ``max_vals`` and back, per tensor or per
    channel along ``axis``; gradients pass straight through inside the range (and to the bounds outside)."""
    x = _tensor(inputs)
    if axis is not None:
        if not -x.dim() <= axis < x.dim():
            raise InputError(f"fake_quant_with_min_max_vars: axis {axis} is out of range for rank {x.dim()}.")
        axis = axis % x.dim()
    low, high = _tensor(min_vals), _tensor(max_vals)
    return _FakeQuant.apply(*map(function_input, (x, low, high)), int(num_bits), bool(narrow_range), axis)

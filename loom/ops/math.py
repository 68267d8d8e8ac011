"""Keras's math ops (``keras.ops.segment_sum``, ``top_k``, ``logsumexp``, ``fft``, ``stft``...) on torch.

Complex inputs and outputs of the FFT ops are ``(real, imag)`` pairs of float tensors, as in Keras.

Example:
    >>> from loom.ops import math
    >>> math.segment_sum([1.0, 2.0, 3.0], [0, 0, 1]).tolist()
    [3.0, 3.0]
"""

from __future__ import annotations

import numbers
from typing import Any

import torch
import torch.nn.functional as F

from loom.errors import ConfigError, InputError, ShapeError
from loom.ops._common import check_axes, ftensor, tensor
from loom.ops._tensor import op

_SEGMENT_INIT = {"sum": 0.0, "prod": 1.0, "amax": float("-inf"), "amin": float("inf")}


def _segment(data: Any, segment_ids: Any, num_segments: int | None, reduce: str, op: str) -> torch.Tensor:
    data, ids = tensor(data, op=op), tensor(segment_ids, op=op).long()
    if ids.ndim != 1 or data.ndim < 1 or ids.shape[0] != data.shape[0]:
        raise ShapeError(f"ops.{op}: `segment_ids` must be 1-D with one id per row of `data`, got "
                         f"segment_ids.shape={tuple(ids.shape)}, data.shape={tuple(data.shape)}.")
    n = int(ids.max()) + 1 if num_segments is None and ids.numel() else int(num_segments or 0)
    ids = torch.where((ids >= 0) & (ids < n), ids, n).to(data.device)  # out-of-range rows go to a dropped slot
    work = data.double() if not data.dtype.is_floating_point else data
    out = torch.full((n + 1, *data.shape[1:]), _SEGMENT_INIT[reduce], dtype=work.dtype, device=data.device)
    index = ids.view(-1, *([1] * (data.ndim - 1))).expand_as(data)
    out = out.scatter_reduce(0, index, work, reduce, include_self=True)[:-1]
    if data.dtype.is_floating_point:
        return out
    info = torch.iinfo(data.dtype) if data.dtype != torch.bool else None
    return out.clamp(info.min, info.max).to(data.dtype) if info else out.to(data.dtype)


def segment_sum(data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False) -> torch.Tensor:
    """Sum of the rows of ``data`` sharing a segment id; ``num_segments`` defaults to ``max(id) + 1``."""
    return _segment(data, segment_ids, num_segments, "sum", "segment_sum")


def segment_max(data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False) -> torch.Tensor:
    """Max of the rows sharing a segment id (empty segments: ``-inf``)."""
    return _segment(data, segment_ids, num_segments, "amax", "segment_max")


def segment_min(data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False) -> torch.Tensor:
    """Min of the rows sharing a segment id (empty segments: ``inf``)."""
    return _segment(data, segment_ids, num_segments, "amin", "segment_min")


def segment_prod(data: Any, segment_ids: Any, num_segments: int | None = None,
                 sorted: bool = False) -> torch.Tensor:
    """Product of the rows sharing a segment id (empty segments: 1)."""
    return _segment(data, segment_ids, num_segments, "prod", "segment_prod")


def top_k(x: Any, k: int, sorted: bool = True) -> Any:
    """The ``k`` largest entries along the last axis and their indices, as ``(values, indices)``."""
    x = tensor(x, op="top_k")
    if x.ndim < 1 or not isinstance(k, numbers.Integral) or not 0 <= k <= x.shape[-1]:
        raise ConfigError(f"ops.top_k: `k` must be an int in [0, {x.shape[-1] if x.ndim else 0}] for x.shape="
                          f"{tuple(x.shape)}, got {k!r}.")
    return torch.topk(x, k, sorted=sorted)


def in_top_k(targets: Any, predictions: Any, k: int) -> torch.Tensor:
    """Whether each target class's prediction is among the ``k`` largest of its row (ties count as in)."""
    predictions = tensor(predictions, op="in_top_k")
    targets = tensor(targets, op="in_top_k").long().to(predictions.device)
    if predictions.ndim != 2 or targets.shape != predictions.shape[:1]:
        raise ShapeError(f"ops.in_top_k: expected targets (batch,) and predictions (batch, classes), got "
                         f"targets.shape={tuple(targets.shape)}, predictions.shape={tuple(predictions.shape)}.")
    kth = top_k(predictions, k).values[:, -1:]
    return (torch.take_along_dim(predictions, targets[:, None], dim=-1) >= kth).squeeze(-1)


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """``log(sum(exp(x)))`` over ``axis`` (``None``: all axes), computed stably."""
    x = ftensor(x, "logsumexp")
    dims = list(range(x.ndim)) if axis is None else check_axes(axis, x.ndim, "ops.logsumexp")
    return torch.logsumexp(x, dim=dims, keepdim=keepdims)


def cdist(x: Any, y: Any) -> torch.Tensor:
    """Euclidean distances between the rows of ``x (..., P, M)`` and ``y (..., R, M)``: ``(..., P, R)``."""
    x, y = ftensor(x, "cdist"), ftensor(y, "cdist")
    y = y.to(x.device)
    if x.ndim < 2 or y.ndim < 2 or x.shape[-1] != y.shape[-1]:
        raise ShapeError(f"ops.cdist: inputs must have rank >= 2 and the same last dimension, got "
                         f"x.shape={tuple(x.shape)}, y.shape={tuple(y.shape)}.")
    diff = x.unsqueeze(-2) - y.unsqueeze(-3)
    return torch.sqrt((diff * diff).sum(-1))


def extract_sequences(x: Any, sequence_length: int, sequence_stride: int) -> torch.Tensor:
    """Frames of length ``sequence_length`` every ``sequence_stride`` along the last axis: ``(..., n, len)``."""
    x = tensor(x, op="extract_sequences")
    if x.ndim < 1 or not 0 < sequence_length <= x.shape[-1] or sequence_stride < 1:
        raise ConfigError(f"ops.extract_sequences: need 0 < sequence_length <= x.shape[-1] and sequence_stride "
                          f">= 1, got sequence_length={sequence_length}, sequence_stride={sequence_stride}, "
                          f"x.shape={tuple(x.shape)}.")
    return x.unfold(-1, sequence_length, sequence_stride).contiguous()


def _complex(x: Any, op: str) -> torch.Tensor:
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise InputError(f"ops.{op}: `x` must be a (real, imag) pair of float tensors, got {type(x).__name__}.")
    real, imag = tensor(x[0], op=op), tensor(x[1], op=op)
    if real.shape != imag.shape:
        raise ShapeError(f"ops.{op}: real and imaginary parts must have the same shape, got {tuple(real.shape)} "
                         f"and {tuple(imag.shape)}.")
    if not real.dtype.is_floating_point or not imag.dtype.is_floating_point:
        raise InputError(f"ops.{op}: real and imaginary parts must be float tensors, got {real.dtype} and "
                         f"{imag.dtype}.")
    return torch.complex(real, imag)


def _pair(c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return c.real, c.imag


def fft(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """FFT along the last axis of ``x = (real, imag)``."""
    return _pair(torch.fft.fft(_complex(x, "fft")))


def fft2(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """2-D FFT over the last two axes of ``x = (real, imag)``."""
    return _pair(torch.fft.fft2(_complex(x, "fft2")))


def ifft2(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Inverse 2-D FFT over the last two axes of ``x = (real, imag)``."""
    return _pair(torch.fft.ifft2(_complex(x, "ifft2")))


def rfft(x: Any, fft_length: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """FFT of a real signal along the last axis: ``fft_length // 2 + 1`` bins as ``(real, imag)``."""
    return _pair(torch.fft.rfft(ftensor(x, "rfft"), n=fft_length, dim=-1))


def irfft(x: Any, fft_length: int | None = None) -> torch.Tensor:
    """Inverse of :func:`rfft`: a real signal of ``fft_length`` samples."""
    return torch.fft.irfft(_complex(x, "irfft"), n=fft_length, dim=-1)


def _window(window: Any, sequence_length: int, dtype: torch.dtype, device: torch.device, op: str):
    if window is None:
        return None
    if isinstance(window, str):
        if window not in ("hann", "hamming"):
            raise ConfigError(f"ops.{op}: a string `window` must be 'hann' or 'hamming', got {window!r}.")
        make = torch.hann_window if window == "hann" else torch.hamming_window
        return make(sequence_length, periodic=True, dtype=dtype, device=device)
    win = tensor(window, dtype=dtype, op=op).to(device)
    if win.shape != (sequence_length,):
        raise ShapeError(f"ops.{op}: `window` must have shape ({sequence_length},), got {tuple(win.shape)}.")
    return win


def _check_frames(sequence_length: int, sequence_stride: int, fft_length: int, op: str) -> None:
    if not isinstance(sequence_stride, numbers.Integral) or sequence_stride < 1 or sequence_length < 1:
        raise ConfigError(f"ops.{op}: `sequence_length` and `sequence_stride` must be positive ints, got "
                          f"{sequence_length!r}, {sequence_stride!r}.")
    if fft_length < sequence_length:
        raise ConfigError(f"ops.{op}: `fft_length` ({fft_length}) must be >= `sequence_length` ({sequence_length}).")


def stft(x: Any, sequence_length: int, sequence_stride: int, fft_length: int, window: Any = "hann",
         center: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Short-time Fourier transform along the last axis: ``(real, imag)`` of shape
    ``(..., frames, fft_length // 2 + 1)``.

    Args:
        x: float32 or float64 signal ``(..., samples)``.
        sequence_length: frame length.
        sequence_stride: hop between frames.
        fft_length: FFT size (>= ``sequence_length``; frames are zero-padded).
        window: ``'hann'``, ``'hamming'``, a ``(sequence_length,)`` array or None (rectangular); default
            ``'hann'``.
        center: reflect-pad the signal by ``fft_length // 2`` on both sides; default True.
    """
    _check_frames(sequence_length, sequence_stride, fft_length, "stft")
    x = tensor(x, op="stft")
    if x.dtype not in (torch.float32, torch.float64):
        raise InputError(f"ops.stft: `x` must be float32 or float64, got {x.dtype}.")
    win = _window(window, sequence_length, x.dtype, x.device, "stft")
    win = torch.ones(sequence_length, dtype=x.dtype, device=x.device) if win is None else win
    batch = x.shape[:-1]
    out = torch.stft(x.reshape(-1, x.shape[-1]), n_fft=fft_length, hop_length=sequence_stride,
                     win_length=sequence_length, window=win, center=center, return_complex=True)
    out = out.reshape(*batch, *out.shape[-2:]).transpose(-2, -1)
    return out.real, out.imag


def istft(x: Any, sequence_length: int, sequence_stride: int, fft_length: int, length: int | None = None,
          window: Any = "hann", center: bool = True) -> torch.Tensor:
    """Inverse of :func:`stft` by windowed overlap-add.

    Args:
        x: ``(real, imag)`` spectrogram ``(..., frames, fft_length // 2 + 1)``.
        sequence_length: frame length used by :func:`stft`.
        sequence_stride: hop used by :func:`stft`.
        fft_length: FFT size used by :func:`stft`.
        length: samples in the result (trimmed or zero-padded); default None (all).
        window: as :func:`stft`; default ``'hann'``.
        center: whether :func:`stft` centred the frames; default True.
    """
    _check_frames(sequence_length, sequence_stride, fft_length, "istft")
    spec = _complex(x, "istft")
    win = _window(window, sequence_length, spec.real.dtype, spec.device, "istft")
    frames = torch.fft.irfft(spec, n=fft_length, dim=-1)  # (..., n, fft_length)
    n = frames.shape[-2]
    if win is not None:
        left = (fft_length - sequence_length) // 2
        win = F.pad(win, (left, fft_length - sequence_length - left))
        periods = -(-fft_length // sequence_stride)
        denom = F.pad(win * win, (0, periods * sequence_stride - fft_length)).reshape(periods, sequence_stride)
        frames = frames * (win / denom.sum(0).repeat(periods)[:fft_length])
    batch = frames.shape[:-2]
    total = sequence_stride * (n - 1) + fft_length
    flat = frames.reshape(-1, n, fft_length).transpose(1, 2)
    signal = F.fold(flat, (1, total), (1, fft_length), stride=(1, sequence_stride)).reshape(*batch, total)
    start = fft_length // 2 if center else 0
    end = start + length if length is not None else (total - fft_length // 2 if center else total)
    out = signal[..., start:end]
    if length is not None and out.shape[-1] < length:
        out = F.pad(out, (0, length - out.shape[-1]))
    return out


def rsqrt(x: Any) -> torch.Tensor:
    """``1 / sqrt(x)``."""
    return torch.rsqrt(ftensor(x, "rsqrt"))


def erf(x: Any) -> torch.Tensor:
    """The error function."""
    return torch.erf(ftensor(x, "erf"))


def erfc(x: Any) -> torch.Tensor:
    """``1 - erf(x)``, accurate for large ``x``."""
    return torch.erfc(ftensor(x, "erfc"))


def erfinv(x: Any) -> torch.Tensor:
    """The inverse error function."""
    return torch.erfinv(ftensor(x, "erfinv"))


def logdet(x: Any) -> torch.Tensor:
    """``log(det(x))`` of square matrices (NaN for a negative determinant)."""
    x = ftensor(x, "logdet")
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ShapeError(f"ops.logdet: `x` must be square matrices (..., M, M), got shape {tuple(x.shape)}.")
    return torch.logdet(x)


def view_as_complex(x: Any) -> torch.Tensor:
    """A float tensor ``(..., 2)`` read as complex64 ``(...)``."""
    x = tensor(x, op="view_as_complex")
    if x.ndim < 1 or x.shape[-1] != 2:
        raise ShapeError(f"ops.view_as_complex: the last axis of `x` must have size 2, got shape {tuple(x.shape)}.")
    return torch.complex(x[..., 0].to(torch.float32), x[..., 1].to(torch.float32))


def view_as_real(x: Any) -> torch.Tensor:
    """A complex tensor ``(...)`` as its real and imaginary parts stacked on a last axis ``(..., 2)``."""
    x = tensor(x, op="view_as_real")
    if not x.is_complex():
        return torch.stack([x, torch.zeros_like(x)], dim=-1)
    return torch.stack([x.real, x.imag], dim=-1)


__all__ = ["cdist", "erf", "erfc", "erfinv", "extract_sequences", "fft", "fft2", "ifft2", "in_top_k", "irfft",
           "istft", "logdet", "logsumexp", "rfft", "rsqrt", "segment_max", "segment_min", "segment_prod",
           "segment_sum", "stft", "top_k", "view_as_complex", "view_as_real"]


# torch failures inside an op (e.g. a kernel's own shape check) surface as loom InputErrors naming the op
for _name in __all__:
    globals()[_name] = op(_name)(globals()[_name])

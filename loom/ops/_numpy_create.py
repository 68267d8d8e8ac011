"""Tensor creation (``keras.ops.arange``, ``ones``, ``eye``, ``linspace``, ``full``, the window functions...).

``dtype=None`` means floatx (``'float32'``) for ``ones``/``zeros``/``eye``/``full``..., the input's dtype for the
``*_like`` ops, and Keras's promoted type of the arguments for ``arange`` (Python ints give int32) and
``linspace`` (always a float unless asked). New tensors go to :func:`loom.backend.scope_device` (the model's
device inside ``fit`` / ``predict`` on a GPU, ``meta`` during shape inference; torch's default, the CPU, outside
any scope); ops built from tensors (``*_like``, ``full`` with a tensor fill) follow those tensors.

Example:
    >>> from loom.ops import numpy as np_ops
    >>> np_ops.arange(3).tolist(), np_ops.arange(3).dtype
    ([0, 1, 2], torch.int32)
    >>> np_ops.eye(2).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
"""

from __future__ import annotations

from typing import Any

import torch

from loom import backend
from loom.errors import InputError
from loom.ops._tensor import cast, convert_to_tensor, op, result_type, tensor, tensors, to_torch_dtype

__all__ = [
    "arange", "array", "bartlett", "blackman", "empty", "empty_like", "eye", "full", "full_like", "geomspace",
    "hamming", "hanning", "identity", "kaiser", "linspace", "logspace", "ones", "ones_like", "tri", "vander",
    "zeros", "zeros_like",
]


def _shape(name: str, shape: Any) -> tuple[int, ...]:
    if isinstance(shape, torch.Tensor):
        shape = shape.reshape(-1).tolist()
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    if any(not isinstance(d, int) and not hasattr(d, "__index__") or int(d) < 0 for d in dims):
        raise InputError(f"ops.{name}: `shape` must hold non-negative ints; got {shape!r}.")
    return tuple(int(d) for d in dims)


def _kind(v: Any) -> Any:
    return v.dtype if hasattr(v, "dtype") else type(v)


@op("array")
def array(x: Any, dtype: Any = None) -> torch.Tensor:
    """A tensor from ``x`` (as :func:`loom.ops.convert_to_tensor`).

    Args:
        x: array-like value.
        dtype: target dtype; default None (inferred as Keras does).
    """
    return convert_to_tensor(x, dtype=dtype)


@op("zeros")
def zeros(shape: Any, dtype: Any = None) -> torch.Tensor:
    """A tensor of zeros.

    Args:
        shape: int or sequence of ints.
        dtype: default None (floatx).
    """
    return torch.zeros(_shape("zeros", shape), dtype=to_torch_dtype(dtype), device=backend.scope_device())


@op("ones")
def ones(shape: Any, dtype: Any = None) -> torch.Tensor:
    """A tensor of ones.

    Args:
        shape: int or sequence of ints.
        dtype: default None (floatx).
    """
    return torch.ones(_shape("ones", shape), dtype=to_torch_dtype(dtype), device=backend.scope_device())


@op("empty")
def empty(shape: Any, dtype: Any = None) -> torch.Tensor:
    """An uninitialised tensor.

    Args:
        shape: int or sequence of ints.
        dtype: default None (floatx).
    """
    return torch.empty(_shape("empty", shape), dtype=to_torch_dtype(dtype), device=backend.scope_device())


@op("full")
def full(shape: Any, fill_value: Any, dtype: Any = None) -> torch.Tensor:
    """A tensor filled with ``fill_value`` (a scalar, or a tensor broadcast over the leading axes).

    Args:
        shape: int or sequence of ints.
        fill_value: the value.
        dtype: default None (floatx).
    """
    dims = _shape("full", shape)
    fill = tensor("full", fill_value, dtype=to_torch_dtype(dtype))
    try:
        return fill.expand(dims).clone()
    except RuntimeError as e:
        raise InputError(f"ops.full: `fill_value` of shape {tuple(fill.shape)} cannot fill shape {dims}.") from e


def _like(name: str, x: Any, dtype: Any) -> tuple[torch.Tensor, torch.dtype]:
    t = tensor(name, x)
    return t, t.dtype if dtype is None else to_torch_dtype(dtype)


@op("zeros_like")
def zeros_like(x: Any, dtype: Any = None) -> torch.Tensor:
    """Zeros shaped like ``x``.

    Args:
        x: reference tensor.
        dtype: default None (``x``'s dtype).
    """
    t, dt = _like("zeros_like", x, dtype)
    return torch.zeros_like(t, dtype=dt)


@op("ones_like")
def ones_like(x: Any, dtype: Any = None) -> torch.Tensor:
    """Ones shaped like ``x``.

    Args:
        x: reference tensor.
        dtype: default None (``x``'s dtype).
    """
    t, dt = _like("ones_like", x, dtype)
    return torch.ones_like(t, dtype=dt)


@op("empty_like")
def empty_like(x: Any, dtype: Any = None) -> torch.Tensor:
    """An uninitialised tensor shaped like ``x``.

    Args:
        x: reference tensor.
        dtype: default None (``x``'s dtype).
    """
    t, dt = _like("empty_like", x, dtype)
    return torch.empty_like(t, dtype=dt)


@op("full_like")
def full_like(x: Any, fill_value: Any, dtype: Any = None) -> torch.Tensor:
    """``fill_value`` shaped like ``x``.

    Args:
        x: reference tensor.
        fill_value: the value (scalar or broadcastable tensor).
        dtype: default None (``x``'s dtype).
    """
    t, dt = _like("full_like", x, dtype)
    fill = tensor("full_like", fill_value, dtype=dt).to(t.device)
    return fill.expand(t.shape).clone()


@op("eye")
def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> torch.Tensor:
    """A 2-D tensor with ones on diagonal ``k``.

    Args:
        N: rows.
        M: columns; default None (``N``).
        k: diagonal offset (positive above the main one); default 0.
        dtype: default None (floatx).
    """
    M = N if M is None else M
    return torch.ones(N, M, dtype=to_torch_dtype(dtype), device=backend.scope_device()).tril(k).triu(k)


@op("identity")
def identity(n: int, dtype: Any = None) -> torch.Tensor:
    """The ``n`` x ``n`` identity matrix.

    Args:
        n: size.
        dtype: default None (floatx).
    """
    return torch.eye(n, dtype=to_torch_dtype(dtype), device=backend.scope_device())


@op("tri")
def tri(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> torch.Tensor:
    """Ones at and below diagonal ``k``, zeros above.

    Args:
        N: rows.
        M: columns; default None (``N``).
        k: diagonal offset; default 0.
        dtype: default None (floatx).
    """
    return torch.ones(N, N if M is None else M, dtype=to_torch_dtype(dtype), device=backend.scope_device()).tril(k)


@op("arange")
def arange(start: Any, stop: Any = None, step: Any = None, dtype: Any = None) -> torch.Tensor:
    """Evenly spaced values in ``[start, stop)``; ``arange(n)`` counts from 0.

    Args:
        start: first value (or the stop when ``stop`` is None).
        stop: end (excluded); default None.
        step: spacing; default None (1).
        dtype: default None (Keras's promoted type of the arguments: Python ints give int32).
    """
    if dtype is None:
        dtype = result_type(*(_kind(v) for v in (start, stop, step) if v is not None))
    if stop is None:
        start, stop = 0, start
    step = 1 if step is None else step
    if step == 0:
        raise InputError("ops.arange: `step` must not be 0.")
    vals = [v.item() if isinstance(v, torch.Tensor) else v for v in (start, stop, step)]
    return torch.arange(*vals, dtype=to_torch_dtype(dtype), device=backend.scope_device())


def _spaced(name: str, start: Any, stop: Any, num: int, endpoint: bool, axis: int) -> torch.Tensor:
    """``num`` evenly spaced float64 points from ``start`` to ``stop`` (arrays give one column per element)."""
    if num < 0:
        raise InputError(f"ops.{name}: `num` must be non-negative; got {num}.")
    a, b = (t.to(torch.float64) for t in tensors(name, start, stop))
    a, b = torch.broadcast_tensors(a, b)
    div = (num - 1) if endpoint else num
    steps = torch.arange(num, dtype=torch.float64, device=a.device)
    frac = steps / div if div > 0 else steps * 0
    out = a.unsqueeze(0) + frac.reshape((-1,) + (1,) * a.ndim) * (b - a).unsqueeze(0)
    if endpoint and num > 1:
        out[-1] = b
    return torch.movedim(out, 0, axis) if axis != 0 else out


@op("linspace")
def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, retstep: bool = False, dtype: Any = None,
             axis: int = 0) -> Any:
    """``num`` evenly spaced values from ``start`` to ``stop``.

    Args:
        start: first value (scalar or tensor).
        stop: last value (scalar or tensor).
        num: number of values; default 50.
        endpoint: include ``stop``; default True.
        retstep: also return the spacing; default False.
        dtype: default None (Keras's promoted float type of the arguments).
        axis: where the new axis goes for tensor endpoints; default 0.
    """
    if dtype is None:
        dtype = result_type(_kind(start), _kind(stop), float)
    out = _spaced("linspace", start, stop, num, endpoint, axis)
    out = cast(out, dtype)
    if retstep:
        a, b = tensors("linspace", start, stop)
        div = (num - 1) if endpoint else num
        step = (b - a) / div if div > 0 else torch.tensor(float("nan"), device=b.device)
        return out, step
    return out


@op("logspace")
def logspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, base: float = 10, dtype: Any = None,
             axis: int = 0) -> torch.Tensor:
    """``base ** linspace(start, stop)``.

    Args:
        start: first exponent.
        stop: last exponent.
        num: number of values; default 50.
        endpoint: include ``stop``; default True.
        base: the base; default 10.
        dtype: default None (Keras's promoted float type of the arguments).
        axis: where the new axis goes for tensor endpoints; default 0.
    """
    if dtype is None:
        dtype = result_type(_kind(start), _kind(stop), float)
    exponents = _spaced("logspace", start, stop, num, endpoint, axis)
    out = torch.pow(torch.tensor(float(base), dtype=torch.float64, device=exponents.device), exponents)
    return cast(out, dtype)


@op("geomspace")
def geomspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None, axis: int = 0
              ) -> torch.Tensor:
    """``num`` values spaced evenly on a log scale from ``start`` to ``stop`` (same sign, non-zero).

    Args:
        start: first value.
        stop: last value.
        num: number of values; default 50.
        endpoint: include ``stop``; default True.
        dtype: default None (Keras's promoted float type of the arguments).
        axis: where the new axis goes for tensor endpoints; default 0.
    """
    if dtype is None:
        dtype = result_type(_kind(start), _kind(stop), float)
    a, b = (t.to(torch.float64) for t in tensors("geomspace", start, stop))
    if a.device.type != "meta" and (bool(torch.any(a == 0)) or bool(torch.any(b == 0))  # meta: shapes only
                                    or bool(torch.any(torch.sign(a) != torch.sign(b)))):
        raise InputError("ops.geomspace: `start` and `stop` must be non-zero and of the same sign.")
    sign = torch.sign(a).unsqueeze(axis)  # at the new axis of the values
    out = sign * torch.exp(_spaced("geomspace", torch.log(a.abs()), torch.log(b.abs()), num, endpoint, axis))
    return cast(out, dtype)


def _window(name: str, x: Any, fn: Any, **kw: Any) -> torch.Tensor:
    n = int(tensor(name, x).item()) if not isinstance(x, int) else x
    device = backend.scope_device()
    if n <= 0:
        return torch.zeros(0, dtype=torch.float32, device=device)
    if n == 1:
        return torch.ones(1, dtype=torch.float32, device=device)
    return fn(n, periodic=False, dtype=torch.float64, device=device, **kw).to(torch.float32)


@op("bartlett")
def bartlett(x: int) -> torch.Tensor:
    """The symmetric Bartlett (triangular) window of length ``x`` (float32).

    Args:
        x: window length.
    """
    return _window("bartlett", x, torch.bartlett_window)


@op("blackman")
def blackman(x: int) -> torch.Tensor:
    """The symmetric Blackman window of length ``x`` (float32).

    Args:
        x: window length.
    """
    return _window("blackman", x, torch.blackman_window)


@op("hamming")
def hamming(x: int) -> torch.Tensor:
    """The symmetric Hamming window of length ``x`` (float32).

    Args:
        x: window length.
    """
    return _window("hamming", x, torch.hamming_window)


@op("hanning")
def hanning(x: int) -> torch.Tensor:
    """The symmetric Hann window of length ``x`` (float32).

    Args:
        x: window length.
    """
    return _window("hanning", x, torch.hann_window)


@op("kaiser")
def kaiser(x: int, beta: float) -> torch.Tensor:
    """The symmetric Kaiser window of length ``x`` and shape ``beta`` (float32).

    Args:
        x: window length.
        beta: shape parameter (0 gives a rectangle; larger narrows the window).
    """
    return _window("kaiser", x, torch.kaiser_window, beta=float(beta))


@op("vander")
def vander(x: Any, N: int | None = None, increasing: bool = False) -> torch.Tensor:
    """The Vandermonde matrix of 1-D ``x``: columns are powers of ``x``.

    Args:
        x: 1-D tensor.
        N: number of columns; default None (``len(x)``).
        increasing: powers increase left to right; default False (decreasing).
    """
    t = tensor("vander", x)
    if t.ndim != 1:
        raise InputError(f"ops.vander: `x` must be 1-D; got shape {tuple(t.shape)}.")
    t = cast(t, result_type(t.dtype))
    n = t.shape[0] if N is None else N
    powers = torch.arange(n, device=t.device)
    if not increasing:
        powers = powers.flip(0)
    return t.unsqueeze(-1) ** powers.to(t.dtype)

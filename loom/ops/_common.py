"""Argument handling shared by the nn / math / linalg / image / core ops: tensor conversion, float promotion,
axis and shape checks that raise loom errors naming the op.

Example:
    >>> from loom.ops import _common
    >>> _common.as_float(_common.tensor([1, 2]), "relu").dtype
    torch.float32
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from loom import backend
from loom.errors import ConfigError, ShapeError
from loom.ops import _tensor

def tensor(x: Any, dtype: Any = None, op: str = "ops") -> torch.Tensor:
    """``x`` as a tensor, Keras's way (:func:`loom.ops._tensor.convert_to_tensor`), errors naming ``op``."""
    return _tensor.tensor(op, x, dtype=dtype)


def qualified(op: str) -> str:
    """The name errors use: ``'ops.nn.conv'`` for nn's bare names (``'conv'``), others as given."""
    return op if op.startswith("ops.") else f"ops.nn.{op}"


def as_float(x: torch.Tensor, op: str) -> torch.Tensor:
    """Integer and bool tensors promoted to floatx (Keras's float ops); float tensors unchanged."""
    if x.dtype.is_floating_point or x.dtype.is_complex:
        return x
    return x.to(backend.torch_dtype(None))


def ftensor(x: Any, op: str) -> torch.Tensor:
    """``tensor`` then ``as_float``."""
    return as_float(tensor(x, op=op), op)


def float_result(*xs: torch.Tensor) -> torch.dtype:
    """The float dtype two or more tensors compute in: the widest float among them, else floatx."""
    floats = [x.dtype for x in xs if x.dtype.is_floating_point]
    if not floats:
        return backend.torch_dtype(None)
    out = floats[0]
    for d in floats[1:]:
        out = torch.promote_types(out, d)
    return out


def check_axis(axis: int, ndim: int, op: str, arg: str = "axis") -> int:
    """``axis`` made non-negative; a ShapeError naming the op if it is outside ``[-ndim, ndim)``."""
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise ConfigError(f"{qualified(op)}: `{arg}` must be an int, got {axis!r}.")
    if not -ndim <= axis < max(ndim, 1):
        raise ShapeError(f"{qualified(op)}: `{arg}`={axis} is out of range for a tensor of rank {ndim} "
                         f"(valid: {-ndim}..{ndim - 1}).")
    return int(axis) % max(ndim, 1)


def check_axes(axes: Any, ndim: int, op: str, arg: str = "axis") -> list[int]:
    """An int or a sequence of ints, each checked by :func:`check_axis`."""
    axes = [axes] if isinstance(axes, (int, np.integer)) else list(axes)
    return [check_axis(a, ndim, op, arg) for a in axes]


def check_rank(x: torch.Tensor, ranks: Sequence[int], op: str, arg: str) -> None:
    """A ShapeError naming the op and argument when ``x.ndim`` is not one of ``ranks``."""
    if x.ndim not in ranks:
        raise ShapeError(f"{qualified(op)}: `{arg}` must have rank {' or '.join(map(str, ranks))}, got shape "
                         f"{tuple(x.shape)}.")


def check_choice(value: Any, options: Sequence[Any], op: str, arg: str) -> Any:
    """``value`` if it is one of ``options``, else a ConfigError listing them."""
    if value not in options:
        raise ConfigError(f"{qualified(op)}: `{arg}` must be one of {list(options)}, got {value!r}.")
    return value


def data_format(value: str | None, op: str) -> str:
    """``None`` -> ``'channels_last'`` (Keras's default image data format); anything else checked."""
    if value is None:
        return "channels_last"
    return check_choice(value, ("channels_last", "channels_first"), op, "data_format")


def tuple_arg(value: Any, n: int, op: str, arg: str) -> tuple[int, ...]:
    """An int or a length-``n`` sequence of positive ints, as an ``n``-tuple."""
    if isinstance(value, (int, np.integer)):
        value = (int(value),) * n
    value = tuple(int(v) for v in value)
    if len(value) != n or any(v < 1 for v in value):
        raise ConfigError(f"{qualified(op)}: `{arg}` must be a positive int or {n} positive ints, got {value!r}.")
    return value


def broadcast_shapes(op: str, **named: torch.Tensor) -> torch.Size:
    """The broadcast shape of the named tensors, or a ShapeError listing each argument's shape."""
    try:
        return torch.broadcast_shapes(*(t.shape for t in named.values()))
    except RuntimeError as e:
        shapes = ", ".join(f"{k}.shape={tuple(v.shape)}" for k, v in named.items())
        raise ShapeError(f"{qualified(op)}: shapes cannot broadcast: {shapes}.") from e

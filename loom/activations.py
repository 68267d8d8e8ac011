"""Activation functions with Keras's names and defaults, written with torch ops.

Example:
    >>> import torch, loom
    >>> loom.activations.get("relu")(torch.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    >>> loom.activations.serialize(loom.activations.get("swish"))
    'silu'
"""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F

from loom import _torch_compat, backend
from loom.errors import ConfigError

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def linear(x):
    return x


def relu(x, negative_slope: float = 0.0, max_value: float | None = None, threshold: float = 0.0):
    """Keras's ``relu``: ``x`` above ``threshold`` (default 0.0), clipped to ``[0, max_value]`` (default
    ``None``: no clip), minus ``negative_slope * relu(threshold - x)`` (default slope 0.0).

    The same steps as Keras, so edge cases agree (``x == threshold`` gives 0; a negative ``threshold``
    with ``max_value`` clips at 0).
    """
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return torch.relu(x)
    if negative_slope != 0.0 and max_value is None and threshold == 0:
        return F.leaky_relu(x, negative_slope)
    negative_part = torch.relu(threshold - x) if negative_slope != 0.0 else None
    clip_max = max_value is not None
    if threshold != 0:
        x = torch.where(x > threshold, x, torch.zeros((), dtype=x.dtype, device=x.device))
    elif max_value == 6:
        x = F.relu6(x)
        clip_max = False
    else:
        x = torch.relu(x)
    if clip_max:
        x = x.clamp(0.0, max_value)
    if negative_part is not None:
        x = x - negative_slope * negative_part
    return x


def relu6(x):
    return F.relu6(x)


def leaky_relu(x, negative_slope: float = 0.2):
    return F.leaky_relu(x, negative_slope)


def sigmoid(x):
    return torch.sigmoid(x)


def hard_sigmoid(x):
    return F.hardsigmoid(x)


def softmax(x, axis: int = -1):
    if 0 < x.shape[axis] <= 64 and x.device.type == "cpu" and backend.inference_shortcuts() \
            and not _torch_compat.is_compiling():
        # torch's CPU kernel costs ~20 us on a 128 x 10 batch; these three passes take ~9 (same formula).
        e = (x - x.amax(axis, keepdim=True)).exp_()
        return e.div_(e.sum(axis, keepdim=True))
    return torch.softmax(x, dim=axis)


def log_softmax(x, axis: int = -1):
    return torch.log_softmax(x, dim=axis)


def tanh(x):
    return torch.tanh(x)


def elu(x, alpha: float = 1.0):
    return F.elu(x, alpha)


def selu(x):
    return F.selu(x)


def gelu(x, approximate: bool = False):
    return F.gelu(x, approximate="tanh" if approximate else "none")


def silu(x):
    return F.silu(x)


swish = silu


def softplus(x):
    return F.softplus(x)


def softsign(x):
    return F.softsign(x)


def exponential(x):
    return torch.exp(x)


def mish(x):
    return F.mish(x)


_BY_NAME: dict[str, Callable] = {
    "linear": linear, "relu": relu, "relu6": relu6, "leaky_relu": leaky_relu, "sigmoid": sigmoid,
    "hard_sigmoid": hard_sigmoid, "softmax": softmax, "log_softmax": log_softmax, "tanh": tanh, "elu": elu,
    "selu": selu, "gelu": gelu, "silu": silu, "swish": silu, "softplus": softplus, "softsign": softsign,
    "exponential": exponential, "mish": mish,
}
_NAME_OF = {fn: name for name, fn in _BY_NAME.items() if name != "swish"}


def in_place(fn: Callable) -> Callable:
    """``fn``, or an equivalent that overwrites its argument (ReLU: ``torch.relu_``).

    For a layer's own fresh pre-activation (a convolution's or matmul's output, which nothing else holds and
    whose backward does not need it): no new buffer, and one pass over memory that is still in cache.
    """
    return _IN_PLACE.get(fn, fn)


def get(identifier: Any) -> Callable[[torch.Tensor], torch.Tensor]:
    """Resolve ``None`` (linear), a name or a callable to an activation function."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = _BY_NAME.get(identifier.lower())
        if fn is None:
            raise ConfigError(f"Unknown activation {identifier!r}. Valid: {sorted(_BY_NAME)}")
        return fn
    if isinstance(identifier, dict) and "class_name" in identifier:
        return get(identifier["class_name"])
    if callable(identifier):
        return identifier
    raise ConfigError(f"Cannot interpret {identifier!r} as an activation. Valid: {sorted(_BY_NAME)}")


def serialize(fn: Callable) -> Any:
    """The name of a built-in activation; other callables are described by module and qualified name."""
    if fn in _NAME_OF:
        return _NAME_OF[fn]
    return {"module": getattr(fn, "__module__", None), "qualname": getattr(fn, "__qualname__", repr(fn))}


_IN_PLACE = {relu: torch.relu_}

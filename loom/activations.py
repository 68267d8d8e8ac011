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
    if backend.inference_shortcuts() and 0 < x.shape[axis] <= 64 and x.device.type == "cpu" \
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


def celu(x, alpha: float = 1.0):
    """``max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))`` (alpha default 1.0)."""
    return F.celu(x, alpha)


def glu(x, axis: int = -1):
    """Gated linear unit: ``a * sigmoid(b)`` where ``a, b`` are the halves of ``x`` along ``axis`` (default -1)."""
    if x.shape[axis] % 2:
        raise ConfigError(f"glu: the size of axis {axis} must be even, got shape {tuple(x.shape)}.")
    return F.glu(x, dim=axis)


def hard_silu(x):
    """``x * hard_sigmoid(x)``."""
    return F.hardswish(x)


hard_swish = hard_silu


def hard_tanh(x):
    """``x`` clipped to ``[-1, 1]``."""
    return F.hardtanh(x)


def hard_shrink(x, threshold: float = 0.5):
    """``x`` where ``|x| > threshold`` (default 0.5), else 0."""
    return torch.where(x.abs() > threshold, x, torch.zeros((), dtype=x.dtype, device=x.device))


def soft_shrink(x, threshold: float = 0.5):
    """``x`` moved ``threshold`` (default 0.5) towards 0, and 0 inside ``[-threshold, threshold]``."""
    return torch.sign(x) * torch.relu(x.abs() - threshold)


def tanh_shrink(x):
    """``x - tanh(x)``."""
    return x - torch.tanh(x)


def log_sigmoid(x):
    """``log(sigmoid(x))``, computed stably."""
    return F.logsigmoid(x)


def sparse_plus(x):
    """0 for ``x <= -1``, ``(x + 1)**2 / 4`` for ``-1 < x < 1``, ``x`` for ``x >= 1``: a smooth ReLU."""
    return torch.where(x <= -1, torch.zeros_like(x), torch.where(x >= 1, x, (x + 1).square() / 4))


def sparse_sigmoid(x):
    """0 for ``x <= -1``, ``(x + 1) / 2`` in between, 1 for ``x >= 1``: a piecewise-linear sigmoid."""
    return ((x + 1) / 2).clamp(0.0, 1.0)


def squareplus(x, b: float = 4):
    """``(x + sqrt(x**2 + b)) / 2`` (b default 4), a smooth ReLU."""
    if b < 0:
        raise ConfigError(f"squareplus: b must be non-negative, got {b}.")
    return (x + torch.sqrt(x.square() + b)) / 2


def sparsemax(x, axis: int = -1):
    """Euclidean projection of ``x`` onto the probability simplex along ``axis`` (Martins & Astudillo, 2016).

    Like softmax it sums to 1, but small logits get exactly 0.
    """
    z = x.movedim(axis, -1)
    z_sorted = torch.sort(z, dim=-1, descending=True).values
    k = torch.arange(1, z.shape[-1] + 1, dtype=z.dtype, device=z.device)
    cumsum = z_sorted.cumsum(-1)
    support = (1 + k * z_sorted) > cumsum
    k_z = support.sum(-1, keepdim=True)
    tau = (cumsum.gather(-1, k_z - 1) - 1) / k_z.to(z.dtype)
    return torch.relu(z - tau).movedim(-1, axis)


def threshold(x, threshold: float, default_value: float):
    """``x`` where ``x > threshold``, else ``default_value``."""
    return torch.where(x > threshold, x, torch.full((), default_value, dtype=x.dtype, device=x.device))


_BY_NAME: dict[str, Callable] = {
    "linear": linear, "relu": relu, "relu6": relu6, "leaky_relu": leaky_relu, "sigmoid": sigmoid,
    "hard_sigmoid": hard_sigmoid, "softmax": softmax, "log_softmax": log_softmax, "tanh": tanh, "elu": elu,
    "selu": selu, "gelu": gelu, "silu": silu, "swish": silu, "softplus": softplus, "softsign": softsign,
    "exponential": exponential, "mish": mish, "celu": celu, "glu": glu, "hard_silu": hard_silu,
    "hard_swish": hard_silu, "hard_tanh": hard_tanh, "hard_shrink": hard_shrink, "soft_shrink": soft_shrink,
    "tanh_shrink": tanh_shrink, "log_sigmoid": log_sigmoid, "sparse_plus": sparse_plus,
    "sparse_sigmoid": sparse_sigmoid, "squareplus": squareplus, "sparsemax": sparsemax, "threshold": threshold,
}
_NAME_OF = {fn: name for name, fn in _BY_NAME.items() if name not in ("swish", "hard_swish")}


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


class ActivationAttribute:
    """A layer's ``activation`` attribute: what is assigned goes through :func:`get`, so ``None`` becomes
    :func:`linear`, as at construction. Keras programs set it on a built model; Grad-CAM takes the softmax off
    the classifier with ``model.layers[-1].activation = None``.

    Example:
        >>> import loom
        >>> layer = loom.layers.Dense(2, activation="softmax")
        >>> layer.activation = None
        >>> layer.activation is linear
        True
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self._slot = f"_{name}_fn"

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        return self if obj is None else obj.__dict__[self._slot]

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self._slot] = get(value)


def serialize(fn: Callable) -> Any:
    """The name of a built-in activation; other callables are described by module and qualified name."""
    if fn in _NAME_OF:
        return _NAME_OF[fn]
    return {"module": getattr(fn, "__module__", None), "qualname": getattr(fn, "__qualname__", repr(fn))}


def deserialize(config: Any, custom_objects: dict | None = None) -> Callable:
    """The activation a name or a Keras dict (``{"class_name": "function", "config": "relu", ...}``) names.

    ``custom_objects`` (name -> function) is searched before the built-ins.

    Raises:
        ConfigError: an unknown name or a malformed entry.
    """
    name = config
    if isinstance(config, dict):
        is_function = config.get("class_name") == "function"
        name = config.get("config") if is_function else config.get("registered_name") or config.get("class_name")
    if not isinstance(name, str):
        raise ConfigError(f"Cannot deserialize {config!r} as an activation: expected a name or a Keras entry.")
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if custom_objects and name.split(">")[-1] in custom_objects:
        return custom_objects[name.split(">")[-1]]
    return get(name)


_IN_PLACE = {relu: torch.relu_}

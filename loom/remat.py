"""Rematerialization (gradient checkpointing): ``RematScope``, as Keras's ``keras.RematScope``.

Layers created inside a ``RematScope`` recompute their activations during the backward pass instead of
keeping them (``torch.utils.checkpoint``), trading compute for memory. Modes, as Keras's:

- ``"full"``: every layer created in the scope;
- ``"activations"``: only the activation function of layers that have one;
- ``"larger_than"``: layers whose output has more than ``output_size_threshold`` elements per call;
- ``"list_of_layers"``: the layers named in ``layer_names``;
- ``None``: no rematerialization (inside an enclosing scope, turns it off).

Outputs and gradients are the same as without the scope; only peak memory and compute change. Nothing
is recomputed when no gradient is being recorded (inference).

Example:
    >>> import torch, loom
    >>> with loom.RematScope(mode="full"):
    ...     layer = loom.layers.Dense(3)
    >>> y = layer(torch.ones(2, 4, requires_grad=True))
    >>> y.sum().backward()
    >>> tuple(layer.kernel.grad.shape)
    (4, 3)
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import torch
from torch.utils.checkpoint import checkpoint

from loom.errors import ConfigError

__all__ = ["RematScope", "get_current_remat_mode", "remat"]

_MODES = ("full", "activations", "larger_than", "list_of_layers", None)
_ACTIVE: list["RematScope"] = []


class RematScope:
    """A scope whose layers rematerialize their activations (see the module docstring).

    Args:
        mode: ``"full"`` (default), ``"activations"``, ``"larger_than"``, ``"list_of_layers"`` or ``None``.
        output_size_threshold: for ``"larger_than"``, the output size (elements) above which a layer
            rematerializes (default 1024).
        layer_names: for ``"list_of_layers"``, the names of the layers that rematerialize.

    Example:
        >>> import loom
        >>> with loom.RematScope(mode="list_of_layers", layer_names=["big"]) as scope:
        ...     scope.mode, loom.remat.get_current_remat_mode() is scope
        ('list_of_layers', True)
    """

    def __init__(self, mode: str | None = "full", output_size_threshold: int = 1024,
                 layer_names: list[str] | None = None) -> None:
        if mode not in _MODES:
            raise ConfigError(f"RematScope: mode must be one of {list(_MODES)}; received mode={mode!r}.")
        if not isinstance(output_size_threshold, int) or output_size_threshold < 0:
            raise ConfigError("RematScope: output_size_threshold must be a non-negative integer; received "
                              f"{output_size_threshold!r}.")
        self.mode = mode
        self.output_size_threshold = output_size_threshold
        self.layer_names = list(layer_names or [])

    def __enter__(self) -> "RematScope":
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        _ACTIVE.remove(self)


def get_current_remat_mode() -> RematScope | None:
    """The innermost open :class:`RematScope` whose mode is not ``None``, else ``None``."""
    scope = _ACTIVE[-1] if _ACTIVE else None
    return scope if scope is not None and scope.mode is not None else None


def remat(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` wrapped so that, when gradients are recorded, its activations are recomputed in the backward pass.

    Example:
        >>> import torch
        >>> x = torch.ones(3, requires_grad=True)
        >>> remat(torch.sin)(x).sum().backward()
        >>> torch.allclose(x.grad, torch.cos(x))
        True
    """
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not torch.is_grad_enabled():
            return fn(*args, **kwargs)
        return checkpoint(fn, *args, use_reentrant=False, **kwargs)
    return wrapper


def rematerialized_call(layer: Any, scope: RematScope, args: tuple, kwargs: dict) -> Any:
    """Run ``layer.call`` under ``scope``'s mode (called by :meth:`loom.layers.Layer.forward`)."""
    if scope.mode == "full" or (scope.mode == "list_of_layers" and layer.name in scope.layer_names):
        return remat(layer.call)(*args, **kwargs)
    if scope.mode == "activations" and getattr(layer, "activation", None) is not None:
        original = layer.activation
        object.__setattr__(layer, "activation", remat(original))
        try:
            return layer.call(*args, **kwargs)
        finally:
            object.__setattr__(layer, "activation", original)
    if scope.mode == "larger_than" and _output_size(layer, args) > scope.output_size_threshold:
        return remat(layer.call)(*args, **kwargs)
    return layer.call(*args, **kwargs)


def _output_size(layer: Any, args: tuple) -> int:
    """Elements of the layer's output for these inputs (from ``compute_output_shape``, cached per input shape;
    0 when the layer cannot say)."""
    shapes = tuple(tuple(a.shape) for a in args if isinstance(a, torch.Tensor))
    cache = layer.__dict__.setdefault("_remat_output_sizes", {})
    if shapes not in cache:
        cache[shapes] = _size_of(layer, shapes)
    return cache[shapes]


def _size_of(layer: Any, shapes: tuple) -> int:
    if not shapes:
        return 0
    try:
        shape = layer.compute_output_shape(shapes[0] if len(shapes) == 1 else list(shapes))
    except Exception:  # noqa: BLE001 - a layer without shape inference rematerializes nothing
        return 0
    while isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple)):
        shape = shape[0]
    size = 1
    for dim in shape:
        size *= int(dim) if dim is not None else 1
    return size

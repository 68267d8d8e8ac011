"""Weight constraints (MaxNorm, NonNeg, UnitNorm, MinMaxNorm) with Keras's formulas and names.

A constraint is a projection ``w -> constraint(w)`` applied to a weight *after each optimizer step*, as
Keras does. Layers attach constraints to their weights with :func:`register`; the trainer calls
:func:`apply_constraints` right after ``optimizer.step()``.

Example:
    >>> import torch, loom
    >>> loom.constraints.NonNeg()(torch.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    >>> layer = loom.layers.Dense(2, kernel_constraint=loom.constraints.MaxNorm(1.0))
    >>> _ = layer(torch.ones(1, 3))
    >>> with torch.no_grad():
    ...     _ = layer.kernel.mul_(10.0)
    >>> loom.constraints.apply_constraints(layer)
    >>> bool((layer.kernel.norm(dim=0) <= 1.0 + 1e-6).all())
    True
"""

from __future__ import annotations

from typing import Any

import torch

from loom import backend, config
from loom.errors import ConfigError




def _norms(w: torch.Tensor, axis: Any) -> torch.Tensor:
    dims = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    return torch.sqrt(torch.sum(torch.square(w), dim=dims, keepdim=True))


class Constraint:
    """Base class: ``constraint(w) -> projected w``. The identity projection by default."""

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        return w

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Constraint":
        return cls(**config)


class MaxNorm(Constraint):
    """Rescale weight vectors whose L2 norm along ``axis`` exceeds ``max_value``.

    Args:
        max_value: the largest allowed norm (default 2).
        axis: the axis (or list of axes) the norm is taken over (default 0: for a Dense kernel
            ``(in, out)``, each unit's incoming weights; use ``[0, 1, 2]`` for a Conv2D kernel).

    Example:
        >>> import torch
        >>> MaxNorm(1.0)(torch.tensor([[3.0], [4.0]])).flatten()
        tensor([0.6000, 0.8000])
    """

    def __init__(self, max_value: float = 2, axis: Any = 0):
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = torch.clamp(norms, 0, self.max_value)
        return w * (desired / (config.epsilon() + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Clip weights at zero from below. Example: ``NonNeg()(torch.tensor([-1.0]))`` -> ``tensor([0.])``."""

    def __call__(self, w):
        return torch.clamp(w, min=0)


class UnitNorm(Constraint):
    """Scale weight vectors to unit L2 norm along ``axis`` (default 0).

    Example:
        >>> import torch
        >>> UnitNorm()(torch.tensor([[3.0], [4.0]])).flatten()
        tensor([0.6000, 0.8000])
    """

    def __init__(self, axis: Any = 0):
        self.axis = axis

    def __call__(self, w):
        return w / (config.epsilon() + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Keep the L2 norm along ``axis`` between ``min_value`` and ``max_value``, moving by ``rate``.

    The new norm is ``rate * clip(norm, min_value, max_value) + (1 - rate) * norm``.

    Args:
        min_value: the smallest allowed norm (default 0.0).
        max_value: the largest allowed norm (default 1.0).
        rate: how strictly to enforce it, 1.0 = exactly (default 1.0).
        axis: the norm axis or axes (default 0).

    Example:
        >>> import torch
        >>> MinMaxNorm(2.0, 3.0)(torch.tensor([[0.6], [0.8]])).flatten()
        tensor([1.2000, 1.6000])
    """

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0, axis: Any = 0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = self.rate * torch.clamp(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (config.epsilon() + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm
_CLASSES = {cls.__name__: cls for cls in (Constraint, MaxNorm, NonNeg, UnitNorm, MinMaxNorm)}
_BY_NAME = {**_CLASSES, **{backend.snake_case(name): cls for name, cls in _CLASSES.items()}}


def get(identifier: Any) -> Constraint | None:
    """Resolve ``None``, a name (``'max_norm'``, ``'NonNeg'``), a config dict, a class or an instance.

    Raises:
        ConfigError: an unknown name; the message lists the valid ones.
    """
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier)
        if cls is None:
            raise ConfigError(f"Unknown constraint {identifier!r}. Valid: {sorted(_BY_NAME)}")
        return cls()
    if isinstance(identifier, dict) and "class_name" in identifier:
        cls = _CLASSES.get(identifier["class_name"])
        if cls is None:
            return deserialize(identifier)
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, type) and issubclass(identifier, Constraint):
        return identifier()
    if callable(identifier):
        return identifier
    raise ConfigError(f"Cannot interpret {identifier!r} as a constraint. Valid: {sorted(_BY_NAME)}")


def serialize(constraint: Any) -> dict | None:
    """Keras's ``{'module', 'class_name', 'config', 'registered_name'}`` (``None`` stays ``None``)."""
    if constraint is None:
        return None
    if not isinstance(constraint, Constraint):
        raise ConfigError(f"Cannot serialize {constraint!r}: only loom.constraints.Constraint subclasses have a "
                          f"config.")
    from loom.saving import serialize_keras_object
    return serialize_keras_object(constraint)


def deserialize(config: Any, custom_objects: dict | None = None) -> Constraint | None:
    """The constraint a :func:`serialize` dict (or a name) describes; ``custom_objects`` holds custom classes.

    Raises:
        ConfigError: an unknown class or a bad config.
    """
    if not isinstance(config, dict):
        return get(config)
    from loom.saving import deserialize_keras_object
    return deserialize_keras_object(config, custom_objects=custom_objects)


def register(layer: torch.nn.Module, weight_name: str, constraint: Any) -> None:
    """Attach ``constraint`` (anything :func:`get` accepts; ``None`` does nothing) to ``layer``'s weight.

    Layers call this in ``build`` right after ``add_weight``; :func:`apply_constraints` then projects the
    weight after each optimizer step.
    """
    constraint = get(constraint)
    if constraint is None:
        return
    layer.__dict__.setdefault("_constraints", {})[weight_name] = constraint


def apply_constraints(model: torch.nn.Module) -> None:
    """Project every constrained weight of ``model`` (and its sublayers) in place, without autograd.

    The trainer calls this once after each ``optimizer.step()`` (Keras applies constraints right after
    the gradient update). Models without constraints cost one pass over ``model.modules()``; the trainer
    can skip the call entirely when :func:`has_constraints` is false.
    """
    with torch.no_grad():
        for module in model.modules():
            for name, constraint in module.__dict__.get("_constraints", {}).items():
                weight = getattr(module, name)
                to_keras = getattr(module, "weight_to_keras", None)
                if to_keras is None:
                    weight.copy_(constraint(weight))
                else:  # constraint axes are Keras's: project in Keras layout, store back in torch layout
                    projected = constraint(to_keras(name, weight))
                    weight.copy_(module.weight_from_keras(name, projected))


def has_constraints(model: torch.nn.Module) -> bool:
    """Whether any weight of ``model`` has a constraint (so the trainer can skip :func:`apply_constraints`)."""
    return any(module.__dict__.get("_constraints") for module in model.modules())


__all__ = ["Constraint", "MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm", "max_norm", "non_neg",
           "unit_norm", "min_max_norm", "get", "serialize", "deserialize", "register", "apply_constraints",
           "has_constraints"]

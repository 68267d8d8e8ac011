"""Weight regularizers (L1, L2, L1L2) with Keras's formulas: ``l1 * sum|w|`` and ``l2 * sum w**2``.

Example:
    >>> import torch, loom
    >>> loom.regularizers.L2(0.5)(torch.tensor([1.0, 2.0]))
    tensor(2.5000)
"""

from __future__ import annotations

from typing import Any

import torch

from loom.errors import ConfigError


class Regularizer:
    """Base class: ``reg(weight) -> scalar tensor`` added to the training loss."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Regularizer":
        return cls(**config)


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x**2)``; both default 0.0. Example: ``L1L2(l1=0.01, l2=0.01)``."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        for name, v in (("l1", l1), ("l2", l2)):
            if v is None or v < 0:
                raise ConfigError(f"{type(self).__name__}: {name} must be a non-negative number, got {v!r}.")
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x):
        total = x.new_zeros(())
        if self.l1:
            total = total + self.l1 * x.abs().sum()
        if self.l2:
            total = total + self.l2 * x.square().sum()
        return total

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """``l1 * sum(|x|)`` (l1 default 0.01). Example: ``L1(0.001)``."""

    def __init__(self, l1: float = 0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """``l2 * sum(x**2)`` (l2 default 0.01). Example: ``L2(0.001)``."""

    def __init__(self, l2: float = 0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (or columns) of a 2D weight towards orthogonality, as Keras.

    The penalty is ``factor * 0.5 * sum(|P - diag(P)|) / (n (n - 1) / 2)`` where ``P`` holds the cosine
    similarities of the ``n`` L2-normalised rows (``mode='rows'``) or columns (``'columns'``).

    Args:
        factor: the penalty's scale (default 0.01).
        mode: ``'rows'`` (default) or ``'columns'``.

    Example:
        >>> import torch
        >>> OrthogonalRegularizer(1.0)(torch.eye(3))
        tensor(0.)
    """

    def __init__(self, factor: float = 0.01, mode: str = "rows"):
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 <= factor < float("inf"):
            raise ConfigError(f"OrthogonalRegularizer: factor must be a non-negative number, got {factor!r}.")
        if mode not in ("rows", "columns"):
            raise ConfigError(f"OrthogonalRegularizer: mode must be 'rows' or 'columns', got {mode!r}.")
        self.factor, self.mode = float(factor), mode

    def __call__(self, x):
        if x.dim() != 2:
            raise ConfigError(f"OrthogonalRegularizer: the weight must have rank 2, got shape {tuple(x.shape)}.")
        v = x if self.mode == "rows" else x.T
        v = v / v.norm(dim=1, keepdim=True).clamp_min(1e-12)
        product = v @ v.T
        n = v.shape[0]
        off_diagonal = product * (1.0 - torch.eye(n, dtype=x.dtype, device=x.device))
        return self.factor * 0.5 * off_diagonal.abs().sum() / (n * (n - 1.0) / 2.0)

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


l1, l2, l1_l2, orthogonal_regularizer = L1, L2, L1L2, OrthogonalRegularizer
_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2, "L1": L1, "L2": L2, "L1L2": L1L2,
            "orthogonal_regularizer": OrthogonalRegularizer, "OrthogonalRegularizer": OrthogonalRegularizer}


def get(identifier: Any) -> Regularizer | None:
    """Resolve ``None``, ``'l1'`` / ``'l2'`` / ``'l1_l2'``, a config dict or an instance."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise ConfigError(f"Unknown regularizer {identifier!r}. Valid: {sorted(_BY_NAME)}")
        return _BY_NAME[identifier]()
    if isinstance(identifier, dict) and "class_name" in identifier:
        cls = _BY_NAME.get(identifier["class_name"])
        if cls is None:
            return deserialize(identifier)
        return cls(**identifier.get("config", {}))
    if callable(identifier):
        return identifier
    raise ConfigError(f"Cannot interpret {identifier!r} as a regularizer.")


def serialize(regularizer: Regularizer | None) -> dict | None:
    """Keras's ``{'module', 'class_name', 'config', 'registered_name'}`` (``None`` stays ``None``)."""
    if regularizer is None:
        return None
    from loom.saving import serialize_keras_object
    return serialize_keras_object(regularizer)


def deserialize(config: Any, custom_objects: dict | None = None) -> Regularizer | None:
    """The regularizer a :func:`serialize` dict (or a name) describes; ``custom_objects`` holds custom classes.

    Raises:
        ConfigError: an unknown class or a bad config.
    """
    if not isinstance(config, dict):
        return get(config)
    from loom.saving import deserialize_keras_object
    return deserialize_keras_object(config, custom_objects=custom_objects)

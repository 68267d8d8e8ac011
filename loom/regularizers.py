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


def l1_l2(l1: float = 0.01, l2: float = 0.01) -> L1L2:
    """Keras's ``regularizers.l1_l2`` helper (both 0.01 by default)."""
    return L1L2(l1=l1, l2=l2)


l1, l2 = L1, L2
_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": l1_l2, "l1l2": L1L2, "L1": L1, "L2": L2, "L1L2": L1L2}


def get(identifier: Any) -> Regularizer | None:
    """Resolve ``None``, ``'l1'`` / ``'l2'`` / ``'l1_l2'``, a config dict or an instance."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise ConfigError(f"Unknown regularizer {identifier!r}. Valid: ['l1', 'l2', 'l1_l2']")
        return _BY_NAME[identifier]()
    if isinstance(identifier, dict) and "class_name" in identifier:
        cls = _BY_NAME.get(identifier["class_name"])
        if cls is None:
            raise ConfigError(f"Unknown regularizer {identifier['class_name']!r}. Valid: ['L1', 'L2', 'L1L2']")
        return cls(**identifier.get("config", {}))
    if callable(identifier):
        return identifier
    raise ConfigError(f"Cannot interpret {identifier!r} as a regularizer.")


def serialize(reg: Regularizer | None) -> dict | None:
    if reg is None:
        return None
    return {"class_name": type(reg).__name__, "config": reg.get_config()}

"""What a layer accepts: rank and fixed axis sizes, checked when the layer is called.

Example:
    >>> spec = InputSpec(min_ndim=2, axes={-1: 64})
    >>> spec.check("dense", (None, 64))
    >>> spec.check("dense", (None, 32))
    Traceback (most recent call last):
    ...
    loom.errors.ShapeError: Layer 'dense' expects axis -1 of its input to be 64, but got input shape (None, 32).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loom.errors import ConfigError, ShapeError


@dataclass
class InputSpec:
    """Constraints on one input, as ``keras.InputSpec``.

    Args:
        dtype: the dtype required (default ``None``: any).
        shape: the exact shape, ``None`` for any size of an axis (default ``None``); sets ``ndim``.
        ndim: the exact rank required (default ``None``: any).
        max_ndim: the largest rank allowed (default ``None``).
        min_ndim: the smallest rank allowed (default ``None``).
        axes: ``{axis: size}`` that the input's axes must have (default ``{}``).
        allow_last_axis_squeeze: accept a trailing axis of size 1 more or less (default ``False``).
        name: the input's name (default ``None``).
        optional: whether the input may be ``None`` (default ``False``).

    Example:
        >>> InputSpec(ndim=4, axes={-1: 3}).axes
        {-1: 3}
    """

    dtype: Any = None
    shape: tuple | None = None
    ndim: int | None = None
    max_ndim: int | None = None
    min_ndim: int | None = None
    axes: dict | None = None
    allow_last_axis_squeeze: bool = False
    name: str | None = None
    optional: bool = False

    def __post_init__(self) -> None:
        if self.shape is not None:
            self.shape = tuple(self.shape)
            self.ndim = len(self.shape)
        self.axes = dict(self.axes or {})
        for axis in self.axes:
            if self.ndim is not None and not -self.ndim <= axis < self.ndim:
                raise ConfigError(f"InputSpec: axis {axis} is out of range for ndim={self.ndim}.")

    def get_config(self) -> dict:
        """Keras's config of the spec."""
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim, "max_ndim": self.max_ndim,
                "min_ndim": self.min_ndim, "axes": self.axes, "optional": self.optional}

    @classmethod
    def from_config(cls, config: dict) -> "InputSpec":
        return cls(**config)

    def check(self, layer_name: str, shape: tuple) -> None:
        rank = len(shape)
        if self.ndim is not None and rank != self.ndim:
            raise ShapeError(f"Layer '{layer_name}' expects inputs of rank {self.ndim}, but got input shape "
                             f"{shape} (rank {rank}).")
        if self.min_ndim is not None and rank < self.min_ndim:
            raise ShapeError(f"Layer '{layer_name}' expects inputs of rank >= {self.min_ndim}, but got input "
                             f"shape {shape} (rank {rank}).")
        if self.max_ndim is not None and rank > self.max_ndim:
            raise ShapeError(f"Layer '{layer_name}' expects inputs of rank <= {self.max_ndim}, but got input "
                             f"shape {shape} (rank {rank}).")
        if self.shape is not None:
            for expected, got in zip(self.shape, shape):
                if expected is not None and got is not None and expected != got:
                    raise ShapeError(f"Layer '{layer_name}' expects inputs of shape {self.shape}, but got input "
                                     f"shape {shape}.")
        for axis, size in self.axes.items():
            if size is None or not -rank <= axis < rank:
                continue
            if shape[axis] is not None and shape[axis] != size:
                raise ShapeError(f"Layer '{layer_name}' expects axis {axis} of its input to be {size}, but got "
                                 f"input shape {shape}.")

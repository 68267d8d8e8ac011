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

from dataclasses import dataclass, field

from loom.errors import ShapeError


@dataclass
class InputSpec:
    """Constraints on one input: ``ndim``, ``min_ndim``, ``max_ndim`` and ``axes`` ({axis: size}).

    Args:
        ndim: the exact rank required (default ``None``: any).
        min_ndim: the smallest rank allowed (default ``None``).
        max_ndim: the largest rank allowed (default ``None``).
        axes: ``{axis: size}`` that the input's axes must have (default ``{}``).

    Example:
        >>> InputSpec(ndim=4, axes={-1: 3})
        InputSpec(ndim=4, min_ndim=None, max_ndim=None, axes={-1: 3})
    """

    ndim: int | None = None
    min_ndim: int | None = None
    max_ndim: int | None = None
    axes: dict = field(default_factory=dict)

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
        for axis, size in self.axes.items():
            if size is None or not -rank <= axis < rank:
                continue
            if shape[axis] is not None and shape[axis] != size:
                raise ShapeError(f"Layer '{layer_name}' expects axis {axis} of its input to be {size}, but got "
                                 f"input shape {shape}.")

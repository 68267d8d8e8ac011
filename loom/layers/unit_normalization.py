"""``UnitNormalization``: scale each input to unit L2 norm along ``axis``.

Example:
    >>> import torch, loom
    >>> loom.layers.UnitNormalization()(torch.tensor([[3.0, 4.0]])).tolist()
    [[0.6000000238418579, 0.800000011920929]]
"""

from __future__ import annotations

from typing import Any

import torch

from loom.errors import ConfigError, ShapeError
from loom.layers.layer import Layer


def axis_list(value: Any, layer: str, kind: str) -> int | list[int]:
    """``axis`` as an int or a list of ints (as given); ConfigError otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, (list, tuple)) and value and all(isinstance(a, int) and not isinstance(a, bool)
                                                          for a in value):
        return list(value)
    raise ConfigError(f"{kind} '{layer}': axis must be an int or a list of ints, got {value!r}.")


def check_axes(axes: list[int], rank: int, layer: str, kind: str) -> list[int]:
    """``axes`` as non-negative axes of a rank-``rank`` input, none of them the batch axis."""
    out = [a + rank if a < 0 else a for a in axes]
    if any(not 0 < a < rank for a in out):
        raise ShapeError(f"{kind} '{layer}': axis {axes} is out of range for inputs of rank {rank} (the batch axis "
                         f"cannot be normalized).")
    return out


class UnitNormalization(Layer):
    """``x / max(||x||_2, 1e-12)`` over ``axis`` (Keras computes ``x * min(rsqrt(sum(x**2)), 1e12)``).

    Each sample is scaled to unit L2 norm over the axes of ``axis``; the other axes are independent. No
    weights; masks pass through.

    Args:
        axis: an int or a list of ints, the axes to normalize over; not the batch axis (default -1).

    Input shape:
        Any rank of at least 2, batch axis first.

    Output shape:
        The input's.

    Returns:
        ``inputs * min(rsqrt(sum(inputs**2 over axis)), 1e12)``: unit L2 norm over ``axis`` (zeros stay zeros).

    Raises:
        ConfigError: an ``axis`` that is not an int or a list of ints.
        ShapeError: an ``axis`` out of range for the input, or the batch axis.

    Example:
        >>> import torch
        >>> out = UnitNormalization(axis=[1, 2])(torch.ones(2, 2, 2))
        >>> out.pow(2).sum(dim=(1, 2)).tolist()
        [1.0, 1.0]
    """

    supports_masking = True

    def __init__(self, axis: Any = -1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis_list(axis, self.name, "UnitNormalization")

    def build(self, input_shape):
        check_axes(self.axis if isinstance(self.axis, list) else [self.axis], len(input_shape), self.name,
                   "UnitNormalization")

    def call(self, inputs):
        dims = self.axis if isinstance(self.axis, int) else tuple(self.axis)
        inverse_norm = torch.rsqrt(inputs.square().sum(dim=dims, keepdim=True)).clamp(max=1e12)
        return inputs * inverse_norm

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}

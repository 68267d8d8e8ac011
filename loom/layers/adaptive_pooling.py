"""Adaptive pooling: ``AdaptiveAveragePooling1D/2D/3D`` and ``AdaptiveMaxPooling1D/2D/3D``.

The output has a fixed spatial size whatever the input's: the input is cut into ``output_size`` windows
(window ``i`` of an axis of length ``L`` spans ``floor(i * L / n)`` to ``ceil((i + 1) * L / n)``, as torch's
adaptive pooling, which Keras's torch backend uses) and each window is averaged or maxed.

Example:
    >>> import loom
    >>> loom.layers.AdaptiveAveragePooling2D((2, 3))(loom.Input((7, 9, 4))).shape
    (None, 2, 3, 4)
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F

from loom.layers.conv_base import data_format_arg, int_tuple
from loom.layers.input_spec import InputSpec
from loom.layers.layer import Layer

_POOLS = {("average", 1): F.adaptive_avg_pool1d, ("average", 2): F.adaptive_avg_pool2d,
          ("average", 3): F.adaptive_avg_pool3d, ("max", 1): F.adaptive_max_pool1d,
          ("max", 2): F.adaptive_max_pool2d, ("max", 3): F.adaptive_max_pool3d}


class BaseAdaptivePooling(Layer):
    """Adaptive pooling over ``rank`` spatial axes (no weights).

    Args:
        output_size: an int or ``rank`` ints, the spatial size of the output.
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
    """

    rank = 1
    mode = "average"

    def __init__(self, output_size: Any, data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        owner = f"{type(self).__name__} '{self.name}'"
        self.output_size = int_tuple(output_size, self.rank, "output_size", owner)
        self.data_format = data_format_arg(data_format, owner)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self._pool = _POOLS[(self.mode, self.rank)]
        self.built = True

    def call(self, inputs):
        size = self.output_size[0] if self.rank == 1 else self.output_size
        if self.data_format == "channels_first":
            return self._pool(inputs, size)
        x = inputs.movedim(-1, 1)
        return self._pool(x, size).movedim(1, -1)

    def get_config(self):
        return {**super().get_config(), "output_size": self.output_size, "data_format": self.data_format}


def _doc(kind: str, rank: int, example_in: str, example_out: str) -> str:
    return f"""Adaptive {kind} pooling over {rank} spatial axes to a fixed ``output_size``.

    Args:
        output_size: an int or {rank} ints, the spatial size of the output.
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.

    Example:
        >>> import torch, loom
        >>> loom.layers.Adaptive{kind.capitalize()}Pooling{rank}D(2)(torch.ones{example_in}).shape
        torch.Size({example_out})
    """


class AdaptiveAveragePooling1D(BaseAdaptivePooling):
    __doc__ = _doc("average", 1, "(1, 7, 3)", "[1, 2, 3]")
    rank, mode = 1, "average"


class AdaptiveAveragePooling2D(BaseAdaptivePooling):
    __doc__ = _doc("average", 2, "(1, 7, 5, 3)", "[1, 2, 2, 3]")
    rank, mode = 2, "average"


class AdaptiveAveragePooling3D(BaseAdaptivePooling):
    __doc__ = _doc("average", 3, "(1, 7, 5, 4, 3)", "[1, 2, 2, 2, 3]")
    rank, mode = 3, "average"


class AdaptiveMaxPooling1D(BaseAdaptivePooling):
    __doc__ = _doc("max", 1, "(1, 7, 3)", "[1, 2, 3]")
    rank, mode = 1, "max"


class AdaptiveMaxPooling2D(BaseAdaptivePooling):
    __doc__ = _doc("max", 2, "(1, 7, 5, 3)", "[1, 2, 2, 3]")
    rank, mode = 2, "max"


class AdaptiveMaxPooling3D(BaseAdaptivePooling):
    __doc__ = _doc("max", 3, "(1, 7, 5, 4, 3)", "[1, 2, 2, 2, 3]")
    rank, mode = 3, "max"

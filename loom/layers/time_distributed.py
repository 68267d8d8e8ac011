"""``TimeDistributed``: apply one layer to every time step of a sequence, with shared weights.

The time axis is folded into the batch (``(batch, time, ...)`` -> ``(batch * time, ...)``), the layer runs
once, and the result is unfolded. This is exact for layers that treat samples independently (Dense, Conv2D,
pooling...). For a layer with batch statistics in training mode (BatchNormalization) the statistics cover
all time steps together, where Keras's torch backend computes them step by step.

Example:
    >>> import loom
    >>> x = loom.Input((10, 28, 28, 1))
    >>> y = loom.layers.TimeDistributed(loom.layers.Conv2D(8, 3))(x)
    >>> y.shape
    (None, 10, 26, 26, 8)
"""

from __future__ import annotations

from typing import Any

import torch

from loom import structure
from loom.errors import ShapeError
from loom.layers.input_spec import InputSpec
from loom.layers.layer import Layer
from loom.layers.wrapper import Wrapper


class TimeDistributed(Wrapper):
    """Apply ``layer`` to every slice ``inputs[:, t]`` along axis 1.

    The wrapped layer is built for ``(batch, *inputs.shape[2:])`` and its weights are this layer's weights.
    A ``(batch, time)`` mask is passed to the wrapped layer (folded like the inputs) when its ``call``
    takes one, and passes through unchanged.

    Args:
        layer: a loom ``Layer`` instance.

    Input shape:
        ``(batch, timesteps, ...)``: the wrapped layer sees ``(batch * timesteps, ...)``.

    Output shape:
        ``(batch, timesteps, ...)`` with the wrapped layer's output shape per step.

    Returns:
        The wrapped layer applied to every time step.

    Raises:
        ConfigError: ``layer`` is not a layer.
        ShapeError: an input of rank below 3.

    Example:
        >>> import torch, loom
        >>> td = loom.layers.TimeDistributed(loom.layers.Dense(4))
        >>> td(torch.ones(2, 5, 3)).shape
        torch.Size([2, 5, 4])
    """

    _inference_in_pieces = False  # runs code loom does not know

    supports_masking = True

    def __init__(self, layer: Layer, **kwargs):
        super().__init__(layer, **kwargs)
        self.input_spec = InputSpec(min_ndim=3)

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) < 3:
            raise ShapeError(f"TimeDistributed '{self.name}' needs inputs of rank >= 3 (batch, time, ...), got "
                             f"input shape {input_shape}.")
        self.layer._maybe_build((input_shape[0],) + input_shape[2:])

    def call(self, inputs, mask=None):
        if inputs.dim() < 3:
            raise ShapeError(f"TimeDistributed '{self.name}' needs inputs of rank >= 3 (batch, time, ...), got "
                             f"input shape {tuple(inputs.shape)}.")
        batch, steps = inputs.shape[0], inputs.shape[1]
        kwargs = {}
        if mask is not None and self.layer._call_takes_mask:
            kwargs["mask"] = mask.reshape((batch * steps,) + tuple(mask.shape[2:]))
        outputs = self.layer(inputs.reshape((batch * steps,) + tuple(inputs.shape[2:])), **kwargs)
        return structure.map_structure(lambda y: _unfold(y, batch, steps), outputs)


def _unfold(y: Any, batch: int, steps: int) -> Any:
    if not isinstance(y, torch.Tensor):
        return y
    return y.reshape((batch, steps) + tuple(y.shape[1:]))

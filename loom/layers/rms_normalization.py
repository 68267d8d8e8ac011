"""``RMSNormalization``: ``x / sqrt(mean(x**2) + epsilon) * scale`` over ``axis`` (Zhang and Sennrich, 2019).

Example:
    >>> import torch, loom
    >>> layer = loom.layers.RMSNormalization()
    >>> layer(torch.tensor([[3.0, 4.0]])).pow(2).mean().item() > 0.99
    True
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from loom.errors import ConfigError
from loom.layers.layer import Layer
from loom.layers.unit_normalization import axis_list, check_axes


class RMSNormalization(Layer):
    """Root-mean-square normalization with a learned ``scale`` over the normalized axes.

    Each sample is divided by the root mean square of its values over ``axis`` (no mean is subtracted) and
    multiplied by ``scale`` (initialized to ones), which has the sizes of the normalized axes.

    Args:
        axis: an int or a list of ints, the axes to normalize over; not the batch axis (default -1). As in
            Keras, it is a sorted list once the layer is built.
        epsilon: a non-negative number added to the mean square (default 1e-6).

    Input shape:
        Any rank of at least 2, batch axis first; the sizes on ``axis`` must be known.

    Output shape:
        The input's.

    Returns:
        ``inputs * rsqrt(mean(inputs**2 over axis) + epsilon) * scale``.

    Raises:
        ConfigError: an ``axis`` that is not an int or a list of ints, a negative ``epsilon``, or an unknown
            size on ``axis``.
        ShapeError: an ``axis`` out of range for the input, or the batch axis.

    Example:
        >>> import torch
        >>> layer = RMSNormalization(axis=[1, 2])
        >>> layer(torch.ones(2, 3, 4)).shape, [w.shape for w in layer.get_weights()]
        (torch.Size([2, 3, 4]), [(3, 4)])
        >>> out = RMSNormalization(epsilon=0.0)(torch.tensor([[3.0, 4.0]]))  # rms = sqrt(12.5)
        >>> [round(v, 4) for v in out[0].tolist()]
        [0.8485, 1.1314]
    """

    def __init__(self, axis: Any = -1, epsilon: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis_list(axis, self.name, "RMSNormalization")
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or epsilon < 0:
            raise ConfigError(f"RMSNormalization '{self.name}': epsilon must be a non-negative number, got "
                              f"{epsilon!r}.")
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        axes = sorted(self.axis) if isinstance(self.axis, list) else [self.axis]
        self._dims = check_axes(axes, len(input_shape), self.name, "RMSNormalization")
        shape = tuple(input_shape[a] for a in axes)
        if any(d is None for d in shape):
            raise ConfigError(f"RMSNormalization '{self.name}' needs known sizes on axis {axes}, got input shape "
                              f"{tuple(input_shape)}.")
        self.axis = axes
        self._trailing = self._dims == list(range(len(input_shape) - len(axes), len(input_shape)))
        self.add_weight("scale", shape, "ones")

    def call(self, inputs):
        if self._trailing:
            return F.rms_norm(inputs, tuple(self.scale.shape), self.scale, self.epsilon)
        rms = torch.rsqrt(inputs.square().mean(dim=self._dims, keepdim=True) + self.epsilon)
        shape = [inputs.shape[d] if d in self._dims else 1 for d in range(inputs.dim())]
        return inputs * rms * self.scale.reshape(shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}

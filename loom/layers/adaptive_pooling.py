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

from loom.layers.conv_base import check_rank, data_format_arg, int_tuple
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
        check_rank(self, inputs)
        size = self.output_size[0] if self.rank == 1 else self.output_size
        if self.data_format == "channels_first":
            return self._pool(inputs, size)
        x = inputs.movedim(-1, 1)
        return self._pool(x, size).movedim(1, -1)

    def get_config(self):
        return {**super().get_config(), "output_size": self.output_size, "data_format": self.data_format}


class AdaptiveAveragePooling1D(BaseAdaptivePooling):
    """Adaptive average pooling over the steps axis to a fixed ``output_size``.

    The steps axis is cut into ``output_size`` windows (overlapping when ``output_size`` does not divide its
    length) and each window is averaged, channel by channel. No weights.

    Args:
        output_size: the number of output steps, an int (or a tuple of 1 int).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``, ``'channels_last'`` unless set).

    Input shape:
        ``(batch, steps, channels)`` (channels last) or ``(batch, channels, steps)`` (channels first).

    Output shape:
        ``(batch, output_size, channels)`` or ``(batch, channels, output_size)``.

    Returns:
        The window averages, in the input's dtype.

    Raises:
        ConfigError: an ``output_size`` below 1 or of the wrong length, or an unknown ``data_format``.

    Example:
        >>> import torch, loom
        >>> x = torch.arange(6.0).reshape(1, 6, 1)
        >>> loom.layers.AdaptiveAveragePooling1D(3)(x).flatten().tolist()  # windows [0, 1], [2, 3], [4, 5]
        [0.5, 2.5, 4.5]
    """

    rank, mode = 1, "average"


class AdaptiveAveragePooling2D(BaseAdaptivePooling):
    """Adaptive average pooling over height and width to a fixed ``output_size``.

    Each spatial axis is cut into as many windows as ``output_size`` asks (overlapping when the output size
    does not divide the input's) and each window is averaged, channel by channel. No weights.

    Args:
        output_size: the output's ``(height, width)``: an int (both axes) or a tuple of 2 ints.
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``, ``'channels_last'`` unless set).

    Input shape:
        ``(batch, height, width, channels)`` (channels last) or ``(batch, channels, height, width)``.

    Output shape:
        ``(batch, *output_size, channels)`` or ``(batch, channels, *output_size)``.

    Returns:
        The window averages, in the input's dtype.

    Raises:
        ConfigError: an ``output_size`` below 1 or of the wrong length, or an unknown ``data_format``.

    Example:
        >>> import torch, loom
        >>> x = torch.arange(16.0).reshape(1, 4, 4, 1)
        >>> loom.layers.AdaptiveAveragePooling2D(2)(x)[0, :, :, 0].tolist()
        [[2.5, 4.5], [10.5, 12.5]]
        >>> loom.layers.AdaptiveAveragePooling2D((2, 3))(torch.ones(1, 7, 9, 4)).shape
        torch.Size([1, 2, 3, 4])
    """

    rank, mode = 2, "average"


class AdaptiveAveragePooling3D(BaseAdaptivePooling):
    """Adaptive average pooling over three spatial axes to a fixed ``output_size``.

    Each spatial axis is cut into as many windows as ``output_size`` asks (overlapping when the output size
    does not divide the input's) and each window is averaged, channel by channel. No weights.

    Args:
        output_size: the output's ``(dim1, dim2, dim3)``: an int (all three axes) or a tuple of 3 ints.
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``, ``'channels_last'`` unless set).

    Input shape:
        ``(batch, dim1, dim2, dim3, channels)`` (channels last) or ``(batch, channels, dim1, dim2, dim3)``.

    Output shape:
        ``(batch, *output_size, channels)`` or ``(batch, channels, *output_size)``.

    Returns:
        The window averages, in the input's dtype.

    Raises:
        ConfigError: an ``output_size`` below 1 or of the wrong length, or an unknown ``data_format``.

    Example:
        >>> import torch, loom
        >>> out = loom.layers.AdaptiveAveragePooling3D(2)(torch.ones(1, 7, 5, 4, 3))
        >>> out.shape, out.unique().tolist()
        (torch.Size([1, 2, 2, 2, 3]), [1.0])
    """

    rank, mode = 3, "average"


class AdaptiveMaxPooling1D(BaseAdaptivePooling):
    """Adaptive max pooling over the steps axis to a fixed ``output_size``.

    The steps axis is cut into ``output_size`` windows (overlapping when ``output_size`` does not divide its
    length) and each window's maximum is kept, channel by channel. No weights.

    Args:
        output_size: the number of output steps, an int (or a tuple of 1 int).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``, ``'channels_last'`` unless set).

    Input shape:
        ``(batch, steps, channels)`` (channels last) or ``(batch, channels, steps)`` (channels first).

    Output shape:
        ``(batch, output_size, channels)`` or ``(batch, channels, output_size)``.

    Returns:
        The window maxima, in the input's dtype.

    Raises:
        ConfigError: an ``output_size`` below 1 or of the wrong length, or an unknown ``data_format``.

    Example:
        >>> import torch, loom
        >>> x = torch.tensor([[[1.0], [5.0], [2.0], [0.0], [3.0]]])
        >>> loom.layers.AdaptiveMaxPooling1D(2)(x).flatten().tolist()  # windows [1, 5, 2] and [2, 0, 3]
        [5.0, 3.0]
    """

    rank, mode = 1, "max"


class AdaptiveMaxPooling2D(BaseAdaptivePooling):
    """Adaptive max pooling over height and width to a fixed ``output_size``.

    Each spatial axis is cut into as many windows as ``output_size`` asks (overlapping when the output size
    does not divide the input's) and each window's maximum is kept, channel by channel. No weights.

    Args:
        output_size: the output's ``(height, width)``: an int (both axes) or a tuple of 2 ints.
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``, ``'channels_last'`` unless set).

    Input shape:
        ``(batch, height, width, channels)`` (channels last) or ``(batch, channels, height, width)``.

    Output shape:
        ``(batch, *output_size, channels)`` or ``(batch, channels, *output_size)``.

    Returns:
        The window maxima, in the input's dtype.

    Raises:
        ConfigError: an ``output_size`` below 1 or of the wrong length, or an unknown ``data_format``.

    Example:
        >>> import torch, loom
        >>> x = torch.arange(16.0).reshape(1, 1, 4, 4)
        >>> loom.layers.AdaptiveMaxPooling2D(2, data_format="channels_first")(x)[0, 0].tolist()
        [[5.0, 7.0], [13.0, 15.0]]
    """

    rank, mode = 2, "max"


class AdaptiveMaxPooling3D(BaseAdaptivePooling):
    """Adaptive max pooling over three spatial axes to a fixed ``output_size``.

    Each spatial axis is cut into as many windows as ``output_size`` asks (overlapping when the output size
    does not divide the input's) and each window's maximum is kept, channel by channel. No weights.

    Args:
        output_size: the output's ``(dim1, dim2, dim3)``: an int (all three axes) or a tuple of 3 ints.
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``, ``'channels_last'`` unless set).

    Input shape:
        ``(batch, dim1, dim2, dim3, channels)`` (channels last) or ``(batch, channels, dim1, dim2, dim3)``.

    Output shape:
        ``(batch, *output_size, channels)`` or ``(batch, channels, *output_size)``.

    Returns:
        The window maxima, in the input's dtype.

    Raises:
        ConfigError: an ``output_size`` below 1 or of the wrong length, or an unknown ``data_format``.

    Example:
        >>> import torch, loom
        >>> loom.layers.AdaptiveMaxPooling3D((1, 2, 3))(torch.ones(2, 6, 6, 6, 1)).shape
        torch.Size([2, 1, 2, 3, 1])
    """

    rank, mode = 3, "max"

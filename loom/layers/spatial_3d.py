"""Volumetric reshaping: ``UpSampling3D``, ``ZeroPadding3D``, ``Cropping3D`` on ``(batch, d1, d2, d3, channels)``.

Example:
    >>> import loom
    >>> x = loom.Input((4, 4, 4, 2))
    >>> loom.layers.UpSampling3D()(x).shape
    (None, 8, 8, 8, 2)
    >>> loom.layers.ZeroPadding3D(((1, 0), (0, 0), (2, 2)))(x).shape
    (None, 5, 4, 8, 2)
    >>> loom.layers.Cropping3D(1)(x).shape
    (None, 2, 2, 2, 2)
"""

from __future__ import annotations

from typing import Any

from loom.layers.conv_base import check_rank, data_format_arg, int_tuple
from loom.layers.spatial import _Cropping, _repeat_axes, _SpatialReshape, _ZeroPadding


class UpSampling3D(_SpatialReshape):
    """Repeat each element ``size`` times along the three spatial axes (nearest-neighbour upsampling).

    Args:
        size: an int (all three axes) or 3 ints, the positive repeat factors of ``(dim1, dim2, dim3)``
            (default ``(2, 2, 2)``).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``, ``'channels_last'`` unless set).

    Input shape:
        ``(batch, dim1, dim2, dim3, channels)`` (channels last) or ``(batch, channels, dim1, dim2, dim3)``.

    Output shape:
        ``(batch, dim1 * size[0], dim2 * size[1], dim3 * size[2], channels)``, or the channels-first order.

    Returns:
        The upsampled input (no weights, no interpolation).

    Raises:
        ConfigError: a ``size`` below 1 or of the wrong length, or an unknown ``data_format``.
        ShapeError: an input whose rank is not 5.

    Example:
        >>> import torch
        >>> x = torch.arange(2.0).reshape(1, 1, 1, 2, 1)
        >>> out = UpSampling3D((1, 2, 3))(x)
        >>> out.shape, out[0, 0, 0, :, 0].tolist()
        (torch.Size([1, 1, 2, 6, 1]), [0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    """

    rank = 3

    def __init__(self, size: Any = (2, 2, 2), data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.size = int_tuple(size, 3, "size", self._owner())
        self.data_format = data_format_arg(data_format, self._owner())
        self._axes = (1, 2, 3) if self.data_format == "channels_last" else (2, 3, 4)

    def call(self, inputs):
        check_rank(self, inputs)
        return _repeat_axes(inputs, self._axes, self.size)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format}


class ZeroPadding3D(_ZeroPadding):
    """Add zeros around volumes along the three spatial axes.

    Args:
        padding: an int (every side), 3 ints ``(d1, d2, d3)`` (both sides of each axis) or 3 pairs
            ``((d1_start, d1_end), (d2_start, d2_end), (d3_start, d3_end))``; non-negative (default
            ``((1, 1), (1, 1), (1, 1))``).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``, ``'channels_last'`` unless set).

    Input shape:
        ``(batch, dim1, dim2, dim3, channels)`` (channels last) or ``(batch, channels, dim1, dim2, dim3)``.

    Output shape:
        Each spatial axis grows by its start and end padding; batch and channels are unchanged.

    Returns:
        The zero-padded input.

    Raises:
        ConfigError: a negative or malformed ``padding``, or an unknown ``data_format``.
        ShapeError: an input whose rank is not 5.

    Example:
        >>> import torch
        >>> out = ZeroPadding3D((1, 0, 2))(torch.ones(1, 2, 2, 2, 3))
        >>> out.shape, out.sum().item()  # the 24 ones are kept, the rest is zeros
        (torch.Size([1, 4, 2, 6, 3]), 24.0)
    """

    rank = 3

    def __init__(self, padding: Any = ((1, 1), (1, 1), (1, 1)), data_format: str | None = None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class Cropping3D(_Cropping):
    """Cut the borders of volumes along the three spatial axes.

    Args:
        cropping: an int (every side), 3 ints ``(d1, d2, d3)`` (both sides of each axis) or 3 pairs
            ``((d1_start, d1_end), (d2_start, d2_end), (d3_start, d3_end))``; non-negative (default
            ``((1, 1), (1, 1), (1, 1))``).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``, ``'channels_last'`` unless set).

    Input shape:
        ``(batch, dim1, dim2, dim3, channels)`` (channels last) or ``(batch, channels, dim1, dim2, dim3)``.

    Output shape:
        Each spatial axis shrinks by its start and end cropping; batch and channels are unchanged.

    Returns:
        The cropped input.

    Raises:
        ConfigError: a negative or malformed ``cropping``, or an unknown ``data_format``.
        ShapeError: an input whose rank is not 5, or a cropping that leaves no element on an axis.

    Example:
        >>> import torch
        >>> Cropping3D(((1, 0), (0, 0), (1, 1)))(torch.ones(1, 3, 3, 3, 2)).shape
        torch.Size([1, 2, 3, 1, 2])
        >>> Cropping3D(1, data_format="channels_first")(torch.ones(1, 2, 4, 4, 4)).shape
        torch.Size([1, 2, 2, 2, 2])
    """

    rank = 3

    def __init__(self, cropping: Any = ((1, 1), (1, 1), (1, 1)), data_format: str | None = None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)

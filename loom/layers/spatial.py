"""Spatial reshaping: ``UpSampling1D``, ``UpSampling2D``, ``ZeroPadding1D``, ``ZeroPadding2D``,
``Cropping1D``, ``Cropping2D``, with Keras 3's arguments and results.

Example:
    >>> import loom
    >>> x = loom.Input((8, 8, 3))
    >>> loom.layers.UpSampling2D()(x).shape
    (None, 16, 16, 3)
    >>> loom.layers.ZeroPadding2D(((1, 2), (0, 1)))(x).shape
    (None, 11, 9, 3)
    >>> loom.layers.Cropping2D(2)(x).shape
    (None, 4, 4, 3)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from loom.errors import ConfigError, ShapeError
from loom.layers.conv_base import check_rank, data_format_arg, flat_pad, int_tuple, is_int
from loom.layers.input_spec import InputSpec
from loom.layers.layer import Layer

_INTERPOLATIONS = ("nearest", "bilinear", "bicubic")


class _SpatialReshape(Layer):
    """Base of the spatial reshaping layers (no weights); subclasses check eager inputs with ``check_rank``."""

    rank = 1

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self.built = True

    def _owner(self) -> str:
        return f"{type(self).__name__} '{self.name}'"

    def _pairs(self, value: Any, arg: str) -> tuple:
        """A padding or cropping argument as ``(before, after)`` ints (rank 1) or one such pair per spatial axis:
        an int (every side), ``rank`` ints (each axis symmetric) or ``rank`` pairs."""
        if self.rank == 1:
            return int_tuple(value, 2, arg, self._owner(), allow_zero=True)
        if is_int(value):
            value = (value,) * self.rank
        if not isinstance(value, (tuple, list)) or len(value) != self.rank:
            raise ConfigError(f"{self._owner()}: `{arg}` must be an int, a tuple of {self.rank} ints or a tuple of "
                              f"{self.rank} tuples of 2 ints, got {value!r}.")
        return tuple(int_tuple(v, 2, arg, self._owner(), allow_zero=True) for v in value)


def _repeat_axes(x: torch.Tensor, axes: tuple[int, ...], factors: tuple[int, ...]) -> torch.Tensor:
    """Repeat every element ``factor`` times along each axis (nearest-neighbour upsampling), one copy."""
    shape, expanded = list(x.shape), list(x.shape)
    for axis, factor in sorted(zip(axes, factors), reverse=True):
        x = x.unsqueeze(axis + 1)
        expanded.insert(axis + 1, factor)
        shape[axis] *= factor
    return x.expand(expanded).reshape(shape)


class UpSampling1D(_SpatialReshape):
    """Repeat each step ``size`` times along the time axis of ``(batch, steps, features)``.

    Args:
        size: the repetition factor, a positive int (default 2).

    Input shape:
        ``(batch, steps, features)``.

    Output shape:
        ``(batch, steps * size, features)``.

    Returns:
        The input with each step repeated ``size`` times.

    Raises:
        ConfigError: a non-positive ``size``.

    Example:
        >>> import torch, loom
        >>> loom.layers.UpSampling1D(2)(torch.tensor([[[1.0], [2.0]]])).flatten().tolist()
        [1.0, 1.0, 2.0, 2.0]
    """

    rank = 1

    def __init__(self, size: int = 2, **kwargs):
        super().__init__(**kwargs)
        if not is_int(size) or size <= 0:
            raise ConfigError(f"{self._owner()}: `size` must be a positive int, got {size!r}.")
        self.size = int(size)

    def call(self, inputs):
        check_rank(self, inputs)
        return _repeat_axes(inputs, (1,), (self.size,))

    def get_config(self):
        return {**super().get_config(), "size": self.size}


class UpSampling2D(_SpatialReshape):
    """Scale height and width by ``size``: repeat rows and columns, or interpolate.

    Args:
        size: an int or 2 ints, the factors for height and width (default ``(2, 2)``).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        interpolation: ``'nearest'`` (default, repetition), ``'bilinear'`` (half-pixel centers, no
            antialiasing, as Keras's resize) or ``'bicubic'`` (torch's bicubic, as Keras's torch backend).

    Input shape:
        ``(batch, height, width, channels)`` (channels last) or ``(batch, channels, height, width)``.

    Output shape:
        ``(batch, height * size[0], width * size[1], channels)`` (channels last).

    Returns:
        The input enlarged by ``interpolation``.

    Raises:
        ConfigError: a non-positive ``size`` or an unknown ``interpolation``.

    Example:
        >>> import torch, loom
        >>> loom.layers.UpSampling2D(interpolation="bilinear")(torch.ones(1, 3, 3, 2)).shape
        torch.Size([1, 6, 6, 2])
    """

    rank = 2

    def __init__(self, size: Any = (2, 2), data_format: str | None = None, interpolation: str = "nearest",
                 **kwargs):
        super().__init__(**kwargs)
        self.size = int_tuple(size, 2, "size", self._owner())
        self.data_format = data_format_arg(data_format, self._owner())
        self.interpolation = interpolation.lower() if isinstance(interpolation, str) else interpolation
        if self.interpolation not in _INTERPOLATIONS:
            raise ConfigError(f"{self._owner()}: `interpolation` must be one of {list(_INTERPOLATIONS)}, got "
                              f"{interpolation!r}.")
        self._axes = (1, 2) if self.data_format == "channels_last" else (2, 3)

    def call(self, inputs):
        check_rank(self, inputs)
        if self.interpolation == "nearest":
            return _repeat_axes(inputs, self._axes, self.size)
        channels_last = self.data_format == "channels_last"
        x = inputs.permute(0, 3, 1, 2) if channels_last else inputs
        out_size = (x.shape[2] * self.size[0], x.shape[3] * self.size[1])
        y = F.interpolate(x, size=out_size, mode=self.interpolation, align_corners=False, antialias=False)
        return y.permute(0, 2, 3, 1) if channels_last else y

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format,
                "interpolation": self.interpolation}


class _ZeroPadding(_SpatialReshape):
    """Shared by ``ZeroPadding1D/2D/3D``: ``padding`` zeros before and after each spatial axis."""

    def __init__(self, padding: Any, data_format: str | None, **kwargs):
        super().__init__(**kwargs)
        self.padding = self._pairs(padding, "padding")
        self.data_format = data_format_arg(data_format, self._owner())
        pads = flat_pad(self.padding) if self.rank > 1 else self.padding
        self._pad = (0, 0) + pads if self.data_format == "channels_last" else pads

    def call(self, inputs):
        check_rank(self, inputs)
        return F.pad(inputs, self._pad)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


class ZeroPadding1D(_ZeroPadding):
    """Add zeros at the start and end of the time axis.

    Args:
        padding: an int (both ends) or ``(start, end)`` (default 1).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.

    Input shape:
        ``(batch, steps, features)``.

    Output shape:
        ``(batch, steps + left + right, features)``.

    Returns:
        The input with zeros added at both ends of the steps axis.

    Example:
        >>> import torch, loom
        >>> loom.layers.ZeroPadding1D((1, 2))(torch.ones(1, 3, 4)).shape
        torch.Size([1, 6, 4])
    """

    rank = 1

    def __init__(self, padding: Any = 1, data_format: str | None = None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding2D(_ZeroPadding):
    """Add rows and columns of zeros around images.

    Args:
        padding: an int, ``(rows, cols)`` (symmetric) or ``((top, bottom), (left, right))`` (default
            ``(1, 1)``).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.

    Input shape:
        ``(batch, height, width, channels)`` (channels last) or ``(batch, channels, height, width)``.

    Output shape:
        the input grown by ``padding`` rows and columns on each side.

    Returns:
        The input with zeros around each feature map.

    Example:
        >>> import torch, loom
        >>> loom.layers.ZeroPadding2D(1)(torch.ones(1, 3, 3, 2)).shape
        torch.Size([1, 5, 5, 2])
    """

    rank = 2

    def __init__(self, padding: Any = (1, 1), data_format: str | None = None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


def _crop(inputs: torch.Tensor, first_axis: int, cropping, layer: Layer) -> torch.Tensor:
    index: list = [slice(None)] * inputs.dim()
    for i, (start, end) in enumerate(cropping):
        size = inputs.shape[first_axis + i]
        if start + end >= size:
            raise ShapeError(f"Layer '{layer.name}' ({type(layer).__name__}): cropping {cropping} must leave at "
                             f"least one element, but got input shape {tuple(inputs.shape)}.")
        index[first_axis + i] = slice(start, size - end)
    return inputs[tuple(index)]


class Cropping1D(_SpatialReshape):
    """Cut steps from the start and end of the time axis of ``(batch, steps, features)``.

    Args:
        cropping: an int (both ends) or ``(start, end)`` (default ``(1, 1)``).

    Input shape:
        ``(batch, steps, features)``.

    Output shape:
        ``(batch, steps - left - right, features)``.

    Returns:
        The cropped input.

    Example:
        >>> import torch, loom
        >>> loom.layers.Cropping1D((1, 2))(torch.ones(1, 6, 4)).shape
        torch.Size([1, 3, 4])
    """

    rank = 1

    def __init__(self, cropping: Any = (1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = self._pairs(cropping, "cropping")

    def call(self, inputs):
        check_rank(self, inputs)
        return _crop(inputs, 1, (self.cropping,), self)

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping}


class _Cropping(_SpatialReshape):
    """Shared by ``Cropping2D/3D``: ``cropping`` elements dropped before and after each spatial axis."""

    def __init__(self, cropping: Any, data_format: str | None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = self._pairs(cropping, "cropping")
        self.data_format = data_format_arg(data_format, self._owner())

    def call(self, inputs):
        check_rank(self, inputs)
        return _crop(inputs, 1 if self.data_format == "channels_last" else 2, self.cropping, self)

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping, "data_format": self.data_format}


class Cropping2D(_Cropping):
    """Cut rows and columns from the borders of images.

    Args:
        cropping: an int, ``(rows, cols)`` (symmetric) or ``((top, bottom), (left, right))`` (default
            ``((0, 0), (0, 0))``).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.

    Input shape:
        ``(batch, height, width, channels)`` (channels last) or ``(batch, channels, height, width)``.

    Output shape:
        the input with ``cropping`` rows and columns removed from each side.

    Returns:
        The cropped input.

    Example:
        >>> import torch, loom
        >>> loom.layers.Cropping2D(((1, 0), (2, 2)))(torch.ones(1, 6, 6, 3)).shape
        torch.Size([1, 5, 2, 3])
    """

    rank = 2

    def __init__(self, cropping: Any = ((0, 0), (0, 0)), data_format: str | None = None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)

"""Deterministic image layers: ``Rescaling``, ``Resizing`` and ``CenterCrop`` (applied in training and inference).

Example:
    >>> import torch, loom
    >>> x = torch.rand(2, 8, 6, 3) * 255
    >>> model = loom.Sequential([loom.layers.Resizing(4, 4, crop_to_aspect_ratio=True),
    ...                          loom.layers.Rescaling(1 / 255)])
    >>> model(x).shape
    torch.Size([2, 4, 4, 3])
"""

from __future__ import annotations

from typing import Any

import torch

from loom import config
from loom.errors import ConfigError
from loom.layers.layer import Layer
from loom.layers.layer_args import positive_int_arg
from loom.layers.preprocessing.image.base import BaseImagePreprocessingLayer, is_number
from loom.ops import image as image_ops

_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5")


class Rescaling(Layer):
    """Rescale inputs: ``inputs * scale + offset`` (e.g. ``scale=1/255`` maps ``[0, 255]`` onto ``[0, 1]``).

    Applied in training and inference. A list of per-channel values broadcasts over the last axis, or over the
    channel axis of ``(..., channels, height, width)`` inputs when ``loom.config.image_data_format()`` is
    ``'channels_first'``.

    Args:
        scale: the multiplier: a number, or a list with one number per channel.
        offset: the value added after scaling: a number or one per channel (default ``0.0``).

    Input shape:
        Any shape (typically ``(batch, height, width, channels)``).

    Output shape:
        The input's shape.

    Returns:
        ``inputs * scale + offset`` in the layer's dtype (``float32`` by default, also for integer inputs).

    Raises:
        ConfigError: a ``scale`` or ``offset`` that is neither a number nor a non-empty list of numbers.

    Example:
        >>> import torch, loom
        >>> loom.layers.Rescaling(1 / 127.5, offset=-1)(torch.tensor([[0, 255]])).tolist()
        [[-1.0, 1.0]]
        >>> loom.layers.Rescaling([1.0, 0.5, 2.0])(torch.ones(1, 2, 2, 3))[0, 0, 0].tolist()  # per channel
        [1.0, 0.5, 2.0]
    """

    supports_masking = True

    def __init__(self, scale: Any, offset: Any = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        for name, value in (("scale", scale), ("offset", offset)):
            flat = value if isinstance(value, (list, tuple)) else [value]
            if not flat or not all(is_number(v) for v in flat):
                raise ConfigError(f"Rescaling '{self.name}': `{name}` must be a number or a list of numbers, got "
                                  f"{value!r}.")
        self.scale = scale
        self.offset = offset

    def _factor(self, value: Any, inputs: torch.Tensor) -> torch.Tensor:
        t = torch.as_tensor(value, dtype=self._dtype, device=inputs.device)
        if t.ndim > 0 and config.image_data_format() == "channels_first":
            t = t.reshape(tuple(t.shape) + (1,) * (3 - t.ndim))
        return t

    def call(self, inputs):
        x = inputs.to(self._dtype) if inputs.dtype != self._dtype else inputs
        return x * self._factor(self.scale, x) + self._factor(self.offset, x)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


class Resizing(BaseImagePreprocessingLayer):
    """Resize images to ``(height, width)``, optionally cropping or padding them to the target aspect ratio first.

    Applied in training and inference. Segmentation masks in a dict input are resized with ``'nearest'``.

    Args:
        height: output height (a positive int).
        width: output width (a positive int).
        interpolation: ``'bilinear'`` (default), ``'nearest'``, ``'bicubic'``, ``'area'``, ``'lanczos3'`` or
            ``'lanczos5'``.
        crop_to_aspect_ratio: centre-crop each image to the target aspect ratio before resizing, so nothing is
            distorted (default ``False``).
        pad_to_aspect_ratio: pad each image evenly with ``fill_value`` to the target aspect ratio before resizing
            instead (default ``False``).
        fill_mode: how the padding is filled; only ``'constant'`` (default) is supported.
        fill_value: the padding value with ``pad_to_aspect_ratio`` (default ``0.0``).
        antialias: low-pass filter the images when downsampling (default ``False``).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).

    Input shape:
        ``(batch, in_height, in_width, channels)`` with ``data_format='channels_last'``, ``(batch, channels,
        in_height, in_width)`` with ``'channels_first'``, or one image without the batch axis. A dict holding such
        ``'images'`` (and optionally ``'labels'`` and ``'segmentation_masks'``) is accepted too.

    Output shape:
        ``(batch, height, width, channels)`` (channels last) or ``(batch, channels, height, width)``.

    Returns:
        The resized images, as floats. A dict input gives the dict with ``'images'`` and
            ``'segmentation_masks'`` replaced (labels unchanged).

    Raises:
        ConfigError: a ``height`` or ``width`` that is not a positive int, an unknown ``interpolation`` or
            ``data_format``, both ``crop_to_aspect_ratio`` and ``pad_to_aspect_ratio``, a ``fill_mode`` other
            than ``'constant'``; a dict input with ``'bounding_boxes'`` (not supported by this layer in loom).
        ShapeError: images of a rank other than 3 or 4.

    Example:
        >>> import torch, loom
        >>> loom.layers.Resizing(2, 3)(torch.zeros(5, 7, 1)).shape
        torch.Size([2, 3, 1])
        >>> layer = loom.layers.Resizing(2, 4, pad_to_aspect_ratio=True)  # a square padded to 1:2, then resized
        >>> layer(torch.ones(1, 4, 4, 1))[0, ..., 0].tolist()
        [[0.0, 1.0, 1.0, 0.0], [0.0, 1.0, 1.0, 0.0]]
    """

    _USE_BASE_FACTOR = False
    _random = False

    def __init__(self, height: int, width: int, interpolation: str = "bilinear", crop_to_aspect_ratio: bool = False,
                 pad_to_aspect_ratio: bool = False, fill_mode: str = "constant", fill_value: float = 0.0,
                 antialias: bool = False, data_format: str | None = None, **kwargs: Any):
        super().__init__(data_format=data_format, **kwargs)
        self.height = positive_int_arg(self, "height", height)
        self.width = positive_int_arg(self, "width", width)
        if interpolation not in _INTERPOLATIONS:
            raise ConfigError(f"Resizing '{self.name}': `interpolation` must be one of {_INTERPOLATIONS}, got "
                              f"{interpolation!r}.")
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ConfigError(f"Resizing '{self.name}': only one of `crop_to_aspect_ratio` and "
                              f"`pad_to_aspect_ratio` can be True.")
        if fill_mode != "constant":
            raise ConfigError(f"Resizing '{self.name}': `fill_mode` must be 'constant', got {fill_mode!r}.")
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = crop_to_aspect_ratio
        self.pad_to_aspect_ratio = pad_to_aspect_ratio
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.antialias = bool(antialias)
        self.seed = None

    def _resize(self, images: torch.Tensor, interpolation: str) -> torch.Tensor:
        return image_ops.resize(images, (self.height, self.width), interpolation=interpolation,
                                antialias=self.antialias, crop_to_aspect_ratio=self.crop_to_aspect_ratio,
                                pad_to_aspect_ratio=self.pad_to_aspect_ratio, fill_mode=self.fill_mode,
                                fill_value=self.fill_value, data_format=self.data_format)

    def transform_images(self, images, transformation=None, training=True):
        return self._resize(images, self.interpolation)

    def transform_segmentation_masks(self, segmentation_masks, transformation=None, training=True):
        return self._resize(segmentation_masks, "nearest")

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width,
                "interpolation": self.interpolation, "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias}


def center_crop(images: torch.Tensor, height: int, width: int, data_format: str) -> torch.Tensor:
    """Crop the central ``(height, width)`` box of a batch; smaller images are cropped to the target aspect
    ratio and resized up (bilinear), as Keras does."""
    h_axis = 1 if data_format == "channels_last" else 2
    h, w = int(images.shape[h_axis]), int(images.shape[h_axis + 1])
    if h >= height and w >= width:
        top, left = (h - height) // 2, (w - width) // 2
        return images.narrow(h_axis, top, height).narrow(h_axis + 1, left, width)
    return image_ops.resize(images, (height, width), crop_to_aspect_ratio=True, data_format=data_format)


class CenterCrop(BaseImagePreprocessingLayer):
    """Crop the central ``(height, width)`` window of images.

    Applied in training and inference. An image smaller than the target on either side is instead centre-cropped
    to the target aspect ratio and resized up (bilinear), as in Keras. Segmentation masks are cropped alike.

    Args:
        height: output height (a positive int).
        width: output width (a positive int).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).

    Input shape:
        ``(batch, in_height, in_width, channels)`` with ``data_format='channels_last'``, ``(batch, channels,
        in_height, in_width)`` with ``'channels_first'``, or one image without the batch axis. A dict holding such
        ``'images'`` (and optionally ``'labels'`` and ``'segmentation_masks'``) is accepted too.

    Output shape:
        ``(batch, height, width, channels)`` (channels last) or ``(batch, channels, height, width)``.

    Returns:
        The cropped images, as floats. A dict input gives the dict with ``'images'`` and
            ``'segmentation_masks'`` replaced (labels unchanged).

    Raises:
        ConfigError: a ``height`` or ``width`` that is not a positive int, an unknown ``data_format``; a dict
            input with ``'bounding_boxes'`` (not supported by this layer in loom).
        ShapeError: images of a rank other than 3 or 4.

    Example:
        >>> import torch, loom
        >>> loom.layers.CenterCrop(2, 2)(torch.arange(16.0).reshape(4, 4, 1))[..., 0].tolist()
        [[5.0, 6.0], [9.0, 10.0]]
    """

    _USE_BASE_FACTOR = False
    _random = False

    def __init__(self, height: int, width: int, data_format: str | None = None, **kwargs: Any):
        super().__init__(data_format=data_format, **kwargs)
        self.height = positive_int_arg(self, "height", height)
        self.width = positive_int_arg(self, "width", width)
        self.seed = None

    def transform_images(self, images, transformation=None, training=True):
        return center_crop(images, self.height, self.width, self.data_format)

    def transform_segmentation_masks(self, segmentation_masks, transformation=None, training=True):
        return center_crop(segmentation_masks, self.height, self.width, self.data_format)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}

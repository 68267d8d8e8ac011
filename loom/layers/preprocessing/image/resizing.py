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
from loom.layers.preprocessing.image.base import BaseImagePreprocessingLayer, is_number
from loom.ops import image as image_ops

_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5")


def _positive_int(layer: Layer, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{type(layer).__name__} '{layer.name}': `{name}` must be a positive int, got {value!r}.")
    return value


class Rescaling(Layer):
    """Rescale inputs: ``inputs * scale + offset`` (e.g. ``scale=1/255`` maps ``[0, 255]`` onto ``[0, 1]``).

    Args:
        scale: a number, or one number per channel (a list).
        offset: a number or one per channel (default ``0.0``).

    Example:
        >>> import torch
        >>> Rescaling(1 / 127.5, offset=-1)(torch.tensor([[0.0, 255.0]])).tolist()
        [[-1.0, 1.0]]
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
    """Resize images to ``(height, width)``, optionally cropping or padding to the target aspect ratio first.

    Args:
        height: output height.
        width: output width.
        interpolation: ``'bilinear'`` (default), ``'nearest'``, ``'bicubic'``, ``'area'``, ``'lanczos3'``,
            ``'lanczos5'``.
        crop_to_aspect_ratio: centre-crop to the target aspect ratio before resizing (default ``False``).
        pad_to_aspect_ratio: pad with ``fill_value`` to the target aspect ratio instead (default ``False``).
        fill_mode: only ``'constant'`` (default).
        fill_value: the padding value (default ``0.0``).
        antialias: low-pass filter when downsampling (default ``False``).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.

    Example:
        >>> import torch
        >>> Resizing(2, 3)(torch.zeros(5, 7, 1)).shape
        torch.Size([2, 3, 1])
    """

    _USE_BASE_FACTOR = False
    _random = False

    def __init__(self, height: int, width: int, interpolation: str = "bilinear", crop_to_aspect_ratio: bool = False,
                 pad_to_aspect_ratio: bool = False, fill_mode: str = "constant", fill_value: float = 0.0,
                 antialias: bool = False, data_format: str | None = None, **kwargs: Any):
        super().__init__(data_format=data_format, **kwargs)
        self.height = _positive_int(self, "height", height)
        self.width = _positive_int(self, "width", width)
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
    """Crop the centre ``(height, width)`` of images (smaller images: aspect-ratio crop, then resize up).

    Args:
        height: output height.
        width: output width.
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.

    Example:
        >>> import torch
        >>> CenterCrop(2, 2)(torch.arange(16.0).reshape(4, 4, 1))[..., 0].tolist()
        [[5.0, 6.0], [9.0, 10.0]]
    """

    _USE_BASE_FACTOR = False
    _random = False

    def __init__(self, height: int, width: int, data_format: str | None = None, **kwargs: Any):
        super().__init__(data_format=data_format, **kwargs)
        self.height = _positive_int(self, "height", height)
        self.width = _positive_int(self, "width", width)
        self.seed = None

    def transform_images(self, images, transformation=None, training=True):
        return center_crop(images, self.height, self.width, self.data_format)

    def transform_segmentation_masks(self, segmentation_masks, transformation=None, training=True):
        return center_crop(segmentation_masks, self.height, self.width, self.data_format)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}

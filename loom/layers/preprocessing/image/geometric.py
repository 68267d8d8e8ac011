"""Geometric augmentation by warping: rotation, zoom, translation, shear, perspective and elastic distortion.

Every warp builds Keras's 8-parameter projective transform per image (output pixel ``(x, y)`` reads the input
at ``((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)``, ``k = c0 x + c1 y + 1``) and hands it to one shared
routine, :func:`~loom.layers.preprocessing.image.base.affine_warp`. Segmentation masks get the same transform
with nearest interpolation.

Example:
    >>> import torch, loom
    >>> layer = loom.layers.RandomRotation(0.1, seed=0)
    >>> layer(torch.rand(2, 8, 8, 3), training=True).shape
    torch.Size([2, 8, 8, 3])
"""

from __future__ import annotations

import math
from typing import Any

import torch

from loom.errors import ConfigError
from loom.layers.layer_args import choice_arg
from loom.layers.preprocessing.image.base import (BaseImagePreprocessingLayer, affine_warp, factor_range,
                                                  is_number, per_image, value_range_arg)
from loom.ops import image as image_ops
from loom.ops._image_warp import _homography

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")


class _Warp(BaseImagePreprocessingLayer):
    """A layer that warps images with a per-image projective transform (``_matrix``)."""

    _USE_BASE_FACTOR = False

    def _set_warp_args(self, fill_mode: str, interpolation: str, fill_value: float,
                       fill_modes: tuple = _FILL_MODES) -> None:
        self.fill_mode = choice_arg(self, "fill_mode", fill_mode, fill_modes)
        self.interpolation = choice_arg(self, "interpolation", interpolation, _INTERPOLATIONS)
        if not is_number(fill_value):
            raise ConfigError(f"{type(self).__name__} '{self.name}': `fill_value` must be a number, got "
                              f"{fill_value!r}.")
        self.fill_value = fill_value

    def _matrix(self, transformation: dict, images: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _warp(self, images: torch.Tensor, transformation: Any, interpolation: str) -> torch.Tensor:
        return affine_warp(self, images, self._matrix(transformation, images).reshape(-1, 8), interpolation)

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        return self._warp(images, transformation, self.interpolation)

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        if not training or transformation is None:
            return segmentation_masks
        return self._warp(segmentation_masks, transformation, "nearest")

    def get_config(self):
        return {**super().get_config(), "fill_mode": self.fill_mode, "interpolation": self.interpolation,
                "seed": self.seed, "fill_value": self.fill_value}


def rotation_matrix(angle_degrees: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``(batch, 8)`` transforms rotating images by ``angle_degrees`` about their centre (Keras's convention)."""
    angle = angle_degrees.to(torch.float32) * (math.pi / 180.0)
    cx, cy = 0.5 * (width - 1), 0.5 * (height - 1)
    cos, sin = torch.cos(angle), torch.sin(angle)
    zero = torch.zeros_like(angle)
    a2 = cx - cx * cos + cy * sin
    b2 = cy - cx * sin - cy * cos
    return torch.stack([cos, -sin, a2, sin, cos, b2, zero, zero], dim=1)


class RandomRotation(_Warp):
    """Rotate each image about its centre by a random angle (in training).

    The angle is ``u * 360`` degrees, ``u`` drawn once per image from ``factor``; positive angles turn the image
    counter-clockwise.

    Args:
        factor: a fraction of a full turn: a number ``f`` draws ``u`` in ``[-|f|, |f|]``, a pair ``(lower, upper)``
            in ``[lower, upper]`` (values in [-1, 1]).
        fill_mode: how points outside the image are read: ``'reflect'`` (default), ``'wrap'``, ``'constant'``
            (``fill_value``) or ``'nearest'`` (the closest edge pixel).
        interpolation: ``'bilinear'`` (default) or ``'nearest'``.
        seed: random seed of the layer's generator (default ``None``: unseeded).
        fill_value: the value read outside the image with ``fill_mode='constant'`` (default ``0.0``).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).

    Input shape:
        ``(batch, height, width, channels)`` with ``data_format='channels_last'``, ``(batch, channels, height,
        width)`` with ``'channels_first'``, or one image without the batch axis. A dict holding such ``'images'``
        (and optionally ``'labels'`` and ``'segmentation_masks'``) is accepted too.

    Output shape:
        The input's shape (a dict input gives back a dict with the same keys).

    Returns:
        The rotated images; the input unchanged outside training. Integer images come back in the layer's float
            dtype; a dict input gives the dict with images and segmentation masks warped alike (masks with
            ``'nearest'`` interpolation; labels unchanged).

    Raises:
        ConfigError: a ``factor`` of the wrong form or out of [-1, 1], an unknown ``fill_mode``, an unknown
            ``interpolation`` or ``data_format``, a ``fill_value`` that is not a number; a dict input with
            ``'bounding_boxes'`` (not supported by this layer in loom).
        ShapeError: images of a rank other than 3 or 4.

    Example:
        >>> import torch, loom
        >>> layer = loom.layers.RandomRotation((0.25, 0.25), interpolation="nearest")  # always a quarter turn
        >>> x = torch.arange(9.0).reshape(1, 3, 3, 1)
        >>> bool(torch.equal(layer(x, training=True)[0, ..., 0], torch.rot90(x[0, ..., 0])))
        True
    """

    def __init__(self, factor: Any, fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0, data_format: str | None = None, **kwargs: Any):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = factor_range(self, factor, (-1, 1))
        self._set_warp_args(fill_mode, interpolation, fill_value)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        images = data["images"] if isinstance(data, dict) else data
        height, width = self._height_width(images)
        batch = images.shape[0]
        angle = self._uniform(self._rng(seed), (batch,), self.factor[0] * 360.0, self.factor[1] * 360.0)
        return {"angle": angle, "rotation_matrix": rotation_matrix(angle, height, width), "image_height": height,
                "image_width": width, "batch_size": batch}

    def _matrix(self, transformation, images):
        return torch.as_tensor(transformation["rotation_matrix"])

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def _signed_factor(layer: BaseImagePreprocessingLayer, value: Any, name: str, open_low: bool) -> tuple:
    """Zoom / translation factors: a number ``f`` gives ``(-f, f)``, a pair is sorted; each in [-1, 1]
    (zoom excludes -1, which would zoom to nothing)."""
    values = value if isinstance(value, (tuple, list)) else [value]
    bad = (isinstance(value, (tuple, list)) and len(value) != 2) or not all(is_number(v) for v in values) \
        or any(v > 1 or v < -1 or (open_low and v == -1) for v in values)
    if bad:
        interval = "(-1, 1]" if open_low else "[-1, 1]"
        raise ConfigError(f"{type(layer).__name__} '{layer.name}': `{name}` must be a number or a pair of numbers "
                          f"in {interval}, got {value!r}.")
    if isinstance(value, (tuple, list)):
        return tuple(sorted(value))
    return -abs(value), abs(value)


class RandomZoom(_Warp):
    """Zoom each image in or out about its centre by a random factor (in training).

    The zoom ``z`` is ``1 + u``, ``u`` drawn once per image from the factor: ``z > 1`` (a positive ``u``) zooms
    *out*, showing more of the surroundings (Keras's convention), ``z < 1`` zooms in.

    Args:
        height_factor: the vertical zoom: a number ``f`` draws ``u`` in ``[-|f|, |f|]``, a pair
            ``(lower, upper)`` in ``[lower, upper]`` (values in (-1, 1]).
        width_factor: the same for the horizontal zoom (default ``None``: the vertical zoom is used, keeping the
            aspect ratio).
        fill_mode: how points outside the image are read: ``'reflect'`` (default), ``'wrap'``, ``'constant'``
            (``fill_value``) or ``'nearest'`` (the closest edge pixel).
        interpolation: ``'bilinear'`` (default) or ``'nearest'``.
        seed: random seed of the layer's generator (default ``None``: unseeded).
        fill_value: the value read outside the image with ``fill_mode='constant'`` (default ``0.0``).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).

    Input shape:
        ``(batch, height, width, channels)`` with ``data_format='channels_last'``, ``(batch, channels, height,
        width)`` with ``'channels_first'``, or one image without the batch axis. A dict holding such ``'images'``
        (and optionally ``'labels'`` and ``'segmentation_masks'``) is accepted too.

    Output shape:
        The input's shape (a dict input gives back a dict with the same keys).

    Returns:
        The zoomed images; the input unchanged outside training. Integer images come back in the layer's float
            dtype; a dict input gives the dict with images and segmentation masks warped alike (masks with
            ``'nearest'`` interpolation; labels unchanged).

    Raises:
        ConfigError: a factor of the wrong form or out of (-1, 1], an unknown ``fill_mode``, an unknown
            ``interpolation`` or ``data_format``, a ``fill_value`` that is not a number; a dict input with
            ``'bounding_boxes'`` (not supported by this layer in loom).
        ShapeError: images of a rank other than 3 or 4.

    Example:
        >>> import torch, loom
        >>> layer = loom.layers.RandomZoom((1.0, 1.0), fill_mode="constant")  # z = 2: out to half the size
        >>> layer(torch.ones(1, 4, 4, 1), training=True)[0, ..., 0].tolist()
        [[0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 1.0, 0.0], [0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    """

    def __init__(self, height_factor: Any, width_factor: Any = None, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None, fill_value: float = 0.0,
                 data_format: str | None = None, **kwargs: Any):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.height_factor = height_factor
        self.height_lower, self.height_upper = _signed_factor(self, height_factor, "height_factor", True)
        self.width_factor = width_factor
        if width_factor is not None:
            self.width_lower, self.width_upper = _signed_factor(self, width_factor, "width_factor", True)
        self._set_warp_args(fill_mode, interpolation, fill_value)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        images = data["images"] if isinstance(data, dict) else data
        rng = self._rng(seed)
        shape = (images.shape[0], 1)
        height_zoom = self._uniform(rng, shape, 1.0 + self.height_lower, 1.0 + self.height_upper)
        width_zoom = height_zoom if self.width_factor is None else \
            self._uniform(rng, shape, 1.0 + self.width_lower, 1.0 + self.width_upper)
        return {"height_zoom": height_zoom, "width_zoom": width_zoom, "input_shape": tuple(images.shape)}

    def _matrix(self, transformation, images):
        height, width = self._height_width(images)
        zx = torch.as_tensor(transformation["width_zoom"]).reshape(-1).to(torch.float32)
        zy = torch.as_tensor(transformation["height_zoom"]).reshape(-1).to(torch.float32)
        zero = torch.zeros_like(zx)
        return torch.stack([zx, zero, (width - 1.0) / 2.0 * (1.0 - zx), zero, zy, (height - 1.0) / 2.0 * (1.0 - zy),
                            zero, zero], dim=1)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


class RandomTranslation(_Warp):
    """Shift each image by a random fraction of its height and width (in training).

    The shifts are ``u * height`` (positive: down) and ``v * width`` (positive: right), drawn once per image.

    Args:
        height_factor: the vertical shift as a fraction of the height: a number ``f`` draws ``u`` in
            ``[-|f|, |f|]``, a pair ``(lower, upper)`` in ``[lower, upper]`` (values in [-1, 1]).
        width_factor: the same for the horizontal shift ``v``, a fraction of the width.
        fill_mode: how points outside the image are read: ``'reflect'`` (default), ``'wrap'``, ``'constant'``
            (``fill_value``) or ``'nearest'`` (the closest edge pixel).
        interpolation: ``'bilinear'`` (default) or ``'nearest'``.
        seed: random seed of the layer's generator (default ``None``: unseeded).
        fill_value: the value read outside the image with ``fill_mode='constant'`` (default ``0.0``).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).

    Input shape:
        ``(batch, height, width, channels)`` with ``data_format='channels_last'``, ``(batch, channels, height,
        width)`` with ``'channels_first'``, or one image without the batch axis. A dict holding such ``'images'``
        (and optionally ``'labels'`` and ``'segmentation_masks'``) is accepted too.

    Output shape:
        The input's shape (a dict input gives back a dict with the same keys).

    Returns:
        The shifted images; the input unchanged outside training. Integer images come back in the layer's float
            dtype; a dict input gives the dict with images and segmentation masks warped alike (masks with
            ``'nearest'`` interpolation; labels unchanged).

    Raises:
        ConfigError: a factor of the wrong form or out of [-1, 1], an unknown ``fill_mode``, an unknown
            ``interpolation`` or ``data_format``, a ``fill_value`` that is not a number; a dict input with
            ``'bounding_boxes'`` (not supported by this layer in loom).
        ShapeError: images of a rank other than 3 or 4.

    Example:
        >>> import torch, loom
        >>> layer = loom.layers.RandomTranslation((0.5, 0.5), 0.0, fill_mode="constant")  # down by half
        >>> layer(torch.arange(1.0, 17.0).reshape(1, 4, 4, 1), training=True)[0, ..., 0].tolist()
        [[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]
    """

    def __init__(self, height_factor: Any, width_factor: Any, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None, fill_value: float = 0.0,
                 data_format: str | None = None, **kwargs: Any):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.height_factor = height_factor
        self.height_lower, self.height_upper = _signed_factor(self, height_factor, "height_factor", False)
        self.width_factor = width_factor
        self.width_lower, self.width_upper = _signed_factor(self, width_factor, "width_factor", False)
        self._set_warp_args(fill_mode, interpolation, fill_value)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        images = data["images"] if isinstance(data, dict) else data
        height, width = self._height_width(images)
        rng = self._rng(seed)
        shape = (images.shape[0], 1)
        dy = self._uniform(rng, shape, self.height_lower, self.height_upper) * height
        dx = self._uniform(rng, shape, self.width_lower, self.width_upper) * width
        return {"translations": torch.cat([dx, dy], dim=1), "input_shape": tuple(images.shape)}

    def _matrix(self, transformation, images):
        t = torch.as_tensor(transformation["translations"]).to(torch.float32)
        one, zero = torch.ones_like(t[:, 0]), torch.zeros_like(t[:, 0])
        return torch.stack([one, zero, -t[:, 0], zero, one, -t[:, 1], zero, zero], dim=1)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


class RandomShear(_Warp):
    """Shear each image along x and/or y by a random amount (in training).

    Output pixel ``(x, y)`` reads the input at ``(x + sx * y, y + sy * x)``; ``sx`` and ``sy`` are drawn once per
    image from their factors and share one random sign.

    Args:
        x_factor: the shear intensity along x: a number ``f`` in [0, 1] draws ``sx`` in ``[-f, f]``, a pair
            ``(lower, upper)`` in [-1, 1] in ``[lower, upper]`` (default ``0.0``: no shear along x).
        y_factor: the same for ``sy``, along y (default ``0.0``).
        interpolation: ``'bilinear'`` (default) or ``'nearest'``.
        fill_mode: how points outside the image are read: ``'reflect'`` (default), ``'wrap'``, ``'constant'``
            (``fill_value``) or ``'nearest'`` (the closest edge pixel).
        fill_value: the value read outside the image with ``fill_mode='constant'`` (default ``0.0``).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).
        seed: random seed of the layer's generator (default ``None``: unseeded).

    Input shape:
        ``(batch, height, width, channels)`` with ``data_format='channels_last'``, ``(batch, channels, height,
        width)`` with ``'channels_first'``, or one image without the batch axis. A dict holding such ``'images'``
        (and optionally ``'labels'`` and ``'segmentation_masks'``) is accepted too.

    Output shape:
        The input's shape (a dict input gives back a dict with the same keys).

    Returns:
        The sheared images; the input unchanged outside training. Integer images come back in the layer's float
            dtype; a dict input gives the dict with images and segmentation masks warped alike (masks with
            ``'nearest'`` interpolation; labels unchanged).

    Raises:
        ConfigError: a factor of the wrong form or out of bounds, an unknown ``fill_mode``, an unknown ``interpolation``
            or ``data_format``, a ``fill_value`` that is not a number; a dict input with ``'bounding_boxes'`` (not
            supported by this layer in loom).
        ShapeError: images of a rank other than 3 or 4.

    Example:
        >>> import torch, loom
        >>> x = torch.arange(9.0).reshape(1, 3, 3, 1)
        >>> y = loom.layers.RandomShear(x_factor=0.5, seed=1)(x, training=True)
        >>> y.shape, bool(torch.equal(y[:, 0], x[:, 0]))  # a shear along x keeps the top row (y = 0) in place
        (torch.Size([1, 3, 3, 1]), True)
    """

    def __init__(self, x_factor: Any = 0.0, y_factor: Any = 0.0, interpolation: str = "bilinear",
                 fill_mode: str = "reflect", fill_value: float = 0.0, data_format: str | None = None,
                 seed: int | None = None, **kwargs: Any):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.x_factor = self._shear_factor(x_factor, "x_factor")
        self.y_factor = self._shear_factor(y_factor, "y_factor")
        self._factor_args = (x_factor, y_factor)
        self._set_warp_args(fill_mode, interpolation, fill_value)

    def _shear_factor(self, value: Any, name: str) -> tuple:
        # a pair may be negative: the layer's own config stores (-f, f), which Keras 3.15 fails to reload
        pair = isinstance(value, (tuple, list))
        values = value if pair else [value]
        if (pair and len(value) != 2) or not all(is_number(v) for v in values) \
                or any(v < (-1 if pair else 0) or v > 1 for v in values):
            raise ConfigError(f"RandomShear '{self.name}': `{name}` must be a number in [0, 1] or a pair of "
                              f"numbers in [-1, 1], got {value!r}.")
        return tuple(sorted(value)) if isinstance(value, (tuple, list)) else (-abs(value), abs(value))

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        images = data["images"] if isinstance(data, dict) else data
        rng = self._rng(seed)
        shape = (images.shape[0], 1)
        invert = torch.where(self._uniform(rng, shape) > 0.5, -1.0, 1.0)
        shear_y = self._uniform(rng, shape, *self.y_factor)
        shear_x = self._uniform(rng, shape, *self.x_factor)
        return {"shear_factor": torch.cat([shear_x, shear_y], dim=1) * invert, "input_shape": tuple(images.shape)}

    def _matrix(self, transformation, images):
        s = torch.as_tensor(transformation["shear_factor"]).to(torch.float32)
        one, zero = torch.ones_like(s[:, 0]), torch.zeros_like(s[:, 0])
        return torch.stack([one, s[:, 0], zero, s[:, 1], one, zero, zero, zero], dim=1)

    def get_config(self):
        # the factors as given (Keras writes the (-f, f) pair, which its own constructor then refuses)
        x_factor, y_factor = (list(v) if isinstance(v, tuple) else v for v in self._factor_args)
        return {**super().get_config(), "x_factor": x_factor, "y_factor": y_factor}


class RandomPerspective(_Warp):
    """Move the corners of each image at random and warp the image accordingly (in training).

    Each image draws a probability ``p`` from ``factor`` and is warped with probability ``p``. The corner
    coordinates ``(x, y)`` are each multiplied by ``1 + d``, ``d`` uniform in ``[-scale / 2, scale / 2]`` (so the
    top-left corner, at the origin, stays), and the image is mapped by the perspective transform between the old
    and new corners. Points from outside the image read ``fill_value``.

    Args:
        factor: a number ``f`` in [0, 1] draws ``p`` in ``[0, f]``; a pair ``(lower, upper)`` draws it in
            ``[lower, upper]`` (default ``1.0``).
        scale: the corner displacement, a number in [0, 1] (default ``1.0``).
        interpolation: ``'bilinear'`` (default) or ``'nearest'``.
        fill_value: the value read outside the image (default ``0.0``).
        seed: random seed of the layer's generator (default ``None``: unseeded).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).

    Input shape:
        ``(batch, height, width, channels)`` with ``data_format='channels_last'``, ``(batch, channels, height,
        width)`` with ``'channels_first'``, or one image without the batch axis. A dict holding such ``'images'``
        (and optionally ``'labels'`` and ``'segmentation_masks'``) is accepted too.

    Output shape:
        The input's shape (a dict input gives back a dict with the same keys).

    Returns:
        The warped images; the input unchanged outside training. Integer images come back in the layer's float
            dtype; a dict input gives the dict with images and segmentation masks warped alike (masks with
            ``'nearest'`` interpolation; labels unchanged).

    Raises:
        ConfigError: a ``factor`` or ``scale`` of the wrong form or out of [0, 1], an unknown ``interpolation`` or
            ``data_format``, a ``fill_value`` that is not a number; a dict input with ``'bounding_boxes'`` (not
            supported by this layer in loom).
        ShapeError: images of a rank other than 3 or 4.

    Example:
        >>> import torch, loom
        >>> layer = loom.layers.RandomPerspective(scale=0.3, seed=1)
        >>> x = torch.rand(2, 6, 6, 3, generator=torch.Generator().manual_seed(0))
        >>> layer(x, training=True).shape, bool(torch.equal(layer(x), x))  # inference: the identity
        (torch.Size([2, 6, 6, 3]), True)
    """

    def __init__(self, factor: Any = 1.0, scale: float = 1.0, interpolation: str = "bilinear",
                 fill_value: float = 0.0, seed: int | None = None, data_format: str | None = None, **kwargs: Any):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = factor_range(self, factor, (0, 1))
        if not is_number(scale) or not 0.0 <= scale <= 1.0:
            raise ConfigError(f"RandomPerspective '{self.name}': `scale` must be a number in [0, 1], got {scale!r}.")
        self.scale = scale
        self._set_warp_args("constant", interpolation, fill_value)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        images = data["images"] if isinstance(data, dict) else data
        height, width = self._height_width(images)
        batch = images.shape[0]
        rng = self._rng(seed)
        probability = self._uniform(rng, (batch,), *self.factor)
        apply = self._uniform(rng, (batch,)) < probability
        shift = self._uniform(rng, (batch, 4, 2), -0.5 * self.scale, 0.5 * self.scale)
        start = torch.tensor([[[0.0, 0.0], [width - 1.0, 0.0], [0.0, height - 1.0], [width - 1.0, height - 1.0]]])
        start = start.repeat(batch, 1, 1)
        return {"apply_perspective": apply, "start_points": start, "end_points": start + start * shift,
                "input_shape": tuple(images.shape)}

    def _warp(self, images, transformation, interpolation):
        start = torch.as_tensor(transformation["start_points"]).to(images.device, images.dtype)
        end = torch.as_tensor(transformation["end_points"]).to(images.device, images.dtype)
        transform = _homography(start.reshape(-1, 4, 2), end.reshape(-1, 4, 2))
        out = affine_warp(self, images, transform, interpolation)
        apply = torch.as_tensor(transformation["apply_perspective"]).to(images.device)
        return torch.where(per_image(apply, images), out, images)

    def get_config(self):
        config = super().get_config()
        del config["fill_mode"]
        return {**config, "factor": self.factor, "scale": self.scale}


class RandomElasticTransform(_Warp):
    """Distort images with a smooth random displacement field (Simard et al., 2003), in training.

    A strength ``s`` is drawn from ``scale`` once per call; the displacement size is ``alpha = 0.1 * s * max(h, w)``
    and its smoothness ``sigma = 0.05 * s * min(h, w)`` pixels. Each image draws a probability ``p`` from
    ``factor`` and is distorted with probability ``p``; the result is then clipped to ``value_range``.

    Args:
        factor: a number ``f`` in [0, 1] draws ``p`` in ``[0, f]``; a pair ``(lower, upper)`` draws it in
            ``[lower, upper]`` (default ``1.0``).
        scale: the strength range: a number ``s`` in [0, 1] means ``[0, s]``, or a pair (default ``1.0``).
        interpolation: ``'bilinear'`` (default) or ``'nearest'``.
        fill_mode: how points outside the image are read: ``'reflect'`` (default), ``'mirror'``, ``'wrap'``,
            ``'constant'`` (``fill_value``) or ``'nearest'``.
        fill_value: the value read outside the image with ``fill_mode='constant'`` (default ``0.0``).
        value_range: ``(min, max)`` of the images; distorted results are clipped to it (default ``(0, 255)``).
        seed: random seed of the layer's generator (default ``None``: unseeded).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).

    Input shape:
        ``(batch, height, width, channels)`` with ``data_format='channels_last'``, ``(batch, channels, height,
        width)`` with ``'channels_first'``, or one image without the batch axis. A dict holding such ``'images'``
        (and optionally ``'labels'`` and ``'segmentation_masks'``) is accepted too.

    Output shape:
        The input's shape (a dict input gives back a dict with the same keys).

    Returns:
        The distorted images; the input unchanged outside training. Integer images come back in the layer's float
            dtype; a dict input gives the dict with images and segmentation masks warped alike (masks with
            ``'nearest'`` interpolation; labels unchanged).

    Raises:
        ConfigError: a ``factor`` or ``scale`` of the wrong form or out of [0, 1], an unknown ``fill_mode``, a malformed
            ``value_range``, an unknown ``interpolation`` or ``data_format``, a ``fill_value`` that is not a number; a
            dict input with ``'bounding_boxes'`` (not supported by this layer in loom).
        ShapeError: images of a rank other than 3 or 4.

    Example:
        >>> import torch, loom
        >>> layer = loom.layers.RandomElasticTransform(seed=1)
        >>> x = torch.rand(1, 16, 16, 3, generator=torch.Generator().manual_seed(0)) * 255
        >>> y = layer(x, training=True)
        >>> y.shape, bool(y.min() >= 0 and y.max() <= 255)
        (torch.Size([1, 16, 16, 3]), True)
    """

    def __init__(self, factor: Any = 1.0, scale: Any = 1.0, interpolation: str = "bilinear",
                 fill_mode: str = "reflect", fill_value: float = 0.0, value_range: Any = (0, 255),
                 seed: int | None = None, data_format: str | None = None, **kwargs: Any):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = factor_range(self, factor, (0, 1))
        self.scale = factor_range(self, scale, (0, 1), name="scale")
        self._set_warp_args(fill_mode, interpolation, fill_value, _FILL_MODES + ("mirror",))
        self.value_range = value_range_arg(self, value_range, keep=True)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training or self.scale[1] == 0 or self.factor[1] == 0:
            return None
        images = data["images"] if isinstance(data, dict) else data
        batch = images.shape[0]
        rng = self._rng(seed)
        probability = self._uniform(rng, (batch,), *self.factor)
        apply = self._uniform(rng, (batch,)) < probability
        strength = self._uniform(rng, (), *self.scale)
        noise_seed = int(torch.randint(0, 2 ** 31 - 1, (), generator=rng))
        return {"apply_transform": apply, "distortion_factor": strength, "seed": noise_seed}

    def _warp(self, images, transformation, interpolation):
        height, width = self._height_width(images)
        strength = float(transformation["distortion_factor"])
        alpha, sigma = max(height, width) * 0.1 * strength, min(height, width) * 0.05 * strength
        if sigma <= 0:
            return images
        seed = transformation["seed"]
        out = image_ops.elastic_transform(images, alpha=alpha, sigma=sigma, interpolation=interpolation,
                                          fill_mode=self.fill_mode, fill_value=self.fill_value,
                                          seed=seed if isinstance(seed, int) else None, data_format=self.data_format)
        apply = torch.as_tensor(transformation["apply_transform"]).to(images.device)
        out = torch.where(per_image(apply, images), out, images)
        return out.clamp(self.value_range[0], self.value_range[1])

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "scale": self.scale, "value_range": self.value_range}

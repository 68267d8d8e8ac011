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
from loom.layers.preprocessing.image.base import (BaseImagePreprocessingLayer, affine_warp, factor_range,
                                                  is_number, per_image, value_range_arg)
from loom.ops import image as image_ops
from loom.ops._image_warp import _homography

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")


def _choice(layer: BaseImagePreprocessingLayer, name: str, value: Any, options: tuple) -> Any:
    if value not in options:
        raise ConfigError(f"{type(layer).__name__} '{layer.name}': `{name}` must be one of {options}, got {value!r}.")
    return value


class _Warp(BaseImagePreprocessingLayer):
    """A layer that warps images with a per-image projective transform (``_matrix``)."""

    _USE_BASE_FACTOR = False

    def _set_warp_args(self, fill_mode: str, interpolation: str, fill_value: float,
                       fill_modes: tuple = _FILL_MODES) -> None:
        self.fill_mode = _choice(self, "fill_mode", fill_mode, fill_modes)
        self.interpolation = _choice(self, "interpolation", interpolation, _INTERPOLATIONS)
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
    """Rotate each image by a random angle in ``factor * 360`` degrees (in training).

    Args:
        factor: a fraction of a full turn: ``f`` draws in ``[-f, f]``, a pair ``(low, high)`` in that range
            (in ``[-1, 1]``).
        fill_mode: ``'reflect'`` (default), ``'wrap'``, ``'constant'`` or ``'nearest'``.
        interpolation: ``'bilinear'`` (default) or ``'nearest'``.
        seed: random seed (default ``None``).
        fill_value: the value outside the image with ``fill_mode='constant'`` (default ``0.0``).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.

    Example:
        >>> import torch
        >>> RandomRotation((0.25, 0.25), fill_mode="constant")(torch.rand(1, 5, 5, 1), training=True).shape
        torch.Size([1, 5, 5, 1])
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
    """Zoom each image in or out by a random factor (in training).

    ``height_factor`` ``f`` draws a zoom in ``[1 - f, 1 + f]``: a positive factor zooms *out* (Keras's
    convention), a negative one zooms in.

    Args:
        height_factor: a number in (-1, 1] or a pair.
        width_factor: the same for the width (default ``None``: the height's zoom, keeping the aspect ratio).
        fill_mode: ``'reflect'`` (default), ``'wrap'``, ``'constant'`` or ``'nearest'``.
        interpolation: ``'bilinear'`` (default) or ``'nearest'``.
        seed: random seed (default ``None``).
        fill_value: the value outside the image with ``fill_mode='constant'`` (default ``0.0``).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.

    Example:
        >>> import torch
        >>> RandomZoom(0.2, seed=1)(torch.rand(2, 6, 6, 3), training=True).shape
        torch.Size([2, 6, 6, 3])
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

    Args:
        height_factor: a fraction of the height in [-1, 1] (``f`` draws in ``[-f, f]``) or a pair.
        width_factor: the same for the width.
        fill_mode: ``'reflect'`` (default), ``'wrap'``, ``'constant'`` or ``'nearest'``.
        interpolation: ``'bilinear'`` (default) or ``'nearest'``.
        seed: random seed (default ``None``).
        fill_value: the value outside the image with ``fill_mode='constant'`` (default ``0.0``).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.

    Example:
        >>> import torch
        >>> RandomTranslation(0.1, 0.1, seed=1)(torch.rand(2, 6, 6, 3), training=True).shape
        torch.Size([2, 6, 6, 3])
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

    Args:
        x_factor: shear intensity along x, a number or pair in [0, 1] (default ``0.0``); the sign is drawn.
        y_factor: the same along y (default ``0.0``).
        interpolation: ``'bilinear'`` (default) or ``'nearest'``.
        fill_mode: ``'reflect'`` (default), ``'wrap'``, ``'constant'`` or ``'nearest'``.
        fill_value: the value outside the image with ``fill_mode='constant'`` (default ``0.0``).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        seed: random seed (default ``None``).

    Example:
        >>> import torch
        >>> RandomShear(0.2, seed=1)(torch.rand(1, 6, 6, 3), training=True).shape
        torch.Size([1, 6, 6, 3])
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
    """Move the four corners of each image randomly and warp it accordingly (in training).

    Args:
        factor: probability range of applying the warp per image: ``f`` means ``[0, f]`` (default ``1.0``).
        scale: corner displacement, a fraction in [0, 1] of the image size (default ``1.0``).
        interpolation: ``'bilinear'`` (default) or ``'nearest'``.
        fill_value: the value outside the image (default ``0.0``).
        seed: random seed (default ``None``).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.

    Example:
        >>> import torch
        >>> RandomPerspective(scale=0.3, seed=1)(torch.rand(2, 6, 6, 3), training=True).shape
        torch.Size([2, 6, 6, 3])
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
    """Distort images with smooth random displacement fields (Simard et al., 2003), in training.

    The displacement size is ``alpha = 0.1 * s * max(h, w)`` and its smoothness ``sigma = 0.05 * s * min(h, w)``
    for a strength ``s`` drawn from ``scale``.

    Args:
        factor: probability range of transforming each image: ``f`` means ``[0, f]`` (default ``1.0``).
        scale: distortion strength range in [0, 1] (default ``1.0``).
        interpolation: ``'bilinear'`` (default) or ``'nearest'``.
        fill_mode: ``'reflect'`` (default), ``'mirror'``, ``'wrap'``, ``'constant'`` or ``'nearest'``.
        fill_value: the value outside the image with ``fill_mode='constant'`` (default ``0.0``).
        value_range: the images' value range; results are clipped to it (default ``(0, 255)``).
        seed: random seed (default ``None``).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.

    Example:
        >>> import torch
        >>> RandomElasticTransform(seed=1)(torch.rand(1, 16, 16, 3) * 255, training=True).shape
        torch.Size([1, 16, 16, 3])
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

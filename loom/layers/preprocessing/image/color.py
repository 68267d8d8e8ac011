"""Colour augmentation: contrast, brightness, saturation, hue, grayscale, inversion, posterization, sharpness,
solarization and colour jitter. Each draws per-image parameters (Keras's transformation keys) and changes
pixel values only, so labels and segmentation masks pass through unchanged (bounding boxes are not supported
by these layers in loom: a dict holding them raises ``ConfigError``).

Example:
    >>> import torch, loom
    >>> layer = loom.layers.RandomBrightness(0.2, seed=0)
    >>> y = layer(torch.full((2, 4, 4, 3), 100.0), training=True)
    >>> bool(((y - 100).abs() <= 0.2 * 255).all())
    True
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from loom import config
from loom.errors import ConfigError
from loom.layers.preprocessing.image.base import (BaseImagePreprocessingLayer, factor_range, from_nchw, per_image,
                                                  rescale, to_nchw, value_range_arg)
from loom.ops import image as image_ops


def _batch(data: Any) -> int:
    images = data["images"] if isinstance(data, dict) else data
    return int(images.shape[0])


def _channel_axis(layer: BaseImagePreprocessingLayer) -> int:
    return -1 if layer.data_format == "channels_last" else 1


class _ColorLayer(BaseImagePreprocessingLayer):
    """A random colour layer with ``factor``, ``value_range`` and ``seed`` in its config."""

    _USE_BASE_FACTOR = False
    _FACTOR_BOUNDS = (-1, 1)
    _KEEP_VALUE_RANGE = False

    def __init__(self, factor: Any, value_range: Any = (0, 255), data_format: str | None = None,
                 seed: int | None = None, **kwargs: Any):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = factor_range(self, factor, self._FACTOR_BOUNDS)
        self.value_range = value_range_arg(self, value_range, keep=self._KEEP_VALUE_RANGE)

    def _clip(self, images: torch.Tensor) -> torch.Tensor:
        return images.clamp(self.value_range[0], self.value_range[1])

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range, "seed": self.seed}


class RandomContrast(_ColorLayer):
    """Scale each image's deviation from its per-channel mean by a random factor ``c`` (in training).

    Every channel of an image becomes ``(x - mean) * c + mean`` (the mean taken over height and width), clipped to
    ``value_range``; ``c`` is drawn once per image.

    Args:
        factor: a number ``f`` in [0, 1] draws ``c`` in ``[1, 1 + f]`` (the lower bound of a single number is
            clamped at 0, as Keras's code does, so it only raises the contrast); a pair ``(lower, upper)`` draws
            ``c`` in ``[1 - lower, 1 + upper]``.
        value_range: ``(min, max)`` of the images; results are clipped to it (default ``(0, 255)``).
        seed: random seed of the layer's generator (default ``None``: unseeded).

    Input shape:
        ``(batch, height, width, channels)`` with ``data_format='channels_last'``, ``(batch, channels, height,
        width)`` with ``'channels_first'``, or one image without the batch axis. A dict holding such ``'images'``
        (and optionally ``'labels'`` and ``'segmentation_masks'``) is accepted too.

    Output shape:
        The input's shape (a dict input gives back a dict with the same keys).

    Returns:
        The contrast-adjusted images; the input unchanged outside training. Integer images come back in the
            layer's float dtype; a dict input gives the dict with ``'images'`` replaced (labels, masks unchanged).

    Raises:
        ConfigError: a ``factor`` or ``value_range`` of the wrong form or out of bounds; a dict input with
            ``'bounding_boxes'`` (not supported by this layer in loom).
        ShapeError: images of a rank other than 3 or 4.

    Example:
        >>> import torch, loom
        >>> layer = loom.layers.RandomContrast(0.5, seed=1)
        >>> x = torch.tensor([[[[100.0], [150.0]]]])
        >>> y = layer(x, training=True)
        >>> y.mean().item(), bool(y[0, 0, 1, 0] - y[0, 0, 0, 0] >= 50)  # mean kept, spread widened (c >= 1)
        (125.0, True)
        >>> bool(torch.equal(layer(x, training=False), x))  # inference: the identity
        True
    """

    _FACTOR_BOUNDS = (0, 1)
    _KEEP_VALUE_RANGE = True

    def __init__(self, factor: Any, value_range: Any = (0, 255), seed: int | None = None, **kwargs: Any):
        super().__init__(factor, value_range=value_range, seed=seed, **kwargs)

    def get_random_transformation(self, data, training=True, seed=None):
        factor = self._uniform(self._rng(seed), (_batch(data), 1, 1, 1), 1.0 - self.factor[0], 1.0 + self.factor[1])
        return {"contrast_factor": factor}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        axes = (1, 2) if self.data_format == "channels_last" else (2, 3)
        mean = images.mean(dim=axes, keepdim=True)
        factor = torch.as_tensor(transformation["contrast_factor"]).to(images.device, images.dtype)
        return self._clip((images - mean) * factor + mean)


class RandomBrightness(_ColorLayer):
    """Add a random offset ``u * (max - min)`` of the value range to each image (in training).

    ``u`` is drawn once per image from ``factor``; the result is clipped to ``value_range``.

    Args:
        factor: a number ``f`` in [-1, 1] draws ``u`` in ``[-|f|, |f|]``; a pair ``(lower, upper)`` in [-1, 1]
            draws it in ``[lower, upper]``.
        value_range: ``(min, max)`` of the images; results are clipped to it (default ``(0, 255)``).
        seed: random seed of the layer's generator (default ``None``: unseeded).

    Input shape:
        ``(batch, height, width, channels)`` with ``data_format='channels_last'``, ``(batch, channels, height,
        width)`` with ``'channels_first'``, or one image without the batch axis. A dict holding such ``'images'``
        (and optionally ``'labels'`` and ``'segmentation_masks'``) is accepted too.

    Output shape:
        The input's shape (a dict input gives back a dict with the same keys).

    Returns:
        The brightened or darkened images; the input unchanged outside training. Integer images come back in the
            layer's float dtype; a dict input gives the dict with ``'images'`` replaced (labels, masks unchanged).

    Raises:
        ConfigError: a ``factor`` or ``value_range`` of the wrong form or out of bounds; a dict input with
            ``'bounding_boxes'`` (not supported by this layer in loom).
        ShapeError: images of a rank other than 3 or 4.

    Example:
        >>> import torch, loom
        >>> layer = loom.layers.RandomBrightness((0.5, 0.5), value_range=(0, 1))
        >>> x = torch.zeros(1, 2, 2, 3)
        >>> layer(x, training=True).unique().tolist(), layer(x, training=False).unique().tolist()
        ([0.5], [0.0])
    """

    def __init__(self, factor: Any, value_range: Any = (0, 255), seed: int | None = None, **kwargs: Any):
        super().__init__(factor, value_range=value_range, seed=seed, **kwargs)

    def get_random_transformation(self, data, training=True, seed=None):
        delta = self._uniform(self._rng(seed), (_batch(data), 1, 1, 1), self.factor[0], self.factor[1])
        return {"rgb_delta": delta * (self.value_range[1] - self.value_range[0])}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        delta = torch.as_tensor(transformation["rgb_delta"]).to(images.device, images.dtype)
        return self._clip(images + delta)


class RandomColorDegeneration(_ColorLayer):
    """Blend each image towards its grayscale version by a random weight ``u`` (in training).

    The result is ``x + u * (gray(x) - x)``, clipped to ``value_range``: ``u = 1`` gives the grayscale image,
    ``u = 0`` the original, a negative ``u`` pushes colours away from gray. ``u`` is drawn once per image.

    Args:
        factor: a number ``f`` in [-1, 1] draws ``u`` in ``[-|f|, |f|]``; a pair ``(lower, upper)`` in [-1, 1]
            draws it in ``[lower, upper]``.
        value_range: ``(min, max)`` of the images; results are clipped to it (default ``(0, 255)``).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).
        seed: random seed of the layer's generator (default ``None``: unseeded).

    Input shape:
        ``(batch, height, width, 3)`` with ``data_format='channels_last'``, ``(batch, 3, height, width)`` with
        ``'channels_first'``, or one image without the batch axis (RGB images). A dict holding such ``'images'``
        (and optionally ``'labels'`` and ``'segmentation_masks'``) is accepted too.

    Output shape:
        The input's shape (a dict input gives back a dict with the same keys).

    Returns:
        The partly desaturated images; the input unchanged outside training. Integer images come back in the
            layer's float dtype; a dict input gives the dict with ``'images'`` replaced (labels, masks unchanged).

    Raises:
        ConfigError: a ``factor``, ``value_range`` or ``data_format`` of the wrong form or out of bounds; a dict
            input with ``'bounding_boxes'`` (not supported by this layer in loom).
        ShapeError: images of a rank other than 3 or 4.

    Example:
        >>> import torch, loom
        >>> layer = loom.layers.RandomColorDegeneration((1.0, 1.0))  # u = 1: fully gray
        >>> y = layer(torch.tensor([[[[255.0, 0.0, 0.0]]]]), training=True)
        >>> bool(torch.allclose(y, y[..., :1].expand_as(y)))  # the three channels are equal
        True
    """

    def get_random_transformation(self, data, training=True, seed=None):
        return {"factor": self._uniform(self._rng(seed), (_batch(data), 1, 1, 1), *self.factor)}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        factor = torch.as_tensor(transformation["factor"]).to(images.device, images.dtype)
        gray = image_ops.rgb_to_grayscale(images, data_format=self.data_format)
        return self._clip(images + factor * (gray - images))


class RandomGrayscale(BaseImagePreprocessingLayer):
    """Turn each image to grayscale (kept as 3 equal channels) with probability ``factor`` (in training).

    Args:
        factor: the probability of converting an image, a number in [0, 1] (default ``0.5``).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).
        seed: random seed of the layer's generator (default ``None``: unseeded).

    Input shape:
        ``(batch, height, width, 3)`` with ``data_format='channels_last'``, ``(batch, 3, height, width)`` with
        ``'channels_first'``, or one image without the batch axis (RGB images). A dict holding such ``'images'``
        (and optionally ``'labels'`` and ``'segmentation_masks'``) is accepted too.

    Output shape:
        The input's shape (a dict input gives back a dict with the same keys).

    Returns:
        The images, each either unchanged or grayscale; the input unchanged outside training. Integer images come
            back in the layer's float dtype; a dict input gives the dict with ``'images'`` replaced (labels, masks
            unchanged).

    Raises:
        ConfigError: a ``factor`` that is not a number in [0, 1]; a dict input with ``'bounding_boxes'`` (not
            supported by this layer in loom).
        ShapeError: images of a rank other than 3 or 4.

    Example:
        >>> import torch, loom
        >>> y = loom.layers.RandomGrayscale(1.0, seed=0)(torch.rand(2, 3, 3, 3), training=True)
        >>> y.shape, bool((y[..., 0] == y[..., 2]).all())
        (torch.Size([2, 3, 3, 3]), True)
    """

    _USE_BASE_FACTOR = False

    def __init__(self, factor: float = 0.5, data_format: str | None = None, seed: int | None = None, **kwargs: Any):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 <= factor <= 1:
            raise ConfigError(f"RandomGrayscale '{self.name}': `factor` must be a number in [0, 1], got {factor!r}.")
        self.factor = factor

    def get_random_transformation(self, data, training=True, seed=None):
        return (self._uniform(self._rng(seed), (_batch(data),)) < self.factor).reshape(-1, 1, 1, 1)

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        gray = image_ops.rgb_to_grayscale(images, data_format=self.data_format)
        return torch.where(torch.as_tensor(transformation).to(images.device), gray, images)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class RandomHue(_ColorLayer):
    """Rotate each image's hue by a random fraction of a turn, in either direction (in training).

    Images are mapped from ``value_range`` to [0, 1], converted to HSV, their hue shifted (wrapping around) by
    ``+-u / 2`` of a turn, with ``u`` drawn from ``factor`` and a random sign per image, and converted back.

    Args:
        factor: a number ``f`` in [0, 1] draws ``u`` in ``[0, f]``; a pair ``(lower, upper)`` draws it in
            ``[lower, upper]``. ``u = 1`` can shift the hue by half a turn.
        value_range: ``(min, max)`` of the images (default ``(0, 255)``).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).
        seed: random seed of the layer's generator (default ``None``: unseeded).

    Input shape:
        ``(batch, height, width, 3)`` with ``data_format='channels_last'``, ``(batch, 3, height, width)`` with
        ``'channels_first'``, or one image without the batch axis (RGB images). A dict holding such ``'images'``
        (and optionally ``'labels'`` and ``'segmentation_masks'``) is accepted too.

    Output shape:
        The input's shape (a dict input gives back a dict with the same keys).

    Returns:
        The hue-shifted images, within ``value_range``; the input unchanged outside training. Integer images come
            back in the layer's float dtype; a dict input gives the dict with ``'images'`` replaced (labels, masks
            unchanged).

    Raises:
        ConfigError: a ``factor``, ``value_range`` or ``data_format`` of the wrong form or out of bounds; a dict
            input with ``'bounding_boxes'`` (not supported by this layer in loom).
        ShapeError: images of a rank other than 3 or 4.

    Example:
        >>> import torch, loom
        >>> _ = torch.manual_seed(0)
        >>> y = loom.layers.RandomHue(0.5, value_range=(0, 1), seed=1)(torch.rand(2, 3, 3, 3), training=True)
        >>> y.shape, bool(y.min() >= 0 and y.max() <= 1)
        (torch.Size([2, 3, 3, 3]), True)
    """

    _FACTOR_BOUNDS = (0, 1)
    _KEEP_VALUE_RANGE = True

    def get_random_transformation(self, data, training=True, seed=None):
        rng = self._rng(seed)
        batch = _batch(data)
        invert = torch.where(self._uniform(rng, (batch,)) > 0.5, -1.0, 1.0)
        return {"factor": invert * self._uniform(rng, (batch,), *self.factor) * 0.5}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        axis = _channel_axis(self)
        x = rescale(images, self.value_range, (0, 1))
        hsv = image_ops.rgb_to_hsv(x, data_format=self.data_format)
        shift = per_image(torch.as_tensor(transformation["factor"]), hsv).to(hsv.dtype)
        h, s, v = hsv.unbind(axis)
        h = h + shift.squeeze(axis)
        h = torch.where(h > 1.0, h - 1.0, h)
        h = torch.where(h < 0.0, h + 1.0, h)
        rgb = image_ops.hsv_to_rgb(torch.stack([h, s, v], axis), data_format=self.data_format).clamp(0, 1)
        return rescale(rgb, (0, 1), self.value_range)


class RandomSaturation(_ColorLayer):
    """Scale each image's saturation by a random amount (in training).

    In HSV, the saturation of an image becomes ``s * u / (1 - u)`` (clipped to ``value_range``, as Keras does),
    with ``u`` drawn once per image: ``u <= 0`` removes the colour, ``u = 0.5`` keeps it, ``u`` near 1 saturates.

    Args:
        factor: a number ``f`` in [-1, 1] draws ``u`` in ``[-|f|, |f|]``; a pair ``(lower, upper)`` in [-1, 1]
            draws it in ``[lower, upper]``.
        value_range: ``(min, max)`` of the images, the clip applied to the scaled saturation (default
            ``(0, 255)``).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).
        seed: random seed of the layer's generator (default ``None``: unseeded).

    Input shape:
        ``(batch, height, width, 3)`` with ``data_format='channels_last'``, ``(batch, 3, height, width)`` with
        ``'channels_first'``, or one image without the batch axis (RGB images). A dict holding such ``'images'``
        (and optionally ``'labels'`` and ``'segmentation_masks'``) is accepted too.

    Output shape:
        The input's shape (a dict input gives back a dict with the same keys).

    Returns:
        The re-saturated images; the input unchanged outside training. Integer images come back in the layer's
            float dtype; a dict input gives the dict with ``'images'`` replaced (labels, masks unchanged).

    Raises:
        ConfigError: a ``factor``, ``value_range`` or ``data_format`` of the wrong form or out of bounds; a dict
            input with ``'bounding_boxes'`` (not supported by this layer in loom).
        ShapeError: images of a rank other than 3 or 4.

    Example:
        >>> import torch, loom
        >>> y = loom.layers.RandomSaturation((0.0, 0.0))(torch.tensor([[[[0.9, 0.2, 0.4]]]]), training=True)
        >>> bool(torch.allclose(y, torch.full_like(y, 0.9)))  # u = 0: no colour left (gray at the value 0.9)
        True
    """

    def get_random_transformation(self, data, training=True, seed=None):
        factor = self._uniform(self._rng(seed), (_batch(data),), *self.factor)
        return {"factor": factor / (1 - factor + config.epsilon())}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        axis = _channel_axis(self)
        hsv = image_ops.rgb_to_hsv(images, data_format=self.data_format)
        h, s, v = hsv.unbind(axis)
        factor = torch.as_tensor(transformation["factor"]).to(images.device, images.dtype).reshape(-1, 1, 1)
        s = (s * factor).clamp(self.value_range[0], self.value_range[1])
        return image_ops.hsv_to_rgb(torch.stack([h, s, v], axis), data_format=self.data_format)


class RandomInvert(_ColorLayer):
    """Invert images (``x -> max - x``, ``max`` being ``value_range[1]``) at random (in training).

    Each image draws a probability ``p`` from ``factor``, then is inverted with probability ``p``.

    Args:
        factor: a number ``f`` in [0, 1] draws ``p`` in ``[0, f]``; a pair ``(lower, upper)`` draws it in
            ``[lower, upper]`` (default ``1.0``: ``p`` uniform in [0, 1], so half of the images on average).
        value_range: ``(min, max)`` of the images (default ``(0, 255)``).
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
        The images, each either unchanged or inverted; the input unchanged outside training. Integer images come
            back in the layer's float dtype; a dict input gives the dict with ``'images'`` replaced (labels, masks
            unchanged).

    Raises:
        ConfigError: a ``factor``, ``value_range`` or ``data_format`` of the wrong form or out of bounds; a dict
            input with ``'bounding_boxes'`` (not supported by this layer in loom).
        ShapeError: images of a rank other than 3 or 4.

    Example:
        >>> import torch, loom
        >>> layer = loom.layers.RandomInvert((1.0, 1.0), value_range=(0, 1))  # p = 1: always invert
        >>> layer(torch.tensor([[[[0.0, 0.25, 1.0]]]]), training=True).tolist()
        [[[[1.0, 0.75, 0.0]]]]
    """

    _FACTOR_BOUNDS = (0, 1)
    _KEEP_VALUE_RANGE = True

    def __init__(self, factor: Any = 1.0, value_range: Any = (0, 255), seed: int | None = None,
                 data_format: str | None = None, **kwargs: Any):
        super().__init__(factor, value_range=value_range, data_format=data_format, seed=seed, **kwargs)

    def get_random_transformation(self, data, training=True, seed=None):
        rng = self._rng(seed)
        batch = _batch(data)
        probability = self._uniform(rng, (batch,), *self.factor)
        return {"apply_inversion": self._uniform(rng, (batch,)) < probability}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        apply = per_image(torch.as_tensor(transformation["apply_inversion"]), images)
        return torch.where(apply, self.value_range[1] - images, images)


class RandomPosterization(_ColorLayer):
    """Keep only the ``b`` most significant bits of each 8-bit channel value (in training).

    Images are mapped from ``value_range`` to [0, 255], truncated to 8-bit integers, their low ``8 - b`` bits
    cleared, and mapped back. ``b`` is a random int drawn once per image.

    Args:
        factor: a number ``f`` in [1, 8] draws ``b`` in ``[1, f)`` (``f = 1`` always keeps 1 bit); a pair
            ``(lower, upper)`` draws it in ``[lower, upper)`` (the bounds truncated to ints; equal bounds give
            that value).
        value_range: ``(min, max)`` of the images (default ``(0, 255)``).
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
        The posterized images; the input unchanged outside training. Integer images come back in the layer's
            float dtype; a dict input gives the dict with ``'images'`` replaced (labels, masks unchanged).

    Raises:
        ConfigError: a ``factor``, ``value_range`` or ``data_format`` of the wrong form or out of bounds; a dict
            input with ``'bounding_boxes'`` (not supported by this layer in loom).
        ShapeError: images of a rank other than 3 or 4.

    Example:
        >>> import torch, loom
        >>> layer = loom.layers.RandomPosterization((1, 1))  # keep 1 bit: 128 or 0
        >>> layer(torch.tensor([[[[200.0, 100.0, 30.0]]]]), training=True).tolist()
        [[[[128.0, 0.0, 0.0]]]]
    """

    _FACTOR_BOUNDS = (1, 8)

    def get_random_transformation(self, data, training=True, seed=None):
        batch = _batch(data)
        low, high = int(self.factor[0]), int(self.factor[1])
        if low != high:
            bits = torch.randint(low, high, (batch,), generator=self._rng(seed))
        else:
            bits = torch.full((batch,), low)
        return {"shift_factor": (8 - bits).to(torch.uint8)}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        shift = per_image(torch.as_tensor(transformation["shift_factor"]).to(torch.uint8), images)
        x = rescale(images, self.value_range, (0, 255)).to(torch.uint8)
        x = torch.bitwise_left_shift(torch.bitwise_right_shift(x, shift), shift)
        return rescale(x.to(images.dtype), (0, 255), self.value_range)


class RandomSharpness(_ColorLayer):
    """Sharpen or blur each image by a random amount (in training).

    With ``smooth`` the image filtered by a 3x3 smoothing kernel (zero padding), the result is
    ``x + (1 - 2 u) * (smooth - x)``, clipped to ``value_range``: ``u = 0`` gives the smoothed image, ``u = 0.5``
    the original, ``u = 1`` a sharpened one. ``u`` is drawn once per image.

    Args:
        factor: a number ``f`` in [0, 1] draws ``u`` in ``[0, f]``; a pair ``(lower, upper)`` draws it in
            ``[lower, upper]``.
        value_range: ``(min, max)`` of the images; results are clipped to it (default ``(0, 255)``).
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
        The sharpened or blurred images; the input unchanged outside training. Integer images come back in the
            layer's float dtype; a dict input gives the dict with ``'images'`` replaced (labels, masks unchanged).

    Raises:
        ConfigError: a ``factor``, ``value_range`` or ``data_format`` of the wrong form or out of bounds; a dict
            input with ``'bounding_boxes'`` (not supported by this layer in loom).
        ShapeError: images of a rank other than 3 or 4.

    Example:
        >>> import torch, loom
        >>> x = torch.rand(1, 4, 4, 3, generator=torch.Generator().manual_seed(0)) * 255
        >>> bool(torch.allclose(loom.layers.RandomSharpness((0.5, 0.5))(x, training=True), x))  # u = 0.5: kept
        True
    """

    _FACTOR_BOUNDS = (0, 1)

    def get_random_transformation(self, data, training=True, seed=None):
        return {"factor": self._uniform(self._rng(seed), (_batch(data),), *self.factor)}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        x = to_nchw(images, self.data_format)
        channels = x.shape[1]
        a, b = 1.0 / 13.0, 5.0 / 13.0
        kernel = torch.tensor([[a, a, a], [a, b, a], [a, a, a]], dtype=x.dtype, device=x.device)
        smooth = F.conv2d(x, kernel.expand(channels, 1, 3, 3), padding=1, groups=channels)
        factor = torch.as_tensor(transformation["factor"]).to(x.device, x.dtype).reshape(-1, 1, 1, 1) * 2
        return self._clip(from_nchw(x + (1.0 - factor) * (smooth - x), self.data_format))


class Solarization(BaseImagePreprocessingLayer):
    """Add a random offset to the pixels, then invert those at or above a random threshold (in training).

    Working in [0, 255] (images are mapped from ``value_range`` and back), ``y = clip(x + a, 0, 255)`` becomes
    ``255 - y`` where ``y >= t``. The offset ``a`` and the threshold ``t`` are drawn once per image.

    Args:
        addition_factor: a number ``f`` in [0, 1] draws ``a`` in ``[0, 255 f]``; a pair ``(lower, upper)`` draws it
            in ``[lower, 255 upper]`` (the lower bound is not scaled by 255, as in Keras) (default ``0.0``: no
            offset).
        threshold_factor: the same for ``t`` (default ``0.0``: ``t = 0``, every pixel is inverted).
        value_range: ``(min, max)`` of the images (default ``(0, 255)``).
        seed: random seed of the layer's generator (default ``None``: unseeded).

    Input shape:
        ``(batch, height, width, channels)`` with ``data_format='channels_last'``, ``(batch, channels, height,
        width)`` with ``'channels_first'``, or one image without the batch axis. A dict holding such ``'images'``
        (and optionally ``'labels'`` and ``'segmentation_masks'``) is accepted too.

    Output shape:
        The input's shape (a dict input gives back a dict with the same keys).

    Returns:
        The solarized images; the input unchanged outside training. Integer images come back in the layer's
            float dtype; a dict input gives the dict with ``'images'`` replaced (labels, masks unchanged).

    Raises:
        ConfigError: a factor outside [0, 1] or a malformed ``value_range``; a dict input with
            ``'bounding_boxes'`` (not supported by this layer in loom).
        ShapeError: images of a rank other than 3 or 4.

    Example:
        >>> import torch, loom
        >>> x = torch.tensor([[[[0.0, 100.0, 255.0]]]])
        >>> loom.layers.Solarization()(x, training=True).tolist()  # t = 0: every pixel inverted
        [[[[255.0, 155.0, 0.0]]]]
    """

    _USE_BASE_FACTOR = False

    def __init__(self, addition_factor: Any = 0.0, threshold_factor: Any = 0.0, value_range: Any = (0, 255),
                 seed: int | None = None, **kwargs: Any):
        super().__init__(seed=seed, **kwargs)
        self.addition_factor = factor_range(self, addition_factor, (0, 1), "addition_factor", symmetric=False)
        self.threshold_factor = factor_range(self, threshold_factor, (0, 1), "threshold_factor", symmetric=False)
        self.value_range = value_range_arg(self, value_range)

    def get_random_transformation(self, data, training=True, seed=None):
        rng = self._rng(seed)
        shape = (_batch(data), 1, 1, 1)
        additions = self._uniform(rng, shape, self.addition_factor[0], self.addition_factor[1] * 255)
        thresholds = self._uniform(rng, shape, self.threshold_factor[0], self.threshold_factor[1] * 255)
        return {"additions": additions, "thresholds": thresholds}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        additions = torch.as_tensor(transformation["additions"]).to(images.device, images.dtype)
        thresholds = torch.as_tensor(transformation["thresholds"]).to(images.device, images.dtype)
        x = (rescale(images, self.value_range, (0, 255)) + additions).clamp(0, 255)
        x = torch.where(x < thresholds, x, 255 - x)
        return rescale(x, (0, 255), self.value_range)

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range, "addition_factor": self.addition_factor,
                "threshold_factor": self.threshold_factor, "seed": self.seed}


class RandomColorJitter(BaseImagePreprocessingLayer):
    """Random brightness, contrast, saturation and hue changes, applied in that order (in training).

    Each change is one of the layers ``RandomBrightness``, ``RandomContrast``, ``RandomSaturation``
    and ``RandomHue``, built only when its factor is given, with this layer's ``value_range`` and ``seed``.

    Args:
        value_range: ``(min, max)`` of the images, passed to every part (default ``(0, 255)``).
        brightness_factor: ``RandomBrightness``'s ``factor`` (default ``None``: no brightness change).
        contrast_factor: ``RandomContrast``'s ``factor`` (default ``None``: no contrast change).
        saturation_factor: ``RandomSaturation``'s ``factor`` (default ``None``: no saturation change).
        hue_factor: ``RandomHue``'s ``factor`` (default ``None``: no hue change).
        seed: random seed of the layer's generator, also given to the parts (default ``None``: unseeded).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).

    Input shape:
        ``(batch, height, width, 3)`` with ``data_format='channels_last'``, ``(batch, 3, height, width)`` with
        ``'channels_first'``, or one image without the batch axis (RGB images; any channel count without
        saturation and hue). A dict holding such ``'images'`` (and optionally ``'labels'`` and
        ``'segmentation_masks'``) is accepted too.

    Output shape:
        The input's shape (a dict input gives back a dict with the same keys).

    Returns:
        The jittered images; the input unchanged outside training. Integer images come back in the layer's float
            dtype; a dict input gives the dict with ``'images'`` replaced (labels, masks unchanged).

    Raises:
        ConfigError: a factor or ``value_range`` the corresponding layer refuses; a dict input with
            ``'bounding_boxes'`` (not supported by this layer in loom).
        ShapeError: images of a rank other than 3 or 4.

    Example:
        >>> import torch, loom
        >>> layer = loom.layers.RandomColorJitter(brightness_factor=0.2, contrast_factor=0.3, seed=1)
        >>> x = torch.full((2, 4, 4, 3), 128.0)
        >>> y = layer(x, training=True)
        >>> y.shape, bool(((y - 128).abs() <= 0.2 * 255).all())  # a flat image: only the brightness moves it
        (torch.Size([2, 4, 4, 3]), True)
    """

    _USE_BASE_FACTOR = False

    def __init__(self, value_range: Any = (0, 255), brightness_factor: Any = None, contrast_factor: Any = None,
                 saturation_factor: Any = None, hue_factor: Any = None, seed: int | None = None,
                 data_format: str | None = None, **kwargs: Any):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.value_range = value_range_arg(self, value_range, keep=True)
        self.brightness_factor = brightness_factor
        self.contrast_factor = contrast_factor
        self.saturation_factor = saturation_factor
        self.hue_factor = hue_factor
        parts = ((brightness_factor, RandomBrightness), (contrast_factor, RandomContrast),
                 (saturation_factor, RandomSaturation), (hue_factor, RandomHue))
        self._parts = [cls(factor, value_range=value_range, seed=seed, data_format=data_format)
                       if cls in (RandomContrast, RandomSaturation, RandomHue)
                       else cls(factor, value_range=value_range, seed=seed)
                       for factor, cls in parts if factor is not None]

    def get_random_transformation(self, data, training=True, seed=None):
        rng_seed = self.generator if seed is None else seed
        return [part.get_random_transformation(data, training, seed=rng_seed) for part in self._parts]

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        for part, t in zip(self._parts, transformation):
            images = part.transform_images(images, t, training=True)
        return images

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range,
                "brightness_factor": self.brightness_factor, "contrast_factor": self.contrast_factor,
                "saturation_factor": self.saturation_factor, "hue_factor": self.hue_factor, "seed": self.seed}

"""Colour augmentation: contrast, brightness, saturation, hue, grayscale, inversion, posterization, sharpness,
solarization and colour jitter. Each draws per-image parameters (Keras's transformation keys) and changes
pixel values only, so labels, masks and boxes pass through unchanged.

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
    """Scale each image's deviation from its mean by a random factor in ``[1 - lower, 1 + upper]`` (in training).

    Args:
        factor: a number in [0, 1] (``f`` draws in ``[1 - f, 1 + f]``) or a pair ``(lower, upper)``.
        value_range: the images' value range; results are clipped to it (default ``(0, 255)``).
        seed: random seed (default ``None``).

    Example:
        >>> import torch
        >>> RandomContrast(0.5, seed=1)(torch.rand(2, 4, 4, 3) * 255, training=True).shape
        torch.Size([2, 4, 4, 3])
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
    """Add a random offset ``factor * (max - min)`` of the value range to each image (in training).

    Args:
        factor: a number in [-1, 1] (``f`` draws in ``[-f, f]``) or a pair.
        value_range: the images' value range; results are clipped to it (default ``(0, 255)``).
        seed: random seed (default ``None``).

    Example:
        >>> import torch
        >>> RandomBrightness((0.5, 0.5), value_range=(0, 1))(torch.zeros(1, 2, 2, 3), training=True).max().item()
        0.5
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
    """Blend each image towards its grayscale version by a random factor (in training).

    Args:
        factor: a number in [-1, 1] or a pair (the blend weight range).
        value_range: the images' value range; results are clipped to it (default ``(0, 255)``).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        seed: random seed (default ``None``).

    Example:
        >>> import torch
        >>> RandomColorDegeneration((1.0, 1.0))(torch.rand(1, 2, 2, 3) * 255, training=True).std(-1).max() < 1e-3
        tensor(True)
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
    """Turn each image to grayscale (kept as 3 channels) with probability ``factor`` (in training).

    Args:
        factor: the probability, in [0, 1] (default ``0.5``).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        seed: random seed (default ``None``).

    Example:
        >>> import torch
        >>> y = RandomGrayscale(1.0)(torch.rand(2, 3, 3, 3), training=True)
        >>> bool((y[..., 0] == y[..., 2]).all())
        True
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
    """Rotate each image's hue by a random amount up to ``factor / 2`` of a turn, either way (in training).

    Args:
        factor: a number in [0, 1] or a pair.
        value_range: the images' value range (default ``(0, 255)``).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        seed: random seed (default ``None``).

    Example:
        >>> import torch
        >>> RandomHue(0.5, value_range=(0, 1), seed=1)(torch.rand(2, 3, 3, 3), training=True).shape
        torch.Size([2, 3, 3, 3])
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
    """Scale each image's saturation by ``f / (1 - f)`` for a random ``f`` (in training).

    Args:
        factor: a number in [-1, 1] or a pair; ``0.5`` keeps the saturation, ``1.0`` saturates fully.
        value_range: the images' value range (default ``(0, 255)``).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        seed: random seed (default ``None``).

    Example:
        >>> import torch
        >>> RandomSaturation((0.0, 0.0))(torch.rand(1, 2, 2, 3), training=True).std(-1).max() < 1e-5
        tensor(True)
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
    """Invert images (``max - x``) with a random probability drawn in ``factor`` (in training).

    Args:
        factor: the probability range, a number in [0, 1] (``f`` means ``[0, f]``) or a pair (default ``1.0``).
        value_range: the images' value range (default ``(0, 255)``).
        seed: random seed (default ``None``).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.

    Example:
        >>> import torch
        >>> RandomInvert((1.0, 1.0), value_range=(0, 1))(torch.zeros(1, 2, 2, 3), training=True).min().item()
        1.0
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
    """Keep only the top ``b`` bits of each 8-bit channel, ``b`` drawn in ``[1, factor)`` (in training).

    Args:
        factor: bits to keep, a number in [1, 8] (``f`` means ``[1, f)``) or a pair.
        value_range: the images' value range (default ``(0, 255)``).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        seed: random seed (default ``None``).

    Example:
        >>> import torch
        >>> RandomPosterization((1, 1))(torch.tensor([[[[200.0, 100.0, 30.0]]]]), training=True).tolist()
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
    """Sharpen or blur each image by a random amount (in training): ``factor`` 0 blurs, 0.5 keeps, 1 sharpens.

    Args:
        factor: a number in [0, 1] or a pair.
        value_range: the images' value range; results are clipped to it (default ``(0, 255)``).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        seed: random seed (default ``None``).

    Example:
        >>> import torch
        >>> x = torch.rand(1, 4, 4, 3) * 255
        >>> bool(torch.allclose(RandomSharpness((0.5, 0.5))(x, training=True), x))
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
    """Invert pixels above a threshold, after adding a random offset (in training).

    Working in ``[0, 255]``: ``y = x + a`` clipped, then ``255 - y`` where ``y >= t``; ``a`` and ``t`` are drawn
    from ``addition_factor`` and ``threshold_factor`` (fractions of 255).

    Args:
        addition_factor: a number in [0, 1] (``f`` means ``[0, f]``) or a pair (default ``0.0``).
        threshold_factor: the same for the threshold (default ``0.0``: every pixel is inverted).
        value_range: the images' value range (default ``(0, 255)``).
        seed: random seed (default ``None``).

    Example:
        >>> import torch
        >>> Solarization()(torch.tensor([[[[0.0, 100.0, 255.0]]]]), training=True).tolist()
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
    """Random brightness, contrast, saturation and hue, applied in that order (each only when its factor is set).

    Args:
        value_range: the images' value range (default ``(0, 255)``).
        brightness_factor: as :class:`RandomBrightness`'s ``factor`` (default ``None``: skipped).
        contrast_factor: as :class:`RandomContrast`'s (default ``None``).
        saturation_factor: as :class:`RandomSaturation`'s (default ``None``).
        hue_factor: as :class:`RandomHue`'s (default ``None``).
        seed: random seed (default ``None``).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.

    Example:
        >>> import torch
        >>> layer = RandomColorJitter(brightness_factor=0.2, contrast_factor=0.3, seed=1)
        >>> layer(torch.rand(2, 4, 4, 3) * 255, training=True).shape
        torch.Size([2, 4, 4, 3])
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
                       if cls in (RandomSaturation, RandomHue) else cls(factor, value_range=value_range, seed=seed)
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

"""Sample-mixing and occlusion layers: ``MixUp``, ``CutMix``, ``RandomErasing``, plus ``RandomGaussianBlur``.

``MixUp`` and ``CutMix`` blend each image with another image of the batch and, given a dict with
``'labels'``, blend the labels by the same weights.

Example:
    >>> import torch, loom
    >>> batch = {"images": torch.rand(4, 8, 8, 3), "labels": torch.eye(4)}
    >>> out = loom.layers.MixUp(seed=0)(batch, training=True)
    >>> out["labels"].sum(-1).tolist()
    [1.0, 1.0, 1.0, 1.0]
"""

from __future__ import annotations

from typing import Any

import torch

from loom.errors import ConfigError
from loom.layers.preprocessing.image.base import (BaseImagePreprocessingLayer, factor_range, is_number,
                                                  per_image, value_range_arg)
from loom.ops import image as image_ops
from loom.random import beta as random_beta


def _seed_from(rng: torch.Generator) -> int:
    return int(torch.randint(0, 2 ** 31 - 1, (), generator=rng))


class _BoxMask(BaseImagePreprocessingLayer):
    """A layer that masks a random box per image (CutMix, RandomErasing)."""

    _USE_BASE_FACTOR = False

    def _axes(self) -> tuple[int, int, int]:
        return (1, 2, 3) if self.data_format == "channels_last" else (2, 3, 1)

    def _crop_bounds(self, rng: torch.Generator, batch: int, length: int, ratio: torch.Tensor) -> tuple:
        crop = ratio * length
        start = self._uniform(rng, (batch,)) * (length - crop)
        return start, start + crop

    def _box_masks(self, shape: tuple, x0, x1, y0, y1) -> torch.Tensor:
        """Boolean ``shape`` masks, True inside each image's ``[x0, x1) x [y0, y1)`` box (all channels)."""
        h_axis, w_axis, c_axis = self._axes()
        grid_y = torch.arange(shape[h_axis], dtype=torch.float32).reshape(
            [-1 if i == h_axis else 1 for i in range(4)])
        grid_x = torch.arange(shape[w_axis], dtype=torch.float32).reshape(
            [-1 if i == w_axis else 1 for i in range(4)])
        x0, x1, y0, y1 = (v.reshape(-1, 1, 1, 1) for v in (x0, x1, y0, y1))
        masks = (grid_x >= x0) & (grid_x < x1) & (grid_y >= y0) & (grid_y < y1)
        return masks.expand(shape)


class CutMix(_BoxMask):
    """Paste a random box from another image of the batch into each image (Yun et al., 2019), in training.

    Each image draws a weight ``lam ~ Beta(a, a)``, with ``a`` drawn once per call from ``factor``, and receives a
    box of ``sqrt(1 - lam)`` of its height and width, at a random place, from its partner in a random permutation
    of the batch. Labels are mixed by the area actually pasted: ``w * labels + (1 - w) * partner_labels`` with
    ``w = 1 - box_area / image_area``. A single image is mixed with itself (unchanged).

    Args:
        factor: the range of ``a``: a number ``f`` in [0, 1] means ``[0, f]``, or a pair (default ``1.0``).
        seed: random seed of the layer's generator (default ``None``: unseeded).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).

    Input shape:
        ``(batch, height, width, channels)`` with ``data_format='channels_last'``, ``(batch, channels, height,
        width)`` with ``'channels_first'``, or one image without the batch axis (mixed only with itself). A dict
        holding such ``'images'`` and optionally one-hot or soft ``'labels'`` ``(batch, num_classes)`` and
        ``'segmentation_masks'`` is accepted too.

    Output shape:
        The input's shape (a dict input gives back a dict with the same keys).

    Returns:
        The mixed images; the input unchanged outside training. Integer images come back in the layer's float
            dtype; a dict input gives the dict with ``'images'`` and (as float32) ``'labels'`` mixed
            (segmentation masks unchanged).

    Raises:
        ConfigError: a ``factor`` of the wrong form or out of [0, 1], an unknown ``data_format``; a dict input
            with ``'bounding_boxes'`` (not supported by this layer in loom).
        ShapeError: images of a rank other than 3 or 4.

    Example:
        >>> import torch, loom
        >>> batch = {"images": torch.rand(4, 8, 8, 3), "labels": torch.eye(4)}
        >>> out = loom.layers.CutMix(seed=1)(batch, training=True)
        >>> out["images"].shape, out["labels"].sum(-1).tolist()  # mixed labels still sum to 1
        (torch.Size([4, 8, 8, 3]), [1.0, 1.0, 1.0, 1.0])
    """

    def __init__(self, factor: Any = 1.0, seed: int | None = None, data_format: str | None = None, **kwargs: Any):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = factor_range(self, factor, (0, 1))

    def get_random_transformation(self, data, training=True, seed=None):
        images = data["images"] if isinstance(data, dict) else data
        if not training:
            return None
        shape = tuple(images.shape)
        batch = shape[0]
        h_axis, w_axis, _ = self._axes()
        rng = self._rng(seed)
        alpha = float(self._uniform(rng, (), *self.factor)) + 1e-6
        mix_weight = random_beta((batch,), alpha, alpha, seed=_seed_from(rng))
        ratio = torch.sqrt(1.0 - mix_weight)
        x0, x1 = self._crop_bounds(rng, batch, shape[w_axis], ratio)
        y0, y1 = self._crop_bounds(rng, batch, shape[h_axis], ratio)
        masks = self._box_masks(shape, x0, x1, y0, y1)
        area = (x1 - x0) * (y1 - y0) / (shape[w_axis] * shape[h_axis])
        return {"permutation_order": torch.randperm(batch, generator=rng), "batch_masks": masks,
                "mix_weight": (1.0 - area).reshape(-1, 1, 1, 1)}

    def transform_images(self, images, transformation=None, training=True):
        if not training or transformation is None:
            return images
        order = torch.as_tensor(transformation["permutation_order"]).long().to(images.device)
        masks = torch.as_tensor(transformation["batch_masks"]).to(images.device)
        return torch.where(masks, images[order], images)

    def transform_labels(self, labels, transformation, training=True):
        if not training or transformation is None:
            return labels
        order = torch.as_tensor(transformation["permutation_order"]).long().to(labels.device)
        weight = torch.as_tensor(transformation["mix_weight"]).reshape(-1, 1).to(labels.device, torch.float32)
        labels = labels.to(torch.float32)
        return weight * labels + (1.0 - weight) * labels[order]

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "seed": self.seed}


class MixUp(BaseImagePreprocessingLayer):
    """Blend each image with another image of the batch (Zhang et al., 2018), in training.

    Each image draws a weight ``lam ~ Beta(alpha, alpha)`` and becomes ``lam * x + (1 - lam) * partner``, its
    partner given by a random permutation of the batch. Labels and segmentation masks are blended by the same
    weights. A single image is mixed with itself (unchanged).

    Args:
        alpha: the parameter of the Beta distribution, a positive number; small values make most blends lean
            strongly towards one of the two images (default ``0.2``).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).
        seed: random seed of the layer's generator (default ``None``: unseeded).

    Input shape:
        ``(batch, height, width, channels)`` with ``data_format='channels_last'``, ``(batch, channels, height,
        width)`` with ``'channels_first'``, or one image without the batch axis (mixed only with itself). A dict
        holding such ``'images'`` and optionally one-hot or soft ``'labels'`` ``(batch, num_classes)`` and
        ``'segmentation_masks'`` is accepted too.

    Output shape:
        The input's shape (a dict input gives back a dict with the same keys).

    Returns:
        The blended images, in the input's dtype; the input unchanged outside training (integer images are cast
            to the layer's float dtype). A dict input gives the dict with ``'images'``, and as float32
            ``'labels'`` and ``'segmentation_masks'``, blended.

    Raises:
        ConfigError: an ``alpha`` that is not a positive number, an unknown ``data_format``; a dict input with
            ``'bounding_boxes'`` (not supported by this layer in loom).
        ShapeError: images of a rank other than 3 or 4.

    Example:
        >>> import torch, loom
        >>> batch = {"images": torch.rand(4, 8, 8, 3), "labels": torch.eye(4)}
        >>> out = loom.layers.MixUp(seed=0)(batch, training=True)
        >>> out["images"].shape, out["labels"].sum(-1).tolist()  # mixed labels still sum to 1
        (torch.Size([4, 8, 8, 3]), [1.0, 1.0, 1.0, 1.0])
    """

    _USE_BASE_FACTOR = False

    def __init__(self, alpha: float = 0.2, data_format: str | None = None, seed: int | None = None, **kwargs: Any):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        if not is_number(alpha) or alpha <= 0:
            raise ConfigError(f"MixUp '{self.name}': `alpha` must be a positive number, got {alpha!r}.")
        self.alpha = alpha

    def get_random_transformation(self, data, training=True, seed=None):
        images = data["images"] if isinstance(data, dict) else data
        batch = int(images.shape[0])
        rng = self._rng(seed)
        order = torch.randperm(batch, generator=rng)
        weight = random_beta((batch,), self.alpha, self.alpha, seed=_seed_from(rng))
        return {"mix_weight": weight, "permutation_order": order}

    def _mix(self, values: torch.Tensor, transformation: dict, shape: tuple) -> torch.Tensor:
        order = torch.as_tensor(transformation["permutation_order"]).long().to(values.device)
        weight = torch.as_tensor(transformation["mix_weight"]).reshape(shape).to(values.device, torch.float32)
        values = values.to(torch.float32)
        return weight * values + (1.0 - weight) * values[order]

    def transform_images(self, images, transformation=None, training=True):
        if not training or transformation is None:
            return images
        return self._mix(images, transformation, (-1, 1, 1, 1)).to(images.dtype)

    def transform_labels(self, labels, transformation, training=True):
        if not training or transformation is None:
            return labels
        return self._mix(labels, transformation, (-1, 1))

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        if not training or transformation is None:
            return segmentation_masks
        return self._mix(segmentation_masks, transformation, (-1, 1, 1, 1))

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "seed": self.seed}


class RandomErasing(_BoxMask):
    """Erase a random box of each image (Zhong et al., 2017), with a random probability, in training.

    Each image draws a probability ``p`` from ``factor`` and is erased with probability ``p``. Its box spans
    ``sqrt(u)`` of the image's width and ``sqrt(v)`` of its height, ``u`` and ``v`` drawn from ``scale``, at a
    random place; the box is painted with ``fill_value``.

    Args:
        factor: a number ``f`` in [0, 1] draws ``p`` in ``[0, f]``; a pair ``(lower, upper)`` draws it in
            ``[lower, upper]`` (default ``1.0``).
        scale: the range of ``u`` and ``v`` (the box's sides are their square roots): a pair in [0, 1], or a
            number ``s`` meaning ``[0, s]`` (default ``(0.02, 0.33)``).
        fill_value: the value painted in the box: a number, three numbers (one per channel, laid on the last axis,
            so for channels-last images), or ``None`` for Gaussian noise times ``value_range[1]``; clipped to
            ``value_range`` (default ``None``).
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
        The partly erased images; the input unchanged outside training. Integer images come back in the layer's
            float dtype; a dict input gives the dict with ``'images'`` replaced (labels and masks unchanged).

    Raises:
        ConfigError: a ``factor`` or ``scale`` of the wrong form or out of [0, 1], a ``fill_value`` other than
            ``None``, one number or three, a malformed ``value_range`` or an unknown ``data_format``; a dict
            input with ``'bounding_boxes'`` (not supported by this layer in loom).
        ShapeError: images of a rank other than 3 or 4.

    Example:
        >>> import torch, loom
        >>> layer = loom.layers.RandomErasing(factor=(1.0, 1.0), fill_value=0.0, seed=1)  # p = 1: always erase
        >>> y = layer(torch.ones(2, 8, 8, 3), training=True)
        >>> [bool((img == 0).any()) for img in y], sorted(y.unique().tolist())
        ([True, True], [0.0, 1.0])
    """

    def __init__(self, factor: Any = 1.0, scale: Any = (0.02, 0.33), fill_value: Any = None,
                 value_range: Any = (0, 255), seed: int | None = None, data_format: str | None = None, **kwargs: Any):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = factor_range(self, factor, (0, 1))
        self.scale = factor_range(self, scale, (0, 1), name="scale")
        fills = fill_value if isinstance(fill_value, (tuple, list)) else [fill_value]
        if fill_value is not None and (not all(is_number(v) for v in fills) or len(fills) not in (1, 3)):
            raise ConfigError(f"RandomErasing '{self.name}': `fill_value` must be None, a number or three numbers, "
                              f"got {fill_value!r}.")
        self.fill_value = fill_value
        self.value_range = value_range_arg(self, value_range, keep=True)

    def _fill(self, rng: torch.Generator, shape: tuple) -> torch.Tensor:
        if self.fill_value is None:
            fill = torch.randn(shape, generator=rng) * self.value_range[1]
        else:
            fill = torch.as_tensor(self.fill_value, dtype=torch.float32).expand(shape)
        return fill.clamp(self.value_range[0], self.value_range[1])

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        images = data["images"] if isinstance(data, dict) else data
        shape = tuple(images.shape)
        batch = shape[0]
        h_axis, w_axis, _ = self._axes()
        rng = self._rng(seed)
        side = torch.sqrt(self._uniform(rng, (batch, 2), *self.scale))
        x0, x1 = self._crop_bounds(rng, batch, shape[w_axis], side[:, 0])
        y0, y1 = self._crop_bounds(rng, batch, shape[h_axis], side[:, 1])
        masks = self._box_masks(shape, x0, x1, y0, y1)
        probability = self._uniform(rng, (batch,), *self.factor)
        apply = self._uniform(rng, (batch,)) < probability
        return {"apply_erasing": apply, "batch_masks": masks, "fill_value": self._fill(rng, shape)}

    def transform_images(self, images, transformation=None, training=True):
        if not training or transformation is None:
            return images
        masks = torch.as_tensor(transformation["batch_masks"]).to(images.device)
        fill = torch.as_tensor(transformation["fill_value"]).to(images.device, images.dtype)
        apply = per_image(torch.as_tensor(transformation["apply_erasing"]), images)
        return torch.where(apply, torch.where(masks, fill, images), images)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "scale": self.scale, "fill_value": self.fill_value,
                "value_range": self.value_range, "seed": self.seed}


class RandomGaussianBlur(BaseImagePreprocessingLayer):
    """Blur images with a Gaussian kernel of random width, each with a random probability (in training).

    Two standard deviations (one per spatial axis) are drawn from ``sigma`` once per call; each image draws a
    probability ``p`` from ``factor`` and is blurred with probability ``p`` (zero padding at the borders). The
    result is clipped to ``value_range``.

    Args:
        factor: a number ``f`` in [0, 1] draws ``p`` in ``[0, f]``; a pair ``(lower, upper)`` draws it in
            ``[lower, upper]`` (default ``1.0``).
        kernel_size: the kernel size, an odd positive int or two of them (default ``3``).
        sigma: the range of the standard deviations: a number ``s`` in [0, 1] means ``[0, s]``, or a pair in
            [0, 1] (default ``1.0``).
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
        The images, each blurred or not; the input unchanged outside training. Integer images come back in the
            layer's float dtype; a dict input gives the dict with ``'images'`` replaced (labels and masks
            unchanged).

    Raises:
        ConfigError: a ``factor`` or ``sigma`` of the wrong form or out of [0, 1], a ``kernel_size`` that is not
            odd and positive, a malformed ``value_range`` or an unknown ``data_format``; a dict input with
            ``'bounding_boxes'`` (not supported by this layer in loom).
        ShapeError: images of a rank other than 3 or 4.

    Example:
        >>> import torch, loom
        >>> layer = loom.layers.RandomGaussianBlur(factor=(1.0, 1.0), seed=1)  # p = 1: always blur
        >>> x = torch.zeros(1, 5, 5, 1)
        >>> x[0, 2, 2, 0] = 255.0
        >>> y = layer(x, training=True)
        >>> bool(y[0, 2, 2, 0] < 255), round(float(y.sum()), 2)  # the bright pixel spreads; the total is kept
        (True, 255.0)
    """

    _USE_BASE_FACTOR = False

    def __init__(self, factor: Any = 1.0, kernel_size: Any = 3, sigma: Any = 1.0, value_range: Any = (0, 255),
                 data_format: str | None = None, seed: int | None = None, **kwargs: Any):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = factor_range(self, factor, (0, 1))
        sizes = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size, kernel_size)
        if len(sizes) != 2 or not all(isinstance(k, int) and not isinstance(k, bool) and k > 0 and k % 2
                                      for k in sizes):
            raise ConfigError(f"RandomGaussianBlur '{self.name}': `kernel_size` must be an odd positive int or two, "
                              f"got {kernel_size!r}.")
        self.kernel_size = tuple(sizes)
        self.sigma = factor_range(self, sigma, (0, 1), name="sigma")
        self.value_range = value_range_arg(self, value_range, keep=True)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        batch = int((data["images"] if isinstance(data, dict) else data).shape[0])
        rng = self._rng(seed)
        probability = self._uniform(rng, (batch,), *self.factor)
        apply = self._uniform(rng, (batch,)) < probability
        return {"should_apply_blur": apply, "blur_factor": self._uniform(rng, (2,), *self.sigma) + 1e-6}

    def transform_images(self, images, transformation=None, training=True):
        if not training or transformation is None:
            return images
        sigma = tuple(float(s) for s in torch.as_tensor(transformation["blur_factor"]).reshape(-1))
        blurred = image_ops.gaussian_blur(images, self.kernel_size, sigma, data_format=self.data_format)
        apply = per_image(torch.as_tensor(transformation["should_apply_blur"]), images)
        return torch.where(apply, blurred, images).clamp(self.value_range[0], self.value_range[1])

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "kernel_size": self.kernel_size, "sigma": self.sigma,
                "value_range": self.value_range, "seed": self.seed}

"""``BaseImagePreprocessingLayer``: the shared frame of every image preprocessing / augmentation layer.

A layer draws its random parameters once per call in :meth:`~BaseImagePreprocessingLayer.get_random_transformation`
(a dict with Keras's keys) and applies them in :meth:`~BaseImagePreprocessingLayer.transform_images` (always a
batch: a single ``(h, w, c)`` image is handled as a batch of one). Random layers are the identity outside
training (``training=False``, ``predict`` / ``evaluate``, or after ``eval()``); called directly without
``training``, before ``train()`` / ``eval()`` set their torch mode, they augment, as Keras's do. Input is a tensor of images or a dict with
``'images'`` and optionally ``'labels'``, ``'segmentation_masks'``, ``'bounding_boxes'``.

Example:
    >>> import torch, loom
    >>> flip = loom.layers.RandomFlip("horizontal", seed=1)
    >>> x = torch.arange(4.0).reshape(1, 2, 2, 1)
    >>> bool((flip(x, training=False) == x).all())  # inference: the identity
    True
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch

from loom import config
from loom.errors import ConfigError, InputError, ShapeError
from loom.layers.layer import Layer
from loom.random.seed_generator import SeedGenerator, generator_from
from loom.ops._image_warp import INTERPOLATIONS, _fix, _nodes

_DATA_FORMATS = ("channels_last", "channels_first")


def standardize_data_format(layer: Layer, data_format: str | None) -> str:
    """``data_format`` checked, ``None`` meaning ``loom.config.image_data_format()``."""
    data_format = data_format or config.image_data_format()
    if data_format not in _DATA_FORMATS:
        raise ConfigError(f"{type(layer).__name__} '{layer.name}': data_format must be one of {_DATA_FORMATS}, "
                          f"got {data_format!r}.")
    return data_format


def is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def factor_range(layer: Layer, value: Any, bounds: tuple[float, float], name: str = "factor",
                 symmetric: bool = True) -> tuple[float, float]:
    """Keras's factor rule: a number ``f`` gives ``(max(-f, low), f)`` (``(low, f)`` when not ``symmetric``), a
    pair is sorted; anything else, or a number outside ``bounds``, raises :class:`ConfigError`."""
    low, high = bounds
    message = (f"{type(layer).__name__} '{layer.name}': `{name}` must be a number or a pair of numbers in "
               f"[{low}, {high}], got {value!r}.")
    if isinstance(value, (tuple, list)):
        if len(value) != 2 or not all(is_number(v) for v in value) or value[0] > high or value[1] < low:
            raise ConfigError(message)
        lower, upper = sorted(value)
        return lower, upper
    if not is_number(value) or value < low or value > high:
        raise ConfigError(message)
    if not symmetric:
        return low, value
    return max(-abs(value), low), abs(value)


def value_range_arg(layer: Layer, value_range: Any, keep: bool = False) -> Any:
    """A checked ``(min, max)`` pair: sorted into a list (as most Keras layers store it) unless ``keep``."""
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2 \
            or not all(is_number(v) for v in value_range):
        raise ConfigError(f"{type(layer).__name__} '{layer.name}': `value_range` must be a pair of numbers "
                          f"(min, max), got {value_range!r}.")
    return value_range if keep else sorted(value_range)


def rescale(images: torch.Tensor, source: Any, target: Any) -> torch.Tensor:
    """Map values linearly from the ``source`` range onto the ``target`` range."""
    if source[0] == target[0] and source[1] == target[1]:
        return images
    return (images - source[0]) / (source[1] - source[0]) * (target[1] - target[0]) + target[0]


def as_tensor(value: Any, device: torch.device | None = None) -> Any:
    """A transformation value (Keras tensor, array, number) as a torch tensor; dicts and tuples mapped."""
    if isinstance(value, dict):
        return {k: as_tensor(v, device) for k, v in value.items()}
    if isinstance(value, torch.Tensor):
        return value.to(device) if device is not None else value
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value)).to(device)
    return value


class BaseImagePreprocessingLayer(Layer):
    """Base of the image preprocessing layers (Keras's ``BaseImagePreprocessingLayer``).

    Subclasses override :meth:`get_random_transformation` and :meth:`transform_images` (and, where the
    transform moves pixels or mixes samples, :meth:`transform_labels` / :meth:`transform_segmentation_masks`).

    Args:
        factor: the layer's strength, checked against ``_FACTOR_BOUNDS`` when ``_USE_BASE_FACTOR`` (default
            ``None``: 0).
        bounding_box_format: accepted for Keras compatibility; only layers that say so transform boxes
            (default ``None``).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        seed: seed of the layer's :class:`~loom.random.SeedGenerator` (default ``None``: drawn from Python's
            ``random``, so ``loom.utils.set_random_seed`` makes runs repeatable).

    Example:
        >>> import torch
        >>> layer = BaseImagePreprocessingLayer()
        >>> layer(torch.zeros(4, 4, 3)).shape
        torch.Size([4, 4, 3])
    """

    _USE_BASE_FACTOR = True
    _FACTOR_BOUNDS = (-1, 1)
    #: Outside training the layer is the identity (False for deterministic layers such as Resizing).
    _random = True
    _training_by_default = True  # as Keras: a direct call augments, fit / evaluate / predict set the mode
    #: Interpolation used for images (segmentation masks always use 'nearest').
    interpolation = "bilinear"

    def __init__(self, factor: Any = None, bounding_box_format: str | None = None, data_format: str | None = None,
                 seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.bounding_box_format = bounding_box_format
        self.data_format = standardize_data_format(self, data_format)
        if self._USE_BASE_FACTOR:
            self.factor = factor_range(self, factor or 0.0, self._FACTOR_BOUNDS)
        elif factor is not None:
            raise ConfigError(f"{type(self).__name__} '{self.name}' does not take a `factor` argument, got "
                              f"factor={factor!r}.")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise ConfigError(f"{type(self).__name__} '{self.name}': `seed` must be an int or None, got {seed!r}.")
        self.seed = seed
        self.generator = SeedGenerator(seed) if self._random else None

    # ------------------------------------------------------------------------------------ random draws
    def _rng(self, seed: Any = None) -> torch.Generator:
        """A CPU generator for one call: from ``seed`` (int or SeedGenerator), else the layer's generator."""
        if seed is None:
            seed = self.generator
        if isinstance(seed, SeedGenerator):
            return seed.generator("cpu")
        return generator_from(int(seed), 0, "cpu")

    @staticmethod
    def _uniform(rng: torch.Generator, shape: Any, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
        return torch.rand(tuple(shape), generator=rng) * (high - low) + low

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        """The random parameters of one call on ``data`` (images or a dict); ``None`` for deterministic layers."""
        return None

    # ------------------------------------------------------------------------------------- transforms
    def transform_images(self, images: torch.Tensor, transformation: Any, training: bool = True) -> torch.Tensor:
        """Apply ``transformation`` to a batch of images (identity when not ``training``)."""
        return images

    def transform_labels(self, labels: torch.Tensor, transformation: Any, training: bool = True) -> torch.Tensor:
        """Labels are unchanged by default (mixing layers override)."""
        return labels

    def transform_segmentation_masks(self, segmentation_masks: torch.Tensor, transformation: Any,
                                     training: bool = True) -> torch.Tensor:
        """Masks follow geometric transforms (nearest interpolation); colour layers leave them unchanged."""
        return segmentation_masks

    def transform_bounding_boxes(self, bounding_boxes: dict, transformation: Any, training: bool = True) -> dict:
        """Bounding boxes are not supported by this layer in loom (see the layer's docstring)."""
        raise ConfigError(f"{type(self).__name__} '{self.name}': bounding boxes are not supported by this layer "
                          f"in loom; pass images, labels and segmentation_masks only.")

    # ------------------------------------------------------------------------------------------ calling
    def _height_width(self, images: torch.Tensor) -> tuple[int, int]:
        if self.data_format == "channels_last":
            return int(images.shape[-3]), int(images.shape[-2])
        return int(images.shape[-2]), int(images.shape[-1])

    def _check_images(self, images: Any) -> torch.Tensor:
        if not isinstance(images, torch.Tensor):
            images = torch.as_tensor(np.asarray(images))
        if images.ndim not in (3, 4):
            raise ShapeError(f"{type(self).__name__} '{self.name}': expected images of rank 3 (one image) or 4 "
                             f"(a batch), got shape {tuple(images.shape)}.")
        if not images.dtype.is_floating_point:
            images = images.to(self._dtype)
        return images

    def _transform_entry(self, key: str, value: torch.Tensor, transformation: Any, training: bool, single: bool) -> Any:
        method = {"images": self.transform_images, "labels": self.transform_labels,
                  "segmentation_masks": self.transform_segmentation_masks}[key]
        if not isinstance(value, torch.Tensor):
            value = torch.as_tensor(np.asarray(value))
        if key == "segmentation_masks" and not value.dtype.is_floating_point:
            value = value.to(self._dtype)
        out = method(value.unsqueeze(0) if single else value, transformation, training=training)
        return out.squeeze(0) if single else out

    def call(self, data: Any, training: bool = False) -> Any:
        is_dict = isinstance(data, dict)
        if is_dict:
            unknown = set(data) - {"images", "labels", "segmentation_masks", "bounding_boxes"}
            if "images" not in data or unknown:
                raise InputError(f"{type(self).__name__} '{self.name}': a dict input needs an 'images' key and "
                                 f"may hold 'labels', 'segmentation_masks', 'bounding_boxes'; got {sorted(data)}.")
        images = self._check_images(data["images"] if is_dict else data)
        single = images.ndim == 3
        batch = images.unsqueeze(0) if single else images
        active = bool(training) or not self._random
        if images.device.type == "meta":  # shape inference: no random draws needed for the shape
            transformation = self._meta_transformation(batch) if active else None
        else:
            transformation = self.get_random_transformation(batch, training=active) if active else None
        out = self.transform_images(batch, transformation, training=active)
        out = out.squeeze(0) if single else out
        if not is_dict:
            return out
        result = dict(data, images=out)
        for key in ("labels", "segmentation_masks"):
            if key in data:
                result[key] = self._transform_entry(key, data[key], transformation, active, single)
        if "bounding_boxes" in data:
            result["bounding_boxes"] = self._boxes(data["bounding_boxes"], transformation, active, single)
        return result

    def _meta_transformation(self, images: torch.Tensor) -> Any:
        """The transformation used for shape inference (on torch's meta device); random layers draw on CPU."""
        return self.get_random_transformation(torch.zeros(images.shape, dtype=images.dtype), training=True)

    def _boxes(self, boxes: Any, transformation: Any, training: bool, single: bool) -> dict:
        if not isinstance(boxes, dict) or "boxes" not in boxes or "labels" not in boxes:
            raise InputError(f"{type(self).__name__} '{self.name}': 'bounding_boxes' must be a dict with 'boxes' "
                             f"and 'labels', got {type(boxes).__name__}.")
        boxes = {k: torch.as_tensor(np.asarray(v)) if not isinstance(v, torch.Tensor) else v for k, v in boxes.items()}
        if single:
            boxes = {k: v.unsqueeze(0) for k, v in boxes.items()}
        out = self.transform_bounding_boxes(boxes, transformation, training=training)
        return {k: v.squeeze(0) for k, v in out.items()} if single else out

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict:
        config = {**super().get_config(), "data_format": self.data_format}
        if self.bounding_box_format is not None:
            config["bounding_box_format"] = self.bounding_box_format
        return config


def to_nchw(images: torch.Tensor, data_format: str) -> torch.Tensor:
    """A batch of images as ``(batch, channels, height, width)``."""
    return images.permute(0, 3, 1, 2) if data_format == "channels_last" else images


def from_nchw(images: torch.Tensor, data_format: str) -> torch.Tensor:
    """The inverse of :func:`to_nchw`."""
    return images.permute(0, 2, 3, 1) if data_format == "channels_last" else images


def per_image(values: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """A ``(batch,)``-like tensor reshaped to broadcast over ``(batch, h, w, c)`` images, on their device."""
    return values.reshape(-1, 1, 1, 1).to(device=images.device)


def _sample(x: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, order: int, fill_mode: str,
            fill_value: float) -> torch.Tensor:
    """Channels-last ``x`` ``(n, h, w, c)`` read at per-image positions ``rows`` / ``cols`` ``(n, h', w')``."""
    n, h, w, _ = x.shape
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    fill = torch.tensor(fill_value, dtype=x.dtype, device=x.device)
    result = None
    for r, r_weight in _nodes(rows, order):
        for c, c_weight in _nodes(cols, order):
            value = x[batch, _fix(r, h, fill_mode), _fix(c, w, fill_mode)]
            if fill_mode == "constant":
                inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
                value = torch.where(inside.unsqueeze(-1), value, fill)
            if order:
                value = value * (r_weight * c_weight).unsqueeze(-1).to(x.dtype)
            result = value if result is None else result + value
    return result


def projective_warp(images: torch.Tensor, transform: torch.Tensor, interpolation: str, fill_mode: str,
                    fill_value: float, data_format: str) -> torch.Tensor:
    """Warp a batch by per-image 8-parameter transforms ``(n, 8)``: output pixel ``(x, y)`` reads the input at
    ``((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)``, ``k = c0 x + c1 y + 1``.

    Sampling follows ``keras.ops.image.affine_transform`` exactly (its corner rule, its ``'reflect'`` /
    ``'wrap'`` / ``'nearest'`` / ``'mirror'`` indexing and its constant fill), gathering the whole batch at once;
    ``grid_sample`` has no 'wrap' and pads differently at the borders, so it would not give Keras's pixels.
    """
    x = images.permute(0, 2, 3, 1) if data_format == "channels_first" else images
    n, h, w, _ = x.shape
    t = torch.as_tensor(transform).to(x.device, torch.float32).reshape(-1, 8).expand(n, 8)
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32, device=x.device),
                            torch.arange(w, dtype=torch.float32, device=x.device), indexing="ij")
    a0, a1, a2, b0, b1, b2, c0, c1 = (t[:, i].view(n, 1, 1) for i in range(8))
    k = c0 * xs + c1 * ys + 1.0
    rows, cols = (b0 * xs + b1 * ys + b2) / k, (a0 * xs + a1 * ys + a2) / k
    work = x if x.dtype.is_floating_point else x.to(torch.float32)
    out = _sample(work, rows, cols, INTERPOLATIONS[interpolation], fill_mode, fill_value).to(x.dtype)
    return out.permute(0, 3, 1, 2) if data_format == "channels_first" else out


def affine_warp(layer: BaseImagePreprocessingLayer, images: torch.Tensor, transform: torch.Tensor,
                interpolation: str) -> torch.Tensor:
    """The one warp shared by the geometric layers, with the layer's fill mode, fill value and data format."""
    return projective_warp(images, transform, interpolation, layer.fill_mode, layer.fill_value, layer.data_format)

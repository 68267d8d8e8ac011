"""``RandomFlip`` and ``RandomCrop``: augmentation that moves whole pixels (no interpolation in training).

Example:
    >>> import torch, loom
    >>> loom.layers.RandomCrop(4, 4, seed=0)(torch.rand(2, 6, 6, 3), training=True).shape
    torch.Size([2, 4, 4, 3])
"""

from __future__ import annotations

from typing import Any

import torch

from loom.errors import ConfigError
from loom.layers.layer_args import choice_arg, positive_int_arg
from loom.layers.preprocessing.image.base import BaseImagePreprocessingLayer
from loom.ops import image as image_ops
from loom.random.seed_generator import make_default_seed

_FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")


class RandomFlip(BaseImagePreprocessingLayer):
    """Flip each image left-right and/or up-down with probability 1/2 (in training).

    With ``'horizontal_and_vertical'`` both flips share one coin per image (as in Keras), so an image is either
    kept or turned by half a turn. Segmentation masks are flipped with their images; bounding boxes are flipped
    too when the layer is built with ``bounding_box_format='xyxy'`` or ``'rel_xyxy'`` (a base-layer argument).

    Args:
        mode: ``'horizontal'`` (left-right), ``'vertical'`` (up-down) or ``'horizontal_and_vertical'`` (default).
        seed: random seed of the layer's generator (default ``None``: unseeded).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).

    Input shape:
        ``(batch, height, width, channels)`` with ``data_format='channels_last'``, ``(batch, channels, height,
        width)`` with ``'channels_first'``, or one image without the batch axis. A dict holding such ``'images'``
        (and optionally ``'labels'``, ``'segmentation_masks'`` and ``'bounding_boxes'``) is accepted too.

    Output shape:
        The input's shape (a dict input gives back a dict with the same keys).

    Returns:
        The images, each either unchanged or flipped; the input unchanged outside training. Integer images come
            back in the layer's float dtype; a dict input gives the dict with images, masks and boxes flipped
            alike (labels unchanged).

    Raises:
        ConfigError: an unknown ``mode`` or ``data_format``; bounding boxes in a dict while
            ``bounding_box_format`` is not ``'xyxy'`` or ``'rel_xyxy'``.
        ShapeError: images of a rank other than 3 or 4.

    Example:
        >>> import torch, loom
        >>> layer = loom.layers.RandomFlip("horizontal", seed=3)
        >>> x = torch.arange(6.0).reshape(1, 2, 3, 1)
        >>> y = layer(x, training=True)
        >>> bool(torch.equal(y, x) or torch.equal(y, x.flip(2)))  # kept, or mirrored left-right
        True
        >>> bool(torch.equal(layer(x, training=False), x))  # inference: the identity
        True
    """

    _USE_BASE_FACTOR = False

    def __init__(self, mode: str = "horizontal_and_vertical", seed: int | None = None,
                 data_format: str | None = None, **kwargs: Any):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.mode = choice_arg(self, "mode", mode, _FLIP_MODES)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        images = data["images"] if isinstance(data, dict) else data
        flips = self._uniform(self._rng(seed), (images.shape[0], 1, 1, 1)) <= 0.5
        return {"flips": flips, "input_shape": tuple(images.shape)}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        flips = torch.as_tensor(transformation["flips"]).reshape(-1, 1, 1, 1).to(images.device)
        h_axis, w_axis = (1, 2) if self.data_format == "channels_last" else (2, 3)
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            images = torch.where(flips, images.flip(w_axis), images)
        if self.mode in ("vertical", "horizontal_and_vertical"):
            images = torch.where(flips, images.flip(h_axis), images)
        return images

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        return self.transform_images(segmentation_masks, transformation, training)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if self.bounding_box_format not in ("xyxy", "rel_xyxy"):
            raise ConfigError(f"RandomFlip '{self.name}': loom flips bounding boxes in the 'xyxy' and 'rel_xyxy' "
                              f"formats only, got bounding_box_format={self.bounding_box_format!r}.")
        if not training or transformation is None:
            return bounding_boxes
        boxes = bounding_boxes["boxes"].to(torch.float32)
        shape = transformation["input_shape"]
        h, w = (shape[-3], shape[-2]) if self.data_format == "channels_last" else (shape[-2], shape[-1])
        h, w = (1.0, 1.0) if self.bounding_box_format == "rel_xyxy" else (float(h), float(w))
        flips = torch.as_tensor(transformation["flips"]).reshape(-1, 1, 1).to(boxes.device)
        x1, y1, x2, y2 = boxes.unbind(-1)
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            x1, x2 = torch.where(flips[..., 0], w - x2, x1), torch.where(flips[..., 0], w - x1, x2)
        if self.mode in ("vertical", "horizontal_and_vertical"):
            y1, y2 = torch.where(flips[..., 0], h - y2, y1), torch.where(flips[..., 0], h - y1, y2)
        return dict(bounding_boxes, boxes=torch.stack([x1, y1, x2, y2], -1))

    def get_config(self):
        return {**super().get_config(), "seed": self.seed, "mode": self.mode}


class RandomCrop(BaseImagePreprocessingLayer):
    """Crop a random ``(height, width)`` window of each batch (in training); centre-crop and resize in inference.

    In training, when the images are larger than the target on both sides, one random window (the same for the
    whole batch) is cut out. Otherwise, and in inference, the images are centre-cropped to the target aspect ratio
    and resized (bilinear) to ``(height, width)``: Keras's documented behaviour (Keras 3.15 itself returns the
    input unchanged in inference, which breaks the layer's output shape). Segmentation masks follow their images.

    Args:
        height: output height (a positive int).
        width: output width (a positive int).
        seed: random seed of the layer's generator (default ``None``: a seed is drawn and saved in the config, as
            Keras does).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).

    Input shape:
        ``(batch, in_height, in_width, channels)`` with ``data_format='channels_last'``, ``(batch, channels,
        in_height, in_width)`` with ``'channels_first'``, or one image without the batch axis. A dict holding such
        ``'images'`` (and optionally ``'labels'`` and ``'segmentation_masks'``) is accepted too.

    Output shape:
        ``(batch, height, width, channels)`` (channels last) or ``(batch, channels, height, width)``, in training
        and in inference.

    Returns:
        The cropped (or cropped and resized) images, as floats. A dict input gives the dict with ``'images'``
            and ``'segmentation_masks'`` replaced (labels unchanged).

    Raises:
        ConfigError: a ``height`` or ``width`` that is not a positive int, an unknown ``data_format``; a dict
            input with ``'bounding_boxes'`` (not supported by this layer in loom).
        ShapeError: images of a rank other than 3 or 4.

    Example:
        >>> import torch, loom
        >>> layer = loom.layers.RandomCrop(3, 4, seed=0)
        >>> x = torch.arange(64.0).reshape(1, 8, 8, 1)
        >>> y = layer(x, training=True)
        >>> y.shape, layer(x).shape
        (torch.Size([1, 3, 4, 1]), torch.Size([1, 3, 4, 1]))
        >>> d = y[0, ..., 0]  # the training crop is a window of x: steps of 1 along rows, of 8 down columns
        >>> bool(((d[:, 1:] - d[:, :-1]) == 1).all() and ((d[1:] - d[:-1]) == 8).all())
        True
    """

    _USE_BASE_FACTOR = False

    def __init__(self, height: int, width: int, seed: int | None = None, data_format: str | None = None,
                 name: str | None = None, **kwargs: Any):
        super().__init__(data_format=data_format, seed=make_default_seed() if seed is None else seed, name=name,
                         **kwargs)
        self.height = positive_int_arg(self, "height", height)
        self.width = positive_int_arg(self, "width", width)

    def get_random_transformation(self, data, training=True, seed=None):
        images = data["images"] if isinstance(data, dict) else data
        h, w = self._height_width(images)
        if training and h > self.height and w > self.width:
            rng = self._rng(seed)
            top = int(self._uniform(rng, (), 0.0, float(h - self.height + 1)))
            left = int(self._uniform(rng, (), 0.0, float(w - self.width + 1)))
            return top, left
        crop_h = max(min(h, int(float(w * self.height) / self.width)), 1)
        crop_w = max(min(w, int(float(h * self.width) / self.height)), 1)
        return int(float(h - crop_h) / 2), int(float(w - crop_w) / 2)

    def transform_images(self, images, transformation, training=True):
        if not training:
            return image_ops.resize(images, (self.height, self.width), crop_to_aspect_ratio=True,
                                    data_format=self.data_format)
        top, left = (int(v) for v in transformation)
        h_axis = 1 if self.data_format == "channels_last" else 2
        out = images.narrow(h_axis, top, min(self.height, images.shape[h_axis] - top))
        out = out.narrow(h_axis + 1, left, min(self.width, images.shape[h_axis + 1] - left))
        if tuple(out.shape[h_axis:h_axis + 2]) != (self.height, self.width):
            out = image_ops.resize(out, (self.height, self.width), data_format=self.data_format)
        return out

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        return self.transform_images(segmentation_masks, transformation, training)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width, "seed": self.seed}

"""``MaxNumBoundingBoxes``: pad or truncate each image's boxes to a fixed number, so batches stack.

Example:
    >>> import torch, loom
    >>> data = {"images": torch.zeros(1, 4, 4, 3),
    ...         "bounding_boxes": {"boxes": torch.ones(1, 2, 4), "labels": torch.tensor([[1, 2]])}}
    >>> out = loom.layers.MaxNumBoundingBoxes(3)(data)
    >>> out["bounding_boxes"]["labels"].tolist()
    [[1, 2, -1]]
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F

from loom.errors import ConfigError, InputError
from loom.layers.preprocessing.image.base import BaseImagePreprocessingLayer


class MaxNumBoundingBoxes(BaseImagePreprocessingLayer):
    """Pad or truncate each image's bounding boxes to ``max_number``, so that batches of boxes stack.

    ``bounding_boxes['boxes']`` becomes ``(batch, max_number, 4)`` and ``bounding_boxes['labels']``
    ``(batch, max_number)``: boxes past ``max_number`` are dropped, missing ones are filled with ``fill_value``.
    Images (and labels, masks) pass through unchanged. Applied in training and inference.

    Args:
        max_number: the number of boxes kept per image (a positive int).
        fill_value: the value of the padding boxes and labels, cast to int (default ``-1``). As in Keras, it is
            not part of ``get_config()``.

    Input shape:
        A dict with ``'images'`` ``(batch, height, width, channels)`` (or one image without the batch axis) and
        ``'bounding_boxes'``, itself a dict with ``'boxes'`` ``(batch, num_boxes, 4)`` and ``'labels'``
        ``(batch, num_boxes)`` (no batch axis for one image). A plain images tensor passes through.

    Output shape:
        The same dict, with ``'boxes'`` ``(batch, max_number, 4)`` and ``'labels'`` ``(batch, max_number)``.

    Returns:
        The input dict with ``'bounding_boxes'`` padded or truncated (integer images come back in the layer's
            float dtype).

    Raises:
        ConfigError: a ``max_number`` that is not a positive number.
        InputError: ``'bounding_boxes'`` that is not a dict with ``'boxes'`` and ``'labels'``, or boxes and labels
            of inconsistent shapes.

    Example:
        >>> import torch, loom
        >>> data = {"images": torch.zeros(1, 4, 4, 3),
        ...         "bounding_boxes": {"boxes": torch.ones(1, 2, 4), "labels": torch.tensor([[1, 2]])}}
        >>> out = loom.layers.MaxNumBoundingBoxes(3)(data)["bounding_boxes"]
        >>> out["boxes"].shape, out["labels"].tolist()
        (torch.Size([1, 3, 4]), [[1, 2, -1]])
    """

    _USE_BASE_FACTOR = False
    _random = False

    def __init__(self, max_number: int, fill_value: int = -1, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(max_number, bool) or not isinstance(max_number, (int, float)) or int(max_number) < 1:
            raise ConfigError(f"MaxNumBoundingBoxes '{self.name}': `max_number` must be a positive int, got "
                              f"{max_number!r}.")
        self.max_number = int(max_number)
        self.fill_value = int(fill_value)
        self.seed = None

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        boxes, labels = bounding_boxes["boxes"], bounding_boxes["labels"]
        if boxes.ndim != 3 or boxes.shape[-1] != 4 or labels.shape[:2] != boxes.shape[:2]:
            raise InputError(f"MaxNumBoundingBoxes '{self.name}': expected boxes (batch, n, 4) and labels "
                             f"(batch, n), got {tuple(boxes.shape)} and {tuple(labels.shape)}.")
        pad = max(self.max_number - boxes.shape[1], 0)
        boxes = F.pad(boxes[:, :self.max_number], (0, 0, 0, pad), value=self.fill_value)
        labels = F.pad(labels[:, :self.max_number], (0, pad), value=self.fill_value)
        return dict(bounding_boxes, boxes=boxes, labels=labels)

    def get_config(self):
        return {**super().get_config(), "max_number": self.max_number}

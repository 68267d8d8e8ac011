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
    """Make ``bounding_boxes['boxes']`` ``(batch, max_number, 4)`` and ``['labels']`` ``(batch, max_number)``:
    extra boxes are dropped, missing ones filled with ``fill_value``. Images pass through unchanged.

    Args:
        max_number: the number of boxes per image.
        fill_value: the padding value (default ``-1``).

    Example:
        >>> import torch
        >>> MaxNumBoundingBoxes(2)(torch.zeros(4, 4, 3)).shape
        torch.Size([4, 4, 3])
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

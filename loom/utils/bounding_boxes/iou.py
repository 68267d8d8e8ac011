"""Overlap of boxes: ``compute_iou`` (pairwise table) and ``compute_ciou`` (complete IoU, element-wise).

Example:
    >>> import numpy as np
    >>> a = np.array([[0.0, 0.0, 2.0, 2.0]])
    >>> round(float(compute_ciou(a, a, "xyxy")[0]), 4)
    1.0
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch

from loom import config
from loom.errors import ConfigError, ShapeError
from loom.utils.bounding_boxes.formats import convert_format


def _size(image_shape: Sequence[int] | None) -> tuple[Any, Any]:
    return (None, None) if image_shape is None else (image_shape[0], image_shape[1])


def compute_iou(boxes1: Any, boxes2: Any, bounding_box_format: str, use_masking: bool = False, mask_val: int = -1,
                image_shape: Sequence[int] | None = None) -> torch.Tensor:
    """The IoU of every box of ``boxes1`` with every box of ``boxes2``.

    Args:
        boxes1: ``(M, 4)`` or ``(batch, M, 4)``.
        boxes2: ``(N, 4)`` or ``(batch, N, 4)``.
        bounding_box_format: Format of both (see :data:`~loom.utils.bounding_boxes.FORMATS`).
        use_masking: Set pairs involving a padding box (all coordinates negative) to ``mask_val``. Defaults to
            `False`.
        mask_val: Value of masked pairs. Defaults to `-1`.
        image_shape: ``(height, width, channels)`` for relative formats. Defaults to `None`.

    Returns:
        ``(M, N)`` or ``(batch, M, N)`` IoU values.
    """
    op = "bounding_boxes.compute_iou"
    ranks = (_rank(boxes1), _rank(boxes2))
    if any(r not in (2, 3) for r in ranks):
        raise ShapeError(f"{op}: boxes must be (N, 4) or (batch, N, 4); got ranks {ranks}.")
    if "rel" in bounding_box_format and image_shape is None:
        raise ConfigError(f"{op}: relative format {bounding_box_format!r} needs `image_shape`.")
    height, width = _size(image_shape)
    b1 = convert_format(boxes1, bounding_box_format, "yxyx", height, width)
    b2 = convert_format(boxes2, bounding_box_format, "yxyx", height, width)
    p, q = b1.unsqueeze(-2), b2.unsqueeze(-3)
    inter_h = (torch.minimum(p[..., 2], q[..., 2]) - torch.maximum(p[..., 0], q[..., 0])).clamp(min=0)
    inter_w = (torch.minimum(p[..., 3], q[..., 3]) - torch.maximum(p[..., 1], q[..., 1])).clamp(min=0)
    inter = inter_h * inter_w
    area1 = ((b1[..., 2] - b1[..., 0]) * (b1[..., 3] - b1[..., 1])).unsqueeze(-1)
    area2 = ((b2[..., 2] - b2[..., 0]) * (b2[..., 3] - b2[..., 1])).unsqueeze(-2)
    iou = inter / (area1 + area2 - inter + config.epsilon())
    if not use_masking:
        return iou
    background = (b1.amax(-1) < 0).unsqueeze(-1) | (b2.amax(-1) < 0).unsqueeze(-2)
    return torch.where(background, torch.full_like(iou, float(mask_val)), iou)


def _rank(boxes: Any) -> int:
    return boxes.dim() if isinstance(boxes, torch.Tensor) else len(getattr(boxes, "shape", ()) or
                                                                   torch.as_tensor(boxes).shape)


def compute_ciou(boxes1: Any, boxes2: Any, bounding_box_format: str,
                 image_shape: Sequence[int] | None = None) -> torch.Tensor:
    """Complete IoU of corresponding boxes (IoU minus centre-distance and aspect-ratio penalties).

    Args:
        boxes1: ``(..., 4)`` boxes.
        boxes2: ``(..., 4)`` boxes, broadcastable against ``boxes1``.
        bounding_box_format: An absolute format (relative ones are refused, as in Keras).
        image_shape: Unused for absolute formats. Defaults to `None`.

    Returns:
        ``(...)`` CIoU values.
    """
    if "rel" in bounding_box_format:
        raise ConfigError(f"bounding_boxes.compute_ciou: relative format {bounding_box_format!r} is not supported.")
    eps = config.epsilon()
    height, width = _size(image_shape)
    a = convert_format(boxes1, bounding_box_format, "xyxy", height, width)
    b = convert_format(boxes2, bounding_box_format, "xyxy", height, width)
    w1, h1 = a[..., 2] - a[..., 0], a[..., 3] - a[..., 1] + eps
    w2, h2 = b[..., 2] - b[..., 0], b[..., 3] - b[..., 1] + eps
    inter = ((torch.minimum(a[..., 2], b[..., 2]) - torch.maximum(a[..., 0], b[..., 0])).clamp(min=0)
             * (torch.minimum(a[..., 3], b[..., 3]) - torch.maximum(a[..., 1], b[..., 1])).clamp(min=0))
    union = w1 * h1 + w2 * h2 - inter + eps
    iou = inter / (union + eps)
    hull_w = torch.maximum(a[..., 2], b[..., 2]) - torch.minimum(a[..., 0], b[..., 0])
    hull_h = torch.maximum(a[..., 3], b[..., 3]) - torch.minimum(a[..., 1], b[..., 1])
    diagonal = hull_w ** 2 + hull_h ** 2 + eps
    centres = (((a[..., 0] + a[..., 2]) - (b[..., 0] + b[..., 2])) / 2) ** 2 + \
              (((a[..., 1] + a[..., 3]) - (b[..., 1] + b[..., 3])) / 2) ** 2
    v = (4 / math.pi ** 2) * (torch.atan(w2 / h2) - torch.atan(w1 / h1)) ** 2
    alpha = v / (v - iou + (1 + eps))
    return iou - (centres / diagonal + v * alpha)

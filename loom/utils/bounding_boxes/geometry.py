"""Moving boxes with their image: ``clip_to_image_size``, ``crop``, ``pad``, ``affine_transform`` (``xyxy`` boxes).

Example:
    >>> import numpy as np
    >>> crop(np.array([[10, 20, 50, 60]]), top=10, left=20, height=40, width=30).tolist()
    [[0.0, 10.0, 30.0, 40.0]]
"""

from __future__ import annotations

import math
from typing import Any

import torch

from loom.errors import ConfigError
from loom.utils.bounding_boxes.formats import as_boxes


def _only_xyxy(fmt: str, op: str, allowed: tuple[str, ...] = ("xyxy",)) -> None:
    if fmt not in allowed:
        raise ConfigError(f"bounding_boxes.{op}: only bounding_box_format in {allowed} is supported; got {fmt!r}.")


def clip_to_image_size(bounding_boxes: dict, height: Any = None, width: Any = None,
                       bounding_box_format: str = "xyxy") -> dict:
    """Clips ``bounding_boxes["boxes"]`` to the image; labels of boxes left with no area become -1.

    Args:
        bounding_boxes: A dict with ``"boxes"`` ``(..., N, 4)`` and optionally ``"labels"`` ``(..., N)``.
        height: Image height (required for ``"xyxy"``). Defaults to `None`.
        width: Image width (required for ``"xyxy"``). Defaults to `None`.
        bounding_box_format: ``"xyxy"`` or ``"rel_xyxy"`` (clipped to [0, 1]). Defaults to `"xyxy"`.

    Returns:
        A new dict with the clipped boxes (and labels).
    """
    _only_xyxy(bounding_box_format, "clip_to_image_size", ("xyxy", "rel_xyxy"))
    if bounding_box_format == "xyxy" and (height is None or width is None):
        raise ConfigError("bounding_boxes.clip_to_image_size: `height` and `width` must be set for format 'xyxy'.")
    boxes = bounding_boxes["boxes"]
    boxes = boxes if isinstance(boxes, torch.Tensor) else torch.as_tensor(boxes)
    if not boxes.is_floating_point():
        boxes = boxes.to(torch.float32)
    limit_x, limit_y = (1.0, 1.0) if bounding_box_format == "rel_xyxy" else (float(width), float(height))
    x1, y1, x2, y2 = boxes.unbind(-1)
    boxes = torch.stack([x1.clamp(0, limit_x), y1.clamp(0, limit_y), x2.clamp(0, limit_x), y2.clamp(0, limit_y)],
                        -1)
    result = dict(bounding_boxes)
    result["boxes"] = boxes
    labels = bounding_boxes.get("labels")
    if labels is not None:
        labels = labels if isinstance(labels, torch.Tensor) else torch.as_tensor(labels)
        areas = (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
        result["labels"] = torch.where(areas > 0, labels, torch.full_like(labels, -1))
    return result


def crop(boxes: Any, top: Any, left: Any, height: Any, width: Any, bounding_box_format: str = "xyxy") -> torch.Tensor:
    """Boxes in the coordinates of the crop ``(top, left, height, width)``, clipped to it."""
    _only_xyxy(bounding_box_format, "crop")
    b = as_boxes(boxes, op="bounding_boxes.crop")
    x1, y1, x2, y2 = b.unbind(-1)
    w, h = float(width), float(height)
    return torch.stack([(x1 - left).clamp(0, w), (y1 - top).clamp(0, h), (x2 - left).clamp(0, w),
                        (y2 - top).clamp(0, h)], -1)


def pad(boxes: Any, top: Any, left: Any, height: Any = None, width: Any = None,
        bounding_box_format: str = "xyxy") -> torch.Tensor:
    """Boxes shifted by the padding added above (``top``) and to the left (``left``) of the image."""
    _only_xyxy(bounding_box_format, "pad")
    b = as_boxes(boxes, op="bounding_boxes.pad")
    return b + torch.tensor([left, top, left, top], dtype=b.dtype)


def _inverse_affine(center_x: Any, center_y: Any, angle: torch.Tensor, translate_x: Any, translate_y: Any,
                    scale: Any, shear_x: Any, shear_y: Any, height: int, width: int) -> torch.Tensor:
    """``(batch, 3, 3)``: the inverse of the image transform, which maps box corners (as Keras's layers do)."""
    rot, sx, sy = -angle * math.pi / 180.0, -shear_x * math.pi / 180.0, -shear_y * math.pi / 180.0
    cx, cy = center_x * (width - 1), center_y * (height - 1)
    tx, ty = -translate_x * (width - 1), -translate_y * (height - 1)
    cos_sy, tan_sx = torch.cos(sy), torch.tan(sx)
    a = torch.cos(rot - sy) / cos_sy
    b = a * tan_sx + torch.sin(rot)
    c = -torch.sin(rot - sy) / cos_sy
    d = torch.cos(rot) - c * tan_sx
    a0, a1, b0, b1 = d * scale, -b * scale, -c * scale, a * scale
    a2 = cx - a0 * (cx + tx) - a1 * (cy + ty)
    b2 = cy - b0 * (cx + tx) - b1 * (cy + ty)
    zeros, ones = torch.zeros_like(a0), torch.ones_like(a0)
    return torch.stack([a0, a1, a2, b0, b1, b2, zeros, zeros, ones], -1).reshape(-1, 3, 3)


def affine_transform(boxes: Any, angle: Any, translate_x: Any, translate_y: Any, scale: Any, shear_x: Any,
                     shear_y: Any, height: int, width: int, center_x: Any = None, center_y: Any = None,
                     bounding_box_format: str = "xyxy") -> torch.Tensor:
    """The enclosing boxes of ``(batch, N, 4)`` boxes after a rotation / translation / scale / shear per image.

    Args:
        boxes: ``(batch, N, 4)`` ``xyxy`` boxes.
        angle: ``(batch,)`` rotation in degrees.
        translate_x: ``(batch,)`` horizontal translation, a fraction of the width.
        translate_y: ``(batch,)`` vertical translation, a fraction of the height.
        scale: ``(batch,)`` scale factors.
        shear_x: ``(batch,)`` horizontal shear in degrees.
        shear_y: ``(batch,)`` vertical shear in degrees.
        height: Image height.
        width: Image width.
        center_x: Centre of the transform as a fraction of the width. Defaults to `None`: 0.5.
        center_y: Centre as a fraction of the height. Defaults to `None`: 0.5.
        bounding_box_format: Only ``"xyxy"``. Defaults to `"xyxy"`.
    """
    _only_xyxy(bounding_box_format, "affine_transform")
    angle_t = torch.as_tensor(angle, dtype=torch.float32).reshape(-1)

    def vec(v: Any) -> torch.Tensor:
        return torch.as_tensor(v, dtype=angle_t.dtype)
    matrix = _inverse_affine(vec(0.5 if center_x is None else center_x), vec(0.5 if center_y is None else center_y),
                             angle_t, vec(translate_x), vec(translate_y), vec(scale), vec(shear_x), vec(shear_y),
                             height, width)
    b = as_boxes(boxes, angle_t.dtype, "bounding_boxes.affine_transform")
    x1, y1, x2, y2 = b.unbind(-1)
    corners = torch.stack([torch.stack(p, -1) for p in ((x1, y1), (x2, y1), (x2, y2), (x1, y2))], -2)
    corners = torch.cat([corners, torch.ones_like(corners[..., :1])], -1)
    moved = torch.einsum("bnxy,byz->bnxz", corners, matrix[:, :2, :].transpose(1, 2))
    return torch.cat([moved.amin(2), moved.amax(2)], -1)

"""Bounding-box formats and ``convert_format`` (every conversion goes through ``xyxy``).

Example:
    >>> import torch
    >>> convert_format(torch.tensor([[0.1, 0.2, 0.5, 0.6]]), "rel_xyxy", "center_yxhw", height=10, width=20).tolist()
    [[4.0, 6.0, 4.0, 8.0]]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from loom import dtypes
from loom.errors import ConfigError, ShapeError

FORMATS = ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx", "rel_xywh",
           "rel_center_xywh")


def as_boxes(boxes: Any, dtype: Any = "float32", op: str = "bounding_boxes") -> torch.Tensor:
    """``boxes`` as a floating tensor whose last axis has 4 entries."""
    torch_dtype = dtypes.torch_dtype(dtype)
    tensor = boxes if isinstance(boxes, torch.Tensor) else torch.as_tensor(np.asarray(boxes))
    if tensor.dim() == 0 or tensor.shape[-1] != 4:
        raise ShapeError(f"{op}: `boxes` must have a last axis of 4; got shape {tuple(tensor.shape)}.")
    return tensor.to(torch_dtype)


def _check_format(name: str, op: str) -> str:
    lowered = str(name).lower()
    if lowered not in FORMATS:
        raise ConfigError(f"{op}: unknown bounding box format {name!r}; supported: {FORMATS}.")
    return lowered


def _to_xyxy(b: torch.Tensor, fmt: str, height: Any, width: Any) -> torch.Tensor:
    a, c, e, g = b.unbind(-1)
    if fmt == "xyxy":
        return b
    if fmt == "yxyx":
        return torch.stack([c, a, g, e], -1)
    if fmt == "xywh":
        return torch.stack([a, c, a + e, c + g], -1)
    if fmt == "center_xywh":
        return torch.stack([a - e / 2.0, c - g / 2.0, a + e / 2.0, c + g / 2.0], -1)
    if fmt == "center_yxhw":
        return torch.stack([c - g / 2.0, a - e / 2.0, c + g / 2.0, a + e / 2.0], -1)
    absolute = _to_xyxy(b, fmt[4:], None, None)
    return absolute * torch.stack([width, height, width, height])


def _from_xyxy(b: torch.Tensor, fmt: str, height: Any, width: Any) -> torch.Tensor:
    x1, y1, x2, y2 = b.unbind(-1)
    if fmt == "xyxy":
        return b
    if fmt == "yxyx":
        return torch.stack([y1, x1, y2, x2], -1)
    if fmt == "xywh":
        return torch.stack([x1, y1, x2 - x1, y2 - y1], -1)
    if fmt == "center_xywh":
        return torch.stack([x1 + (x2 - x1) / 2.0, y1 + (y2 - y1) / 2.0, x2 - x1, y2 - y1], -1)
    if fmt == "center_yxhw":
        return torch.stack([y1 + (y2 - y1) / 2.0, x1 + (x2 - x1) / 2.0, y2 - y1, x2 - x1], -1)
    relative = b / torch.stack([width, height, width, height])
    return _from_xyxy(relative, fmt[4:], None, None)


def convert_format(boxes: Any, source: str, target: str, height: Any = None, width: Any = None,
                   dtype: Any = "float32") -> Any:
    """Converts boxes from the ``source`` format to the ``target`` format.

    Args:
        boxes: ``(..., 4)`` boxes, or a dict whose ``"boxes"`` entry is converted (the dict is updated).
        source: One of :data:`FORMATS` (case-insensitive).
        target: One of :data:`FORMATS`.
        height: Image height; needed when exactly one side is relative. Defaults to `None`.
        width: Image width; needed likewise. Defaults to `None`.
        dtype: Result dtype. Defaults to `"float32"`.

    Raises:
        ConfigError: unknown format, or a relative format without ``height`` and ``width``.
        ShapeError: the last axis is not 4.
    """
    if isinstance(boxes, dict):
        boxes["boxes"] = convert_format(boxes["boxes"], source, target, height, width, dtype)
        return boxes
    op = "bounding_boxes.convert_format"
    tensor = as_boxes(boxes, dtype, op)
    source, target = _check_format(source, op), _check_format(target, op)
    if (source.startswith("rel_") or target.startswith("rel_")) and (height is None or width is None):
        raise ConfigError(f"{op}: converting from {source!r} to {target!r} needs `height` and `width`; got "
                          f"height={height}, width={width}.")
    if source == target:
        return tensor
    if source.startswith("rel_") and target.startswith("rel_"):
        source, target = source[4:], target[4:]
    h = None if height is None else torch.as_tensor(height, dtype=tensor.dtype)
    w = None if width is None else torch.as_tensor(width, dtype=tensor.dtype)
    return _from_xyxy(_to_xyxy(tensor, source, h, w), target, h, w)

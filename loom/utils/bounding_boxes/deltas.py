"""Anchor-relative box encodings for detection heads: ``encode_box_to_deltas`` / ``decode_deltas_to_boxes``.

A box is encoded against its anchor as ``((centre - anchor centre) / anchor size, log(size / anchor size))``
in ``center_yxhw`` (or ``center_xywh``) order, optionally divided by ``variance``.

Example:
    >>> import numpy as np
    >>> anchors = np.array([[0.0, 0.0, 10.0, 10.0]])
    >>> deltas = encode_box_to_deltas(anchors, np.array([[1.0, 2.0, 11.0, 12.0]]), "xyxy", "xyxy")
    >>> decode_deltas_to_boxes(anchors, deltas, "xyxy", "xyxy").round().tolist()
    [[1.0, 2.0, 11.0, 12.0]]
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from loom import config
from loom.errors import ConfigError
from loom.utils.bounding_boxes.formats import convert_format

_ENCODINGS = ("center_xywh", "center_yxhw")


def _checks(variance: Any, encoding: str, name: str, op: str) -> torch.Tensor | None:
    if encoding not in _ENCODINGS:
        raise ConfigError(f"bounding_boxes.{op}: `{name}` must be one of {_ENCODINGS}; got {encoding!r}.")
    if variance is None:
        return None
    variance = torch.as_tensor(variance, dtype=torch.float32)
    if variance.numel() != 4:
        raise ConfigError(f"bounding_boxes.{op}: `variance` must hold 4 values; got {variance.tolist()}.")
    return variance


def _size(image_shape: Sequence[int] | None) -> tuple[Any, Any]:
    return (None, None) if image_shape is None else (image_shape[0], image_shape[1])


def encode_box_to_deltas(anchors: Any, boxes: Any, anchor_format: str, box_format: str,
                         encoding_format: str = "center_yxhw", variance: Any = None,
                         image_shape: Sequence[int] | None = None) -> torch.Tensor:
    """Deltas turning ``anchors`` into ``boxes`` (same shapes, ``(N, 4)`` or ``(batch, N, 4)``).

    Args:
        anchors: Anchor boxes in ``anchor_format``.
        boxes: Target boxes in ``box_format``.
        anchor_format: Format of the anchors.
        box_format: Format of the boxes.
        encoding_format: ``"center_yxhw"`` or ``"center_xywh"``. Defaults to `"center_yxhw"`.
        variance: 4 values dividing the deltas. Defaults to `None`.
        image_shape: ``(height, width, channels)`` for relative formats. Defaults to `None`.
    """
    variance = _checks(variance, encoding_format, "encoding_format", "encode_box_to_deltas")
    height, width = _size(image_shape)
    a = convert_format(anchors, anchor_format, encoding_format, height, width)
    b = convert_format(boxes, box_format, encoding_format, height, width)
    a_size, b_size = a[..., 2:].clamp(min=config.epsilon()), b[..., 2:].clamp(min=config.epsilon())
    deltas = torch.cat([(b[..., :2] - a[..., :2]) / a_size, torch.log(b_size / a_size)], -1)
    return deltas if variance is None else deltas / variance


def decode_deltas_to_boxes(anchors: Any, boxes_delta: Any, anchor_format: str, box_format: str,
                           encoded_format: str = "center_yxhw", variance: Any = None,
                           image_shape: Sequence[int] | None = None) -> Any:
    """Boxes in ``box_format`` from anchors and deltas (dicts of levels are decoded level by level).

    Args:
        anchors: Anchor boxes (or a dict level -> anchors).
        boxes_delta: Deltas (or a dict level -> deltas, same keys).
        anchor_format: Format of the anchors.
        box_format: Format of the result.
        encoded_format: ``"center_yxhw"`` or ``"center_xywh"``. Defaults to `"center_yxhw"`.
        variance: 4 values multiplying the deltas. Defaults to `None`.
        image_shape: ``(height, width, channels)`` for relative formats. Defaults to `None`.
    """
    variance = _checks(variance, encoded_format, "encoded_format", "decode_deltas_to_boxes")
    height, width = _size(image_shape)

    def decode(anchor: Any, delta: Any) -> torch.Tensor:
        a = convert_format(anchor, anchor_format, encoded_format, height, width)
        d = convert_format(delta, encoded_format, encoded_format)
        if variance is not None:
            d = d * variance
        box = torch.cat([d[..., :2] * a[..., 2:] + a[..., :2], torch.exp(d[..., 2:]) * a[..., 2:]], -1)
        return convert_format(box, encoded_format, box_format, height, width)

    if isinstance(anchors, dict) and isinstance(boxes_delta, dict):
        return {level: decode(anchor, boxes_delta[level]) for level, anchor in anchors.items()}
    return decode(anchors, boxes_delta)

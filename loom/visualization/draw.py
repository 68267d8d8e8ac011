"""Draw boxes and segmentation masks onto batches of images (NumPy ``uint8`` results, as Keras's).

Boxes are drawn with Pillow (Keras uses OpenCV): rectangles ``line_thickness`` pixels wide in ``color``,
labelled with ``class_mapping[label]`` and the confidence when given; boxes with label -1 are skipped.

Example:
    >>> import numpy as np
    >>> out = draw_bounding_boxes(np.zeros((1, 8, 8, 3), "uint8"),
    ...                           {"boxes": np.array([[[1, 1, 6, 6]]]), "labels": np.array([[0]])},
    ...                           "xyxy", color=(255, 0, 0), line_thickness=1)
    >>> out[0, 1, 3].tolist(), out[0, 3, 3].tolist()
    ([255, 0, 0], [0, 0, 0])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from loom import config
from loom.errors import InputError

__all__ = ["draw_bounding_boxes", "draw_segmentation_masks"]


def _numpy(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def _channels_last(images: np.ndarray, data_format: str | None, what: str) -> np.ndarray:
    if images.ndim != 4:
        raise InputError(f"{what}: `images` must be a batched 4-D array; got shape {images.shape}.")
    return images.transpose(0, 2, 3, 1) if (data_format or config.image_data_format()) == "channels_first" else images


def _as_uint8(images: np.ndarray) -> np.ndarray:
    if images.dtype.kind == "f" and images.size:
        images = np.clip(images, 0, 1) * 255 if images.max() <= 1.0 else np.clip(images, 0, 255)
    return images.astype("uint8")


def draw_bounding_boxes(images: Any, bounding_boxes: dict, bounding_box_format: str, class_mapping: dict | None = None,
                        color: tuple = (128, 128, 128), line_thickness: int = 2, text_thickness: int = 1,
                        font_scale: float = 1.0, data_format: str | None = None) -> np.ndarray:
    """``images`` (batch, height, width, channels) with ``bounding_boxes`` drawn on them.

    Args:
        images: the batch (floats in [0, 1] or [0, 255], or integers).
        bounding_boxes: ``{"boxes": (batch, n, 4), "labels": (batch, n)}`` and optionally ``"confidences"``.
        bounding_box_format: the boxes' format (``"xyxy"``, ``"yxyx"``, ``"xywh"``, ``"center_xywh"``, ...).
        class_mapping: label -> name written above each box (default ``None``: the label number).
        color: the RGB color of boxes and text. line_thickness: the box outline width in pixels.
        text_thickness, font_scale: accepted for Keras compatibility (Pillow's default font is used).
        data_format: ``"channels_last"`` / ``"channels_first"`` (default: ``loom.config.image_data_format()``).

    Raises:
        InputError: ``images`` is not 4-D, or ``bounding_boxes`` lacks ``boxes`` / ``labels``.
    """
    from PIL import Image, ImageDraw

    from loom.utils.bounding_boxes import convert_format
    images = _channels_last(_numpy(images), data_format, "draw_bounding_boxes")
    if not isinstance(bounding_boxes, dict) or "boxes" not in bounding_boxes or "labels" not in bounding_boxes:
        raise InputError("draw_bounding_boxes: `bounding_boxes` must be a dict with 'boxes' and 'labels'.")
    height, width = images.shape[1:3]
    boxes = _numpy(convert_format(_numpy(bounding_boxes["boxes"]).astype("float32"), bounding_box_format, "xyxy",
                                  height=height, width=width))
    labels = _numpy(bounding_boxes["labels"])
    confidences = _numpy(bounding_boxes["confidences"]) if "confidences" in bounding_boxes else None
    out = []
    for i, image in enumerate(_as_uint8(images)):
        canvas = Image.fromarray(image.squeeze(-1) if image.shape[-1] == 1 else image)
        pen = ImageDraw.Draw(canvas)
        ink = tuple(color) if canvas.mode == "RGB" else int(np.mean(color))
        for j, (x1, y1, x2, y2) in enumerate(boxes[i].astype("int64")):
            label = int(labels[i][j])
            if label == -1:
                continue
            pen.rectangle([int(x1), int(y1), int(x2), int(y2)], outline=ink, width=max(int(line_thickness), 1))
            text = str((class_mapping or {}).get(label, label))
            if confidences is not None:
                text += f" | {float(confidences[i][j]):.2f}"
            pen.text((int(x1), max(int(y1) - 12, 0)), text, fill=ink)
        drawn = np.asarray(canvas)
        out.append(drawn[..., None] if drawn.ndim == 2 else drawn)
    return np.stack(out)


def _palette(num_classes: int) -> list:
    base = np.array([2 ** 25 - 1, 2 ** 15 - 1, 2 ** 21 - 1])
    return [(i * base % 255).tolist() for i in range(num_classes)]


def draw_segmentation_masks(images: Any, segmentation_masks: Any, num_classes: int | None = None,
                            color_mapping: dict | None = None, alpha: float = 0.8, blend: bool = True,
                            ignore_index: int = -1, data_format: str | None = None) -> np.ndarray:
    """``images`` with each class of ``segmentation_masks`` painted in its color (blended with ``alpha``).

    Args:
        images: the batch (batch, height, width, channels).
        segmentation_masks: integer class ids, (batch, height, width, 1).
        num_classes: the number of classes (default: the largest id in the masks + 1, so every id present is
            painted; Keras's default, the largest id, fails on its torch backend).
        color_mapping: class id -> RGB color (default: Keras's generated palette).
        alpha: the masks' opacity. blend: blend masks with the images (default ``True``).
        ignore_index: the id left unpainted (default -1).
        data_format: as :func:`draw_bounding_boxes`.

    Raises:
        InputError: masks that are not integers, or ``images`` that are not 4-D.
    """
    fmt = data_format or config.image_data_format()
    images = _channels_last(_numpy(images), fmt, "draw_segmentation_masks").astype("float32")
    masks = _numpy(segmentation_masks)
    if fmt == "channels_first":
        masks = masks.transpose(0, 2, 3, 1)
    if masks.dtype.kind not in "iu":
        raise InputError(f"draw_segmentation_masks: `segmentation_masks` must be integers; got {masks.dtype}.")
    num_classes = int(masks.max()) + 1 if num_classes is None else num_classes
    colors = _palette(num_classes) if color_mapping is None else [color_mapping[i] for i in range(num_classes)]
    ids = masks[..., 0]
    painted = images.copy()
    for class_id, color in enumerate(colors):
        painted[ids == class_id] = np.asarray(color, dtype=painted.dtype)
    if not blend:
        return painted
    valid = (ids != ignore_index)[..., None]
    return np.where(valid, images * (1 - alpha) + painted * alpha, images).astype("uint8")

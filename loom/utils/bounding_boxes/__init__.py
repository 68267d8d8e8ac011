"""``keras.utils.bounding_boxes``: converting, clipping, cropping, padding and comparing bounding boxes.

Boxes are arrays or tensors whose last axis holds 4 numbers in one of :data:`FORMATS` (``"xyxy"`` is
``[left, top, right, bottom]``; ``rel_`` formats are fractions of the image size). Results are torch tensors.

Example:
    >>> import numpy as np
    >>> from loom.utils import bounding_boxes
    >>> bounding_boxes.convert_format(np.array([[10, 20, 30, 40]]), "xyxy", "xywh").tolist()
    [[10.0, 20.0, 20.0, 20.0]]
    >>> round(float(bounding_boxes.compute_iou(np.array([[0, 0, 2, 2]]), np.array([[1, 1, 3, 3]]), "xyxy")[0, 0]), 4)
    0.1429
"""

from loom.utils.bounding_boxes.deltas import decode_deltas_to_boxes, encode_box_to_deltas
from loom.utils.bounding_boxes.formats import FORMATS, convert_format
from loom.utils.bounding_boxes.geometry import affine_transform, clip_to_image_size, crop, pad
from loom.utils.bounding_boxes.iou import compute_ciou, compute_iou

__all__ = ["FORMATS", "affine_transform", "clip_to_image_size", "compute_ciou", "compute_iou", "convert_format",
           "crop", "decode_deltas_to_boxes", "encode_box_to_deltas", "pad"]

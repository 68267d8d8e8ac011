import numpy as np
import pytest
import torch

from loom.errors import ConfigError, ShapeError
from loom.utils import bounding_boxes as bb
from tests.keras_oracle import keras
from tests.tolerance import assert_allclose_scaled

kbb = keras.utils.bounding_boxes
RNG = np.random.RandomState(0)
XY = RNG.rand(2, 5, 2) * 50
BOXES = np.concatenate([XY, XY + RNG.rand(2, 5, 2) * 40 + 1], -1).astype("float32")  # xyxy, batch of 2


def _np(x):
    return np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x)


@pytest.mark.parametrize("target", bb.FORMATS)
def test_convert_format_matches_keras_both_ways(target):
    kwargs = dict(height=100, width=120)
    ours = bb.convert_format(BOXES, "xyxy", target, **kwargs)
    assert_allclose_scaled(_np(ours), _np(kbb.convert_format(BOXES.copy(), "xyxy", target, **kwargs)), 1e-6)
    back = bb.convert_format(_np(ours), target, "xyxy", **kwargs)
    assert_allclose_scaled(_np(back), BOXES, 1e-5)
    mid = bb.convert_format(_np(ours), target, "rel_yxyx", **kwargs)
    assert_allclose_scaled(_np(mid), _np(kbb.convert_format(_np(ours), target, "rel_yxyx", **kwargs)), 1e-6)


@pytest.mark.parametrize("masking", [False, True])
def test_compute_iou_matches_keras(masking):
    boxes2 = BOXES[:, :3].copy()
    boxes2[0, 1] = -1.0
    pairs = [(BOXES, boxes2), (BOXES[0], boxes2[1])] + ([] if masking else [(BOXES, boxes2[0])])  # Keras fails there
    for a, b in pairs:
        ours = bb.compute_iou(a, b, "xyxy", use_masking=masking)
        theirs = kbb.compute_iou(a, b, "xyxy", use_masking=masking)
        assert tuple(ours.shape) == tuple(theirs.shape)
        assert_allclose_scaled(_np(ours), _np(theirs), 1e-5)


def test_compute_ciou_matches_keras():
    other = BOXES[:, ::-1].copy()
    assert_allclose_scaled(_np(bb.compute_ciou(BOXES, other, "xyxy")), _np(kbb.compute_ciou(BOXES, other, "xyxy")),
                           1e-5)


def test_clip_crop_pad_affine_match_keras():
    data = {"boxes": BOXES * 2 - 20, "labels": np.arange(10).reshape(2, 5)}
    ours = bb.clip_to_image_size(dict(data), height=60, width=70)
    theirs = kbb.clip_to_image_size(dict(data), height=60, width=70)
    for key in ("boxes", "labels"):
        np.testing.assert_allclose(_np(ours[key]), _np(theirs[key]), rtol=1e-6)
    np.testing.assert_allclose(_np(bb.crop(BOXES, 5, 7, 30, 40)), _np(kbb.crop(BOXES, 5, 7, 30, 40)), rtol=1e-6)
    np.testing.assert_allclose(_np(bb.pad(BOXES, 5, 7)), _np(kbb.pad(BOXES, 5, 7)), rtol=1e-6)
    args = [np.array([30.0, -10.0], "float32"), np.array([0.1, 0.0], "float32"), np.array([0.0, -0.2], "float32"),
            np.array([1.0, 1.2], "float32"), np.array([5.0, 0.0], "float32"), np.array([0.0, 3.0], "float32")]
    tensors = [torch.tensor(a) for a in args]
    assert_allclose_scaled(_np(bb.affine_transform(BOXES, *args, 100, 120)),
                           _np(kbb.affine_transform(torch.tensor(BOXES), *tensors, 100, 120)), 1e-5)


@pytest.mark.parametrize("variance", [None, [0.1, 0.1, 0.2, 0.2]])
def test_deltas_match_keras_and_round_trip(variance):
    anchors, boxes = torch.tensor(BOXES[0]), torch.tensor(BOXES[1])  # Keras needs tensors here
    ours = bb.encode_box_to_deltas(anchors, boxes, "xyxy", "xyxy", variance=variance)
    theirs = kbb.encode_box_to_deltas(anchors, boxes, "xyxy", "xyxy", variance=variance)
    assert_allclose_scaled(_np(ours), _np(theirs), 1e-5)
    decoded = bb.decode_deltas_to_boxes({"p3": anchors}, {"p3": _np(ours)}, "xyxy", "xywh", variance=variance)
    keras_decoded = kbb.decode_deltas_to_boxes({"p3": anchors}, {"p3": theirs}, "xyxy", "xywh",
                                               variance=variance)
    assert_allclose_scaled(_np(decoded["p3"]), _np(keras_decoded["p3"]), 1e-5)


def test_errors():
    with pytest.raises(ConfigError, match="unknown bounding box format"):
        bb.convert_format(BOXES, "xyxy", "xxyy")
    with pytest.raises(ConfigError, match="height"):
        bb.convert_format(BOXES, "xyxy", "rel_xyxy")
    with pytest.raises(ShapeError, match="last axis of 4"):
        bb.convert_format(np.zeros((2, 3)), "xyxy", "yxyx")
    with pytest.raises(ConfigError, match="relative"):
        bb.compute_iou(BOXES, BOXES, "rel_xyxy")
    with pytest.raises(ConfigError, match="variance"):
        bb.encode_box_to_deltas(BOXES, BOXES, "xyxy", "xyxy", variance=[1, 2])
    with pytest.raises(ConfigError, match="only bounding_box_format"):
        bb.crop(BOXES, 0, 0, 1, 1, bounding_box_format="yxyx")

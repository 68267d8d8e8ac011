"""keras.visualization on loom: masks equal to Keras's, boxes drawn where they belong, galleries written."""

import numpy as np
import pytest
from PIL import Image

import loom
from loom.errors import ConfigError, InputError
from tests.keras_oracle import keras

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 255, size=(2, 16, 16, 3)).astype("uint8")
MASKS = RNG.integers(0, 3, size=(2, 16, 16, 1)).astype("int32")


@pytest.mark.parametrize("kwargs", [{"num_classes": 3}, {"num_classes": 3, "alpha": 0.5}, {"blend": False, "num_classes": 3},
                                    {"num_classes": 3, "ignore_index": 1,
                                     "color_mapping": {0: (1, 2, 3), 1: (4, 5, 6), 2: (7, 8, 9)}}])
def test_segmentation_masks_match_keras(kwargs):
    ours = loom.visualization.draw_segmentation_masks(IMAGES, MASKS, **kwargs)
    theirs = keras.visualization.draw_segmentation_masks(IMAGES, MASKS, **kwargs)
    np.testing.assert_array_equal(np.asarray(ours), keras.ops.convert_to_numpy(theirs))


def test_default_class_count_paints_every_id():
    # Keras's default (num_classes = largest id) fails on its torch backend; loom counts ids 0..max.
    with pytest.raises(RuntimeError):
        keras.visualization.draw_segmentation_masks(IMAGES, MASKS)
    np.testing.assert_array_equal(loom.visualization.draw_segmentation_masks(IMAGES, MASKS),
                                  loom.visualization.draw_segmentation_masks(IMAGES, MASKS, num_classes=3))


@pytest.mark.parametrize("fmt,boxes", [("xyxy", [[2, 3, 10, 12]]), ("xywh", [[2, 3, 8, 9]]),
                                       ("rel_xyxy", [[2 / 16, 3 / 16, 10 / 16, 12 / 16]])])
def test_boxes_are_drawn_on_their_outline(fmt, boxes):
    images = np.zeros((1, 16, 16, 3), "uint8")
    out = loom.visualization.draw_bounding_boxes(
        images, {"boxes": np.array([boxes], "float32"), "labels": np.array([[1]])}, fmt, color=(0, 255, 0),
        line_thickness=1)
    assert out.shape == images.shape and out.dtype == np.uint8
    assert out[0, 3, 6].tolist() == [0, 255, 0] and out[0, 12, 6].tolist() == [0, 255, 0]  # top and bottom edges
    assert out[0, 7, 2].tolist() == [0, 255, 0] and out[0, 7, 10].tolist() == [0, 255, 0]  # left and right edges
    assert out[0, 7, 6].tolist() == [0, 0, 0] and out[0, 14, 14].tolist() == [0, 0, 0]  # inside, outside


def test_skipped_labels_and_bad_input():
    images = np.zeros((1, 8, 8, 3), "float32")
    out = loom.visualization.draw_bounding_boxes(images, {"boxes": np.array([[[1, 1, 6, 6]]]),
                                                          "labels": np.array([[-1]])}, "xyxy")
    assert not out.any()
    with pytest.raises(InputError, match="boxes"):
        loom.visualization.draw_bounding_boxes(images, {"labels": np.array([[0]])}, "xyxy")
    with pytest.raises(InputError, match="4-D"):
        loom.visualization.draw_bounding_boxes(images[0], {"boxes": [], "labels": []}, "xyxy")
    with pytest.raises(InputError, match="integers"):
        loom.visualization.draw_segmentation_masks(IMAGES, MASKS.astype("float32"))


def test_galleries_are_written(tmp_path):
    paths = [tmp_path / f"{name}.png" for name in ("images", "boxes", "masks")]
    loom.visualization.plot_image_gallery(IMAGES, y_true=np.array([0, 1]), label_map={0: "cat", 1: "dog"},
                                          path=paths[0])
    boxes = {"boxes": np.array([[[2, 2, 9, 9]], [[1, 1, 5, 5]]], "float32"), "labels": np.array([[0], [1]])}
    loom.visualization.plot_bounding_box_gallery(IMAGES, "xyxy", y_true=boxes, y_pred=boxes, legend=True,
                                                 class_mapping={0: "a", 1: "b"}, path=paths[1])
    loom.visualization.plot_segmentation_mask_gallery(IMAGES, num_classes=3, y_true=MASKS, y_pred=MASKS,
                                                      path=paths[2])
    for path in paths:
        with Image.open(path) as image:
            assert image.size[0] > 50 and image.size[1] > 50
    with pytest.raises(ConfigError, match="label_map"):
        loom.visualization.plot_image_gallery(IMAGES, y_true=np.array([0, 1]), path=paths[0])

import io
import os

import numpy as np
import pytest
import torch
from PIL import Image

from loom.errors import ConfigError, InputError, ShapeError
from loom.utils import array_to_img, img_to_array, load_img, save_img
from loom.utils.image_utils import smart_resize
from tests.keras_oracle import keras


@pytest.fixture
def png(tmp_path):
    pixels = np.random.RandomState(0).randint(0, 256, (6, 10, 3)).astype("uint8")
    path = str(tmp_path / "img.png")
    Image.fromarray(pixels).save(path)
    return path


@pytest.mark.parametrize("kwargs", [dict(), dict(color_mode="grayscale"), dict(color_mode="rgba"),
                                    dict(target_size=(3, 4), interpolation="bilinear"),
                                    dict(target_size=(4, 4), keep_aspect_ratio=True)])
def test_load_img_and_img_to_array_match_keras(png, kwargs):
    ours, theirs = img_to_array(load_img(png, **kwargs)), keras.utils.img_to_array(keras.utils.load_img(png, **kwargs))
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("shape, scale", [((4, 5, 3), True), ((4, 5, 1), False), ((4, 5, 4), True)])
def test_array_to_img_matches_keras(shape, scale):
    x = np.random.RandomState(1).rand(*shape) * (255 if not scale else 3)
    ours, theirs = array_to_img(x, scale=scale), keras.utils.array_to_img(x, scale=scale)
    assert ours.mode == theirs.mode
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_channels_first_and_tensor_input():
    x = torch.rand(3, 4, 5)
    assert array_to_img(x, data_format="channels_first").size == (5, 4)
    assert img_to_array(Image.new("RGB", (5, 4)), data_format="channels_first").shape == (3, 4, 5)


def test_save_img_is_atomic_and_reads_back(tmp_path, png):
    target = str(tmp_path / "out.png")
    x = img_to_array(load_img(png))
    save_img(target, x, scale=False)
    np.testing.assert_array_equal(img_to_array(load_img(target)), x)
    with pytest.raises(ShapeError):
        save_img(target, np.zeros((2, 2)))
    np.testing.assert_array_equal(img_to_array(load_img(target)), x)  # old file untouched
    assert sorted(os.listdir(tmp_path)) == ["img.png", "out.png"]
    with pytest.raises(ConfigError, match="file_format"):
        save_img(str(tmp_path / "out.unknown"), x)


def test_load_img_from_bytes_and_errors(tmp_path, png):
    with open(png, "rb") as f:
        assert load_img(io.BytesIO(f.read())).size == (10, 6)
    with pytest.raises(InputError, match="no such file"):
        load_img(str(tmp_path / "missing.png"))
    (tmp_path / "bad.png").write_bytes(b"nope")
    with pytest.raises(InputError, match="not a readable image"):
        load_img(str(tmp_path / "bad.png"))
    with pytest.raises(ConfigError, match="color_mode"):
        load_img(png, color_mode="cmyk")


def test_smart_resize_matches_keras():
    x = np.random.RandomState(2).rand(2, 9, 16, 3).astype("float32")
    ours = smart_resize(x, (5, 5))
    theirs = keras.preprocessing.image.smart_resize(x, (5, 5))
    np.testing.assert_allclose(ours.numpy(), np.asarray(theirs), atol=1e-5)
    with pytest.raises(ShapeError):
        smart_resize(np.zeros((3, 3)), (2, 2))

"""loom.ops.image against keras.ops.image."""

import numpy as np
import pytest
import torch

from loom.errors import ConfigError, InputError, ShapeError
from loom.ops import image
from tests.keras_oracle import keras
from tests.tolerance import assert_allclose_scaled

K = keras.ops.image
RNG = np.random.default_rng(4)
IMG = RNG.uniform(size=(2, 7, 9, 3)).astype("float32")
FIRST = np.ascontiguousarray(IMG.transpose(0, 3, 1, 2))


def _same(got, want, rel=1e-5):
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, want.dtype, got.shape, want.shape)
    assert_allclose_scaled(got.detach().numpy(), want.detach().numpy(), rel=rel)


@pytest.mark.parametrize("name", ["rgb_to_grayscale", "rgb_to_hsv", "hsv_to_rgb"])
def test_colour(name):
    _same(getattr(image, name)(IMG), getattr(K, name)(IMG))
    _same(getattr(image, name)(IMG[0]), getattr(K, name)(IMG[0]))
    _same(getattr(image, name)(FIRST, data_format="channels_first"),
          getattr(K, name)(FIRST, data_format="channels_first"))
    _same(image.hsv_to_rgb(image.rgb_to_hsv(IMG)), torch.tensor(IMG), rel=1e-5)


def test_colour_errors():
    with pytest.raises(InputError, match="rgb_to_hsv.*float"):
        image.rgb_to_hsv(np.ones((2, 2, 3), "int32"))
    with pytest.raises(ShapeError, match="rgb_to_grayscale.*channels"):
        image.rgb_to_grayscale(np.ones((2, 2, 4), "float32"))
    with pytest.raises(ShapeError, match="rank"):
        image.rgb_to_grayscale(np.ones((2, 3), "float32"))


@pytest.mark.parametrize("kwargs", [
    {"size": (4, 5)}, {"size": (14, 11), "interpolation": "nearest"}, {"size": (5, 5), "interpolation": "bicubic"},
    {"size": (4, 5), "antialias": True}, {"size": (6, 4), "crop_to_aspect_ratio": True},
    {"size": (6, 4), "pad_to_aspect_ratio": True, "fill_value": 0.5},
    {"size": (3, 6), "pad_to_aspect_ratio": True},
])
def test_resize(kwargs):
    _same(image.resize(IMG, **kwargs), K.resize(IMG, **kwargs))
    _same(image.resize(FIRST, data_format="channels_first", **kwargs),
          K.resize(FIRST, data_format="channels_first", **kwargs))
    u8 = (IMG * 255).astype("uint8")
    _same(image.resize(u8[0], **kwargs), K.resize(u8[0], **kwargs), rel=1e-2)


def test_resize_area_lanczos_and_errors():
    x = torch.tensor(IMG)
    got = image.resize(x, (7, 9), interpolation="lanczos3")
    _same(got, x, rel=1e-4)  # same size: the identity
    assert image.resize(x, (3, 3), interpolation="area").shape == (2, 3, 3, 3)
    with pytest.raises(ConfigError, match="interpolation"):
        image.resize(x, (3, 3), interpolation="cubic")
    with pytest.raises(ConfigError, match="size"):
        image.resize(x, (3,))
    with pytest.raises(ConfigError, match="only one"):
        image.resize(x, (3, 3), crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)


@pytest.mark.parametrize("kwargs", [
    {"top_cropping": 1, "left_cropping": 2, "target_height": 4, "target_width": 5},
    {"top_cropping": 1, "bottom_cropping": 2, "left_cropping": 0, "right_cropping": 3},
    {"bottom_cropping": 1, "target_height": 3, "right_cropping": 2, "target_width": 4},
])
def test_crop_images(kwargs):
    _same(image.crop_images(IMG, **kwargs), K.crop_images(IMG, **kwargs))
    _same(image.crop_images(FIRST[0], data_format="channels_first", **kwargs),
          K.crop_images(FIRST[0], data_format="channels_first", **kwargs))


@pytest.mark.parametrize("kwargs", [
    {"top_padding": 1, "left_padding": 2, "target_height": 10, "target_width": 12},
    {"top_padding": 1, "bottom_padding": 2, "left_padding": 0, "right_padding": 3},
    {"bottom_padding": 1, "target_height": 9, "right_padding": 2, "target_width": 12},
])
def test_pad_images(kwargs):
    _same(image.pad_images(IMG, **kwargs), K.pad_images(IMG, **kwargs))
    _same(image.pad_images(FIRST, data_format="channels_first", **kwargs),
          K.pad_images(FIRST, data_format="channels_first", **kwargs))


def test_crop_pad_errors():
    with pytest.raises(ConfigError, match="crop_images"):
        image.crop_images(IMG, top_cropping=1, bottom_cropping=1, target_height=2, left_cropping=0, target_width=2)
    with pytest.raises(ShapeError, match="crop_images"):
        image.crop_images(IMG, top_cropping=5, target_height=5, left_cropping=0, target_width=2)
    with pytest.raises(ShapeError, match="pad_images"):
        image.pad_images(IMG, top_padding=1, target_height=3, left_padding=0, target_width=12)


@pytest.mark.parametrize("size,strides,dil,padding", [(3, None, 1, "valid"), ((2, 3), (1, 2), 1, "same"),
                                                     (2, 1, 2, "valid")])
def test_extract_patches(size, strides, dil, padding):
    _same(image.extract_patches(IMG, size, strides, dil, padding), K.extract_patches(IMG, size, strides, dil, padding))
    _same(image.extract_patches(FIRST[0], size, strides, dil, padding, "channels_first"),
          K.extract_patches(FIRST[0], size, strides, dil, padding, "channels_first"))
    vol = RNG.uniform(size=(1, 4, 5, 6, 2)).astype("float32")
    _same(image.extract_patches_3d(vol, 2, None, 1, padding), K.extract_patches_3d(vol, 2, None, 1, padding))
    _same(image.extract_patches(vol, (2, 2, 3)), K.extract_patches(vol, (2, 2, 3)))


def test_blur_sobel_ssim():
    for ks, sigma in (((3, 3), (1.0, 1.0)), ((5, 5), (2.0, 2.0))):
        # Keras 3.15 on torch reads data_format=None as channels_first here; loom defaults to channels_last
        _same(image.gaussian_blur(IMG, ks, sigma), K.gaussian_blur(IMG, ks, sigma, "channels_last"))
        _same(image.gaussian_blur(FIRST, ks, sigma, "channels_first"), K.gaussian_blur(FIRST, ks, sigma,
                                                                                       "channels_first"))
    _same(image.sobel_edges(IMG), K.sobel_edges(IMG))
    ints = (IMG * 100).astype("int32")
    _same(image.sobel_edges(ints), K.sobel_edges(ints))
    _same(image.extract_patches(ints, 2), K.extract_patches(ints, 2))
    _same(image.sobel_edges(FIRST, "channels_first"), K.sobel_edges(FIRST, "channels_first"))
    big = RNG.uniform(size=(2, 16, 16, 3)).astype("float32")
    noisy = np.clip(big + RNG.normal(scale=0.1, size=big.shape), 0, 1).astype("float32")
    _same(image.ssim(big, noisy), K.ssim(big, noisy), rel=1e-4)
    _same(image.ssim(big[0], noisy[0], filter_size=5, k1=0.02), K.ssim(big[0], noisy[0], filter_size=5, k1=0.02),
          rel=1e-4)
    with pytest.raises(ShapeError, match="ssim"):
        image.ssim(big, noisy[:1])


@pytest.mark.parametrize("order", [0, 1])
@pytest.mark.parametrize("fill_mode", ["constant", "nearest", "wrap", "mirror", "reflect"])
def test_map_coordinates(order, fill_mode):
    x = RNG.uniform(size=(5, 6)).astype("float32")
    coords = RNG.uniform(-3, 9, size=(2, 4, 7)).astype("float32")
    _same(image.map_coordinates(x, coords, order, fill_mode, 0.5), K.map_coordinates(x, coords, order, fill_mode, 0.5))
    xi = (x * 100).astype("int32")
    _same(image.map_coordinates(xi, coords, order, fill_mode), K.map_coordinates(xi, coords, order, fill_mode))


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("fill_mode", ["constant", "nearest", "wrap", "mirror", "reflect"])
def test_affine_transform(interpolation, fill_mode):
    # Every sampled coordinate stays >= 0.03 from a half-pixel: at an exact tie "nearest" follows the last
    # float32 rounding bit, which differs between CPUs (FMA or not), in Keras as much as in loom.
    t = np.array([[1.1, 0.2, -0.93, -0.1, 0.9, 1.45, 0, 0], [0.8, 0, 2.0, 0, 1.2, -1.0, 0, 0]], "float32")
    _same(image.affine_transform(IMG, t, interpolation, fill_mode, 0.3),
          K.affine_transform(IMG, t.copy(), interpolation, fill_mode, 0.3))
    _same(image.affine_transform(FIRST[0], t[0], interpolation, fill_mode, 0, "channels_first"),
          K.affine_transform(FIRST[0], t[0].copy(), interpolation, fill_mode, 0, "channels_first"))


def test_perspective_and_gradients():
    start = np.array([[0, 0], [8, 0], [0, 6], [8, 6]], "float32")
    end = np.array([[1, 0], [7, 1], [0, 5], [8, 6]], "float32")
    for interpolation in ("nearest", "bilinear"):
        _same(image.perspective_transform(IMG, start, end, interpolation),
              K.perspective_transform(IMG, start, end, interpolation), rel=1e-4)
    x = torch.tensor(IMG, requires_grad=True)
    image.affine_transform(x, np.array([1, 0, 0.5, 0, 1, 0.25, 0, 0], "float32")).sum().backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0
    with pytest.raises(ShapeError, match="start_points"):
        image.perspective_transform(IMG, start[:3], end)
    with pytest.raises(ConfigError, match="fill_mode"):
        image.affine_transform(IMG, np.zeros(8, "float32"), fill_mode="edge")
    with pytest.raises(ShapeError, match="transform"):
        image.affine_transform(IMG, np.zeros(6, "float32"))


def test_elastic_transform():
    x = torch.tensor(IMG)
    same = image.elastic_transform(x, alpha=0.0, seed=1)
    _same(same, x, rel=1e-6)
    a, b = image.elastic_transform(x, seed=3), image.elastic_transform(x, seed=3)
    assert a.shape == x.shape and a.dtype == x.dtype and torch.equal(a, b)
    assert not torch.equal(a, x)
    assert image.elastic_transform(FIRST, data_format="channels_first", seed=0).shape == FIRST.shape


@pytest.mark.parametrize("method", ["linear", "bilinear", "cubic", "lanczos3", "lanczos5"])
@pytest.mark.parametrize("antialias", [True, False])
def test_scale_and_translate(method, antialias):
    scale, shift = np.array([0.6, 1.5], "float32"), np.array([0.5, -1.0], "float32")
    _same(image.scale_and_translate(IMG, (2, 4, 13, 3), scale, shift, (1, 2), method, antialias),
          K.scale_and_translate(IMG, (2, 4, 13, 3), scale, shift, (1, 2), method, antialias))


GRAD_CASES = {  # name -> (float args, kwargs); gradients of sum(out**2) against Keras's
    "resize": ((IMG,), {"size": (4, 11)}),
    "affine_transform": ((IMG[:1],), {"transform": np.array([1.1, 0.2, -1.0, -0.1, 0.9, 1.5, 0, 0], "float32")}),
    "map_coordinates": ((IMG[0, :, :, 0], RNG.uniform(0, 6, size=(2, 3, 4)).astype("float32")), {"order": 1}),
    "ssim": ((RNG.uniform(size=(1, 12, 12, 2)), RNG.uniform(size=(1, 12, 12, 2))), {"filter_size": 5}),
    "gaussian_blur": ((IMG,), {"data_format": "channels_last"}),
    "rgb_to_hsv": ((IMG,), {}),
}


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_gradients_match_keras(name):
    args, kwargs = GRAD_CASES[name]
    ours = [torch.tensor(np.asarray(a, "float32"), requires_grad=True) for a in args]
    theirs = [torch.tensor(np.asarray(a, "float32"), requires_grad=True) for a in args]
    getattr(image, name)(*ours, **kwargs).pow(2).sum().backward()
    getattr(K, name)(*theirs, **{k: v.copy() if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
                     ).pow(2).sum().backward()
    for a, b in zip(ours, theirs):
        if b.grad is not None:
            assert_allclose_scaled(a.grad.numpy(), b.grad.numpy(), rel=1e-4)

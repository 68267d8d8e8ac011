"""``keras.ops.image`` on torch: colour conversion, resizing, cropping/padding, patches, blur, edges, SSIM and
geometric warps. Images are ``(height, width, channels)`` or ``(batch, height, width, channels)`` by default
(``data_format='channels_last'``).

Example:
    >>> import torch
    >>> from loom.ops import image
    >>> image.resize(torch.zeros(2, 8, 8, 3), (4, 6)).shape
    torch.Size([2, 4, 6, 3])
"""

from __future__ import annotations

import numbers
from typing import Any, Sequence

import torch
import torch.nn.functional as F

from loom.errors import ConfigError, InputError, ShapeError
from loom.ops._common import check_choice, data_format as _data_format, float_result, tensor, tuple_arg
from loom.ops._conv import conv
from loom.ops._image_warp import (affine_transform, elastic_transform, map_coordinates, perspective_transform,
                                  scale_and_translate)
from loom.ops._tensor import op

_RESIZE_MODES = {"bilinear": "bilinear", "nearest": "nearest-exact", "bicubic": "bicubic", "area": "area"}


def _batched(images: Any, op: str, fmt: str | None) -> tuple[torch.Tensor, bool, str]:
    """NCHW view of 3-D or 4-D ``images``, whether a batch axis was added, and the data format."""
    x = tensor(images, op=f"image.{op}")
    if x.ndim not in (3, 4):
        raise ShapeError(f"ops.image.{op}: `images` must have rank 3 (one image) or 4 (a batch), got shape "
                         f"{tuple(x.shape)}.")
    fmt = _data_format(fmt, f"ops.image.{op}")
    single = x.ndim == 3
    x = x.unsqueeze(0) if single else x
    return (x.permute(0, 3, 1, 2) if fmt == "channels_last" else x), single, fmt


def _unbatched(y: torch.Tensor, single: bool, fmt: str) -> torch.Tensor:
    y = y.permute(0, 2, 3, 1) if fmt == "channels_last" else y
    return y.squeeze(0) if single else y


def rgb_to_grayscale(images: Any, data_format: str | None = None) -> torch.Tensor:
    """Luma ``0.2989 R + 0.587 G + 0.114 B`` as one channel (1-channel input returned as a copy)."""
    x, single, fmt = _batched(images, "rgb_to_grayscale", data_format)
    if x.shape[1] not in (1, 3):
        raise ShapeError(f"ops.image.rgb_to_grayscale: expected 1 or 3 channels, got {x.shape[1]}.")
    if x.shape[1] == 3:
        r, g, b = x.unbind(1)
        x = (0.2989 * r + 0.587 * g + 0.114 * b).to(x.dtype).unsqueeze(1)
    else:
        x = x.clone()
    return _unbatched(x, single, fmt)


def _float_images(images: Any, op: str, fmt: str | None):
    x, single, fmt = _batched(images, op, fmt)
    if not x.dtype.is_floating_point:
        raise InputError(f"ops.image.{op}: `images` must be a float tensor, got {x.dtype}.")
    if x.shape[1] != 3:
        raise ShapeError(f"ops.image.{op}: expected 3 channels, got {x.shape[1]}.")
    return x, single, fmt


def rgb_to_hsv(images: Any, data_format: str | None = None) -> torch.Tensor:
    """RGB in ``[0, 1]`` to hue, saturation, value (each in ``[0, 1]``)."""
    x, single, fmt = _float_images(images, "rgb_to_hsv", data_format)
    x = torch.where(torch.abs(x) < torch.finfo(x.dtype).eps, 0.0, x).to(x.dtype)
    r, g, b = x.unbind(1)
    value = torch.maximum(torch.maximum(r, g), b)
    spread = value - torch.minimum(torch.minimum(r, g), b)
    saturation = torch.where(value > 0, spread / torch.where(value > 0, value, 1.0), 0.0)
    norm = 1.0 / (6.0 * torch.where(spread > 0, spread, 1.0))
    hue = torch.where(value == g, norm * (b - r) + 2.0 / 6.0, norm * (r - g) + 4.0 / 6.0)
    hue = torch.where(value == r, norm * (g - b), hue)
    hue = torch.where(spread > 0, hue, 0.0) + (hue < 0).to(hue.dtype)
    return _unbatched(torch.stack([hue, saturation, value], 1), single, fmt)


def hsv_to_rgb(images: Any, data_format: str | None = None) -> torch.Tensor:
    """Hue, saturation, value to RGB (inverse of :func:`rgb_to_hsv`)."""
    x, single, fmt = _float_images(images, "hsv_to_rgb", data_format)
    hue, saturation, value = x.unbind(1)
    dh = torch.remainder(hue, 1.0) * 6.0
    dr = torch.clamp(torch.abs(dh - 3.0) - 1.0, 0.0, 1.0)
    dg = torch.clamp(2.0 - torch.abs(dh - 2.0), 0.0, 1.0)
    db = torch.clamp(2.0 - torch.abs(dh - 4.0), 0.0, 1.0)
    rest = 1.0 - saturation
    rgb = [value * (rest + saturation * d) for d in (dr, dg, db)]
    return _unbatched(torch.stack(rgb, 1), single, fmt)


def _aspect_box(height: int, width: int, size: tuple[int, int], grow: bool) -> tuple[int, int, int, int]:
    """(box height, box width, top, left) of the centred box with the target aspect ratio."""
    th, tw = size
    bh, bw = int(float(width * th) / tw), int(float(height * tw) / th)
    if grow:
        bh, bw = max(height, bh), max(width, bw)
        return bh, bw, int(float(bh - height) / 2), int(float(bw - width) / 2)
    bh, bw = max(min(height, bh), 1), max(min(width, bw), 1)
    return bh, bw, int(float(height - bh) / 2), int(float(width - bw) / 2)


def resize(images: Any, size: Sequence[int], interpolation: str = "bilinear", antialias: bool = False,
           crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False, fill_mode: str = "constant",
           fill_value: float = 0.0, data_format: str | None = None) -> torch.Tensor:
    """Resize to ``size = (height, width)``; optionally centre-crop or pad to the target aspect ratio first.

    Args:
        images: ``(h, w, c)`` or ``(batch, h, w, c)`` (or channels-first).
        size: ``(height, width)`` of the result.
        interpolation: ``'bilinear'``, ``'nearest'``, ``'bicubic'``, ``'area'``, ``'lanczos3'`` or
            ``'lanczos5'``; default ``'bilinear'``.
        antialias: low-pass filter when downsampling (bilinear, bicubic, lanczos); default False.
        crop_to_aspect_ratio: centre-crop to the target aspect ratio first; default False.
        pad_to_aspect_ratio: pad with ``fill_value`` to the target aspect ratio first; default False.
        fill_mode: only ``'constant'``; default ``'constant'``.
        fill_value: padding value; default 0.0.
        data_format: default None (channels_last).
    """
    op = "ops.image.resize"
    check_choice(interpolation, (*_RESIZE_MODES, "lanczos3", "lanczos5"), op, "interpolation")
    check_choice(fill_mode, ("constant",), op, "fill_mode")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ConfigError(f"{op}: only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio` can be True.")
    if len(size) != 2:
        raise ConfigError(f"{op}: `size` must be (height, width), got {size!r}.")
    size = tuple_arg(size, 2, op, "size")
    x, single, fmt = _batched(images, "resize", data_format)
    out_dtype = x.dtype
    x = x if x.dtype in (torch.float32, torch.float64) else x.to(torch.float32)
    h, w = x.shape[-2:]
    if crop_to_aspect_ratio:
        bh, bw, top, left = _aspect_box(h, w, size, grow=False)
        x = x[:, :, top:top + bh, left:left + bw]
    elif pad_to_aspect_ratio:
        bh, bw, top, left = _aspect_box(h, w, size, grow=True)
        x = F.pad(x, (left, left, top, top), value=float(fill_value))
    if interpolation.startswith("lanczos"):
        scale = torch.tensor([size[0] / x.shape[-2], size[1] / x.shape[-1]], dtype=x.dtype, device=x.device)
        translation = torch.zeros(2, dtype=x.dtype, device=x.device)
        y = scale_and_translate(x, (*x.shape[:2], *size), scale, translation, (2, 3), interpolation,
                                antialias=antialias)
    else:
        smooth = interpolation in ("bilinear", "bicubic")
        y = F.interpolate(x, size=size, mode=_RESIZE_MODES[interpolation], align_corners=False if smooth else None,
                          antialias=antialias and smooth)
    if out_dtype != y.dtype:
        if not out_dtype.is_floating_point:
            y = torch.round(y)
            if out_dtype == torch.uint8:
                y = y.clamp(0, 255)
        y = y.to(out_dtype)
    return _unbatched(y, single, fmt)


def _sides(first: int | None, second: int | None, target: int | None, size: int, names: tuple[str, str, str],
           op: str, padding: bool) -> tuple[int, int]:
    """Resolve two offsets and a target size (exactly one of them None) to ``(first, target)``."""
    if [first, second, target].count(None) != 1:
        raise ConfigError(f"ops.image.{op}: pass exactly two of `{names[0]}`, `{names[1]}`, `{names[2]}`; got "
                          f"{first}, {second}, {target}.")
    if first is None:
        first = (target - second - size) if padding else (size - target - second)
    if target is None:
        target = (size + first + second) if padding else (size - first - second)
    for name, v in ((names[0], first), (names[2], target)):
        if v < 0:
            raise ShapeError(f"ops.image.{op}: `{name}` works out to {v} for an image side of {size}; it must be "
                             f">= 0.")
    if not padding and first + target > size:
        raise ShapeError(f"ops.image.{op}: cropping {first} + {target} exceeds the image side {size}.")
    if padding and target < size + first:
        raise ShapeError(f"ops.image.{op}: target {target} is smaller than the image side {size} plus {first}.")
    return first, target


def crop_images(images: Any, top_cropping: int | None = None, left_cropping: int | None = None,
                bottom_cropping: int | None = None, right_cropping: int | None = None,
                target_height: int | None = None, target_width: int | None = None,
                data_format: str | None = None) -> torch.Tensor:
    """Crop to a box given by two of (top, bottom, height) and two of (left, right, width).

    Args:
        images: ``(h, w, c)`` or ``(batch, h, w, c)`` (or channels-first).
        top_cropping, left_cropping, bottom_cropping, right_cropping: rows/columns removed; default None.
        target_height, target_width: size of the result; default None.
        data_format: default None (channels_last).
    """
    x, single, fmt = _batched(images, "crop_images", data_format)
    top, th = _sides(top_cropping, bottom_cropping, target_height, x.shape[-2],
                     ("top_cropping", "bottom_cropping", "target_height"), "crop_images", False)
    left, tw = _sides(left_cropping, right_cropping, target_width, x.shape[-1],
                      ("left_cropping", "right_cropping", "target_width"), "crop_images", False)
    return _unbatched(x[:, :, top:top + th, left:left + tw], single, fmt)


def pad_images(images: Any, top_padding: int | None = None, left_padding: int | None = None,
               bottom_padding: int | None = None, right_padding: int | None = None, target_height: int | None = None,
               target_width: int | None = None, data_format: str | None = None) -> torch.Tensor:
    """Zero-pad to a box given by two of (top, bottom, height) and two of (left, right, width).

    Args:
        images: ``(h, w, c)`` or ``(batch, h, w, c)`` (or channels-first).
        top_padding, left_padding, bottom_padding, right_padding: rows/columns added; default None.
        target_height, target_width: size of the result; default None.
        data_format: default None (channels_last).
    """
    x, single, fmt = _batched(images, "pad_images", data_format)
    h, w = x.shape[-2:]
    top, th = _sides(top_padding, bottom_padding, target_height, h,
                     ("top_padding", "bottom_padding", "target_height"), "pad_images", True)
    left, tw = _sides(left_padding, right_padding, target_width, w,
                      ("left_padding", "right_padding", "target_width"), "pad_images", True)
    return _unbatched(F.pad(x, (left, tw - w - left, top, th - h - top)), single, fmt)


def _patches(images: Any, size: Any, strides: Any, dilation_rate: Any, padding: str, fmt: str | None,
             n: int, op: str) -> torch.Tensor:
    x = tensor(images, op=f"image.{op}")
    if x.ndim not in (n + 1, n + 2):
        raise ShapeError(f"ops.image.{op}: expected rank {n + 1} or {n + 2} inputs, got shape {tuple(x.shape)}.")
    fmt = _data_format(fmt, f"ops.image.{op}")
    size = tuple_arg(size, n, f"ops.image.{op}", "size")
    single = x.ndim == n + 1
    x = x.unsqueeze(0) if single else x
    channels = x.shape[-1] if fmt == "channels_last" else x.shape[1]
    depth = channels
    for s in size:
        depth *= s
    eye = torch.eye(depth, dtype=x.dtype if x.dtype != torch.bool else torch.int32, device=x.device)
    out = conv(x, eye.reshape(*size, channels, depth), strides or size, padding, fmt, dilation_rate)
    return out.squeeze(0) if single else out


def extract_patches(images: Any, size: Any, strides: Any = None, dilation_rate: Any = 1, padding: str = "valid",
                    data_format: str | None = None) -> torch.Tensor:
    """Patches flattened into the channel axis in ``(patch_h, patch_w, channels)`` order.

    Args:
        images: ``(h, w, c)`` or ``(batch, h, w, c)`` (or channels-first).
        size: int or ``(patch_h, patch_w)``; three ints mean :func:`extract_patches_3d`.
        strides: default None (``size``: non-overlapping patches).
        dilation_rate: spacing of the sampled pixels; default 1.
        padding: ``'valid'`` or ``'same'``; default ``'valid'``.
        data_format: default None (channels_last).
    """
    if not isinstance(size, numbers.Integral) and len(size) == 3:
        return extract_patches_3d(images, size, strides, dilation_rate, padding, data_format)
    return _patches(images, size, strides, dilation_rate, padding, data_format, 2, "extract_patches")


def extract_patches_3d(volumes: Any, size: Any, strides: Any = None, dilation_rate: Any = 1,
                       padding: str = "valid", data_format: str | None = None) -> torch.Tensor:
    """3-D patches of ``volumes`` ``(batch, d, h, w, c)``, flattened into the channel axis."""
    return _patches(volumes, size, strides, dilation_rate, padding, data_format, 3, "extract_patches_3d")


def _gaussian_1d(size: int, sigma: Any, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    t = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    k = torch.exp(-0.5 * (t / torch.as_tensor(sigma, dtype=dtype, device=device)) ** 2)
    return k / k.sum()


def gaussian_blur(images: Any, kernel_size: Any = (3, 3), sigma: Any = (1.0, 1.0),
                  data_format: str | None = None) -> torch.Tensor:
    """Blur each channel with a Gaussian kernel (zero padding, same size).

    Args:
        images: ``(h, w, c)`` or ``(batch, h, w, c)`` (or channels-first).
        kernel_size: ``(kh, kw)``; default ``(3, 3)``.
        sigma: one or two standard deviations; default ``(1.0, 1.0)``.
        data_format: default None (channels_last).
    """
    op = "ops.image.gaussian_blur"
    x, single, fmt = _batched(images, "gaussian_blur", data_format)
    ks = tuple_arg(kernel_size, 2, op, "kernel_size")
    sig = tuple(float(s) for s in (sigma if isinstance(sigma, (tuple, list)) else (sigma, sigma)))
    if len(sig) != 2 or min(sig) <= 0:
        raise ConfigError(f"{op}: `sigma` must be one or two positive numbers, got {sigma!r}.")
    dtype = x.dtype if x.dtype.is_floating_point else torch.float32
    kernel = torch.outer(_gaussian_1d(ks[1], sig[1], dtype, x.device), _gaussian_1d(ks[0], sig[0], dtype, x.device))
    c = x.shape[1]
    weight = kernel.reshape(1, 1, ks[0], ks[1]).expand(c, 1, ks[0], ks[1])
    out = F.conv2d(x.to(dtype), weight, padding=ks[0] // 2, groups=c)
    return _unbatched(out, single, fmt)


def sobel_edges(images: Any, data_format: str | None = None) -> torch.Tensor:
    """Sobel gradients ``(dy, dx)`` of each channel, stacked on a new last axis: ``(batch, h, w, c, 2)``."""
    x = tensor(images, op="image.sobel_edges")
    if x.ndim != 4:
        raise ShapeError(f"ops.image.sobel_edges: `images` must have rank 4, got shape {tuple(x.shape)}.")
    fmt = _data_format(data_format, "ops.image.sobel_edges")
    x = x.permute(0, 3, 1, 2) if fmt == "channels_last" else x
    original = x.dtype
    x = x if x.dtype.is_floating_point else x.double()  # integer images keep their dtype, exactly
    c = x.shape[1]
    sx = torch.tensor([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=x.dtype, device=x.device)
    ky, kx = sx.T.reshape(1, 1, 3, 3).repeat(c, 1, 1, 1), sx.reshape(1, 1, 3, 3).repeat(c, 1, 1, 1)
    edges = torch.stack([F.conv2d(x, ky, padding=1, groups=c), F.conv2d(x, kx, padding=1, groups=c)], -1)
    edges = edges if original.is_floating_point else edges.to(original)
    return edges.permute(0, 2, 3, 1, 4) if fmt == "channels_last" else edges


def ssim(image1: Any, image2: Any, max_val: float = 1.0, filter_size: int = 11, filter_sigma: float = 1.5,
         k1: float = 0.01, k2: float = 0.03, data_format: str | None = None) -> torch.Tensor:
    """Structural similarity (Wang et al., 2004) per image, averaged over channels; Gaussian window, valid.

    Args:
        image1, image2: same-shape images ``(h, w, c)`` or ``(batch, h, w, c)``.
        max_val: dynamic range of the pixel values; default 1.0.
        filter_size: Gaussian window size; default 11.
        filter_sigma: Gaussian window standard deviation; default 1.5.
        k1, k2: stability constants; default 0.01 and 0.03.
        data_format: default None (channels_last).
    """
    a, single, fmt = _batched(image1, "ssim", data_format)
    b, _, _ = _batched(image2, "ssim", data_format)
    if a.shape != b.shape:
        raise ShapeError(f"ops.image.ssim: image1 {tuple(a.shape)} and image2 {tuple(b.shape)} differ in shape.")
    original = a.dtype if a.dtype.is_floating_point else torch.float32
    dtype = float_result(a, b)
    n, c, h, w = a.shape
    a, b = a.to(dtype).reshape(n * c, 1, h, w), b.to(a.device, dtype).reshape(n * c, 1, h, w)
    g = _gaussian_1d(filter_size, filter_sigma, dtype, a.device)
    window = torch.outer(g, g).reshape(1, 1, filter_size, filter_size)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, window)

    mu1, mu2 = blur(a), blur(b)
    s11, s22, s12 = blur(a * a) - mu1 * mu1, blur(b * b) - mu2 * mu2, blur(a * b) - mu1 * mu2
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    score = ((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1 * mu1 + mu2 * mu2 + c1) * (s11 + s22 + c2))
    out = score.mean(dim=(1, 2, 3)).reshape(n, c).mean(-1)
    return (out.squeeze(0) if single else out).to(original)


__all__ = ["affine_transform", "crop_images", "elastic_transform", "extract_patches", "extract_patches_3d",
           "gaussian_blur", "hsv_to_rgb", "map_coordinates", "pad_images", "perspective_transform", "resize",
           "rgb_to_grayscale", "rgb_to_hsv", "scale_and_translate", "sobel_edges", "ssim"]


# torch failures inside an op (e.g. a kernel's own shape check) surface as loom InputErrors naming the op
for _name in __all__:
    globals()[_name] = op("image." + _name)(globals()[_name])

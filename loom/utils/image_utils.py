"""Image files and arrays, as ``keras.utils``: ``load_img``, ``img_to_array``, ``array_to_img``, ``save_img``.

Images are Pillow ``Image`` objects; arrays are NumPy, channels_last by default (``(height, width,
channels)``). :func:`save_img` writes atomically (temporary file, fsync, rename). :func:`smart_resize`
resizes an image tensor to a size without distorting its aspect ratio (centre crop first).

Example:
    >>> import os, tempfile
    >>> import numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "red.png")
    >>> save_img(path, np.tile(np.array([255.0, 0.0, 0.0]), (2, 3, 1)), scale=False)
    >>> x = img_to_array(load_img(path))
    >>> x.shape, x.dtype, x[0, 0].tolist()
    ((2, 3, 3), dtype('float32'), [255.0, 0.0, 0.0])
"""

from __future__ import annotations

import io
import os
import pathlib
from typing import Any, Sequence

import numpy as np
import torch

from loom import config
from loom.errors import ConfigError, InputError, ShapeError
from loom.io_utils import atomic_write

INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")
COLOR_MODES = ("grayscale", "rgb", "rgba")


def _pil() -> Any:
    try:
        from PIL import Image
    except ImportError as e:  # pragma: no cover - Pillow is a dependency
        raise ImportError("Image utilities need Pillow: pip install pillow") from e
    return Image


def _data_format(data_format: str | None, op: str) -> str:
    data_format = data_format or config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ConfigError(f"{op}: `data_format` must be 'channels_last' or 'channels_first'; got {data_format!r}.")
    return data_format


def load_img(path: Any, color_mode: str = "rgb", target_size: Sequence[int] | None = None,
             interpolation: str = "nearest", keep_aspect_ratio: bool = False) -> Any:
    """Loads an image file into a Pillow image.

    Args:
        path: A path (str or ``pathlib.Path``) or a binary file object (e.g. ``io.BytesIO``).
        color_mode: ``"grayscale"``, ``"rgb"`` or ``"rgba"``. Defaults to `"rgb"`.
        target_size: ``(height, width)`` to resize to. Defaults to `None`: keep the size.
        interpolation: Pillow resampling: one of ``INTERPOLATIONS``. Defaults to `"nearest"`.
        keep_aspect_ratio: Centre-crop to the aspect ratio of ``target_size`` before resizing. Defaults to `False`.

    Returns:
        A Pillow ``Image``.

    Raises:
        ConfigError: unknown ``color_mode`` or ``interpolation``.
        InputError: the file is missing or not an image.

    Example:
        >>> import io
        >>> from PIL import Image
        >>> buf = io.BytesIO(); Image.new("RGB", (4, 2)).save(buf, format="PNG")
        >>> load_img(buf, color_mode="grayscale", target_size=(1, 2)).size
        (2, 1)
    """
    Image = _pil()
    if color_mode not in COLOR_MODES:
        raise ConfigError(f"load_img: `color_mode` must be one of {COLOR_MODES}; got {color_mode!r}.")
    if interpolation not in INTERPOLATIONS:
        raise ConfigError(f"load_img: `interpolation` must be one of {INTERPOLATIONS}; got {interpolation!r}.")
    if isinstance(path, (str, pathlib.Path)):
        try:
            with open(path, "rb") as f:
                img = _open(Image, io.BytesIO(f.read()), path)
        except FileNotFoundError as e:
            raise InputError(f"load_img: no such file {os.fspath(path)!r}.") from e
    elif hasattr(path, "read"):
        img = _open(Image, path, "<file object>")
    else:
        raise InputError(f"load_img: `path` must be a path or a binary file object; got {type(path).__name__}.")
    modes = {"grayscale": "L", "rgba": "RGBA", "rgb": "RGB"}
    if color_mode == "grayscale" and img.mode in ("L", "I;16", "I"):
        pass
    elif img.mode != modes[color_mode]:
        img = img.convert(modes[color_mode])
    if target_size is not None:
        height, width = int(target_size[0]), int(target_size[1])
        if img.size != (width, height):
            if keep_aspect_ratio:
                img = img.crop(_crop_box(img.size, (height, width)))
            img = img.resize((width, height), getattr(Image.Resampling, interpolation.upper()))
    return img


def _open(Image: Any, stream: Any, name: Any) -> Any:
    try:
        img = Image.open(stream)
        img.load()
    except Exception as e:  # Pillow raises several types for bad files
        raise InputError(f"load_img: {name!s} is not a readable image ({type(e).__name__}: {e}).") from e
    return img


def _crop_box(size: tuple[int, int], target: tuple[int, int]) -> tuple[int, int, int, int]:
    """Pillow crop box (left, top, right, bottom) of the centred box with ``target``'s aspect ratio."""
    width, height = size
    crop_height = max(min(height, int(width * target[0] / target[1])), 1)
    crop_width = max(min(width, int(height * target[1] / target[0])), 1)
    top, left = (height - crop_height) // 2, (width - crop_width) // 2
    return left, top, left + crop_width, top + crop_height


def img_to_array(img: Any, data_format: str | None = None, dtype: Any = None) -> np.ndarray:
    """A Pillow image as a 3D NumPy array (channels_last ``(h, w, c)`` unless ``data_format`` says otherwise).

    Args:
        img: A Pillow image.
        data_format: ``"channels_last"`` or ``"channels_first"``. Defaults to `None`: the global setting.
        dtype: Array dtype. Defaults to `None`: ``loom.config.floatx()``.

    Example:
        >>> from PIL import Image
        >>> img_to_array(Image.new("L", (3, 2))).shape
        (2, 3, 1)
    """
    data_format = _data_format(data_format, "img_to_array")
    x = np.asarray(img, dtype=dtype or config.floatx())
    if x.ndim == 2:
        x = x[..., None]
    elif x.ndim != 3:
        raise ShapeError(f"img_to_array: unsupported image shape {x.shape}.")
    return np.ascontiguousarray(x.transpose(2, 0, 1)) if data_format == "channels_first" else x


def array_to_img(x: Any, data_format: str | None = None, scale: bool = True, dtype: Any = None) -> Any:
    """A 3D array (or tensor) as a Pillow image: 1 channel -> ``L`` (``I`` above 255), 3 -> ``RGB``, 4 -> ``RGBA``.

    Args:
        x: ``(h, w, c)`` (or ``(c, h, w)`` channels_first) values.
        data_format: Defaults to `None`: the global setting.
        scale: Rescale the values to 0-255 (min to 0, max to 255). Defaults to `True`.
        dtype: Intermediate dtype. Defaults to `None`: ``floatx()``.

    Raises:
        ShapeError: ``x`` is not 3D or has 2 or more than 4 channels.

    Example:
        >>> array_to_img(np.zeros((2, 3, 3))).size
        (3, 2)
    """
    data_format = _data_format(data_format, "array_to_img")
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=dtype or config.floatx())
    if x.ndim != 3:
        raise ShapeError(f"array_to_img: expected an image array of rank 3 (single image); got shape {x.shape}.")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        top = np.max(x)
        if top != 0:
            x = x / top
        x = x * 255
    channels = x.shape[2]
    Image = _pil()
    if channels == 4:
        return Image.fromarray(x.astype("uint8"), "RGBA")
    if channels == 3:
        return Image.fromarray(x.astype("uint8"), "RGB")
    if channels == 1:
        if np.max(x) > 255:
            return Image.fromarray(x[:, :, 0].astype("int32"), "I")
        return Image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ShapeError(f"array_to_img: unsupported number of channels {channels} (shape {x.shape}); use 1, 3 or 4.")


def save_img(path: Any, x: Any, data_format: str | None = None, file_format: str | None = None, scale: bool = True,
             **kwargs: Any) -> None:
    """Saves an image array to a file, atomically (a half-written image never replaces the old file).

    Args:
        path: The file path; its extension picks the format unless ``file_format`` is given.
        x: A 3D array, as :func:`array_to_img` takes.
        data_format: Defaults to `None`: the global setting.
        file_format: Pillow format name (``"png"``, ``"jpeg"``...). Defaults to `None`: from the extension.
        scale: Rescale the values to 0-255. Defaults to `True`.
        **kwargs: Passed to Pillow's ``Image.save`` (e.g. ``quality``).

    Raises:
        ConfigError: the format is unknown.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "x.jpg")
        >>> save_img(path, np.zeros((2, 2, 4)))
        >>> load_img(path).mode
        'RGB'
    """
    img = array_to_img(x, data_format=data_format, scale=scale)
    path = os.fspath(path)
    if file_format is None:
        extension = os.path.splitext(path)[1].lower()
        file_format = _pil().registered_extensions().get(extension)
        if file_format is None:
            raise ConfigError(f"save_img: cannot tell the image format of {path!r} from its extension; pass "
                              f"`file_format` (e.g. 'png', 'jpeg').")
    if img.mode == "RGBA" and file_format.lower() in ("jpg", "jpeg"):
        img = img.convert("RGB")
    atomic_write(path, lambda f: img.save(f, format=file_format, **kwargs))


def smart_resize(x: Any, size: Sequence[int], interpolation: str = "bilinear",
                 data_format: str = "channels_last", **kwargs: Any) -> torch.Tensor:
    """Resizes an image (or batch) to ``size`` without distorting it: centre-crop to the aspect ratio, then resize.

    Args:
        x: ``(h, w, c)`` or ``(batch, h, w, c)`` (channels_first: channels before height).
        size: ``(height, width)``.
        interpolation: As ``loom.ops.image.resize``. Defaults to `"bilinear"`.
        data_format: Defaults to `"channels_last"`.

    Returns:
        A float tensor of the new size.

    Example:
        >>> tuple(smart_resize(np.zeros((4, 8, 3)), (2, 2)).shape)
        (2, 2, 3)
    """
    if kwargs:
        raise ConfigError(f"smart_resize: unexpected keyword arguments {sorted(kwargs)}.")
    from loom.ops.image import resize
    tensor = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    if tensor.dim() not in (3, 4):
        raise ShapeError(f"smart_resize: expected (height, width, channels) or (batch, height, width, channels); "
                         f"got shape {tuple(tensor.shape)}.")
    if len(size) != 2:
        raise ConfigError(f"smart_resize: `size` must be (height, width); got {size!r}.")
    if not tensor.is_floating_point():
        tensor = tensor.to(torch.float32)
    return resize(tensor, size, interpolation=interpolation, crop_to_aspect_ratio=True, data_format=data_format)

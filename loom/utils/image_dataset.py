"""``image_dataset_from_directory``: a streaming dataset of images (and labels) from a directory tree.

Same arguments, file order, labels and subsets as ``keras.utils.image_dataset_from_directory``; the result
is a :class:`~loom.utils.file_dataset.FileDataset` whose batches are float32 tensors ``(batch, height, width,
channels)`` (values 0-255) and labels as Keras encodes them. Files are decoded (Pillow) and resized (torch)
one batch at a time.

Example:
    >>> import os, tempfile
    >>> import numpy as np
    >>> from loom.utils.image_utils import save_img
    >>> root = tempfile.mkdtemp()
    >>> for cls in ("cats", "dogs"):
    ...     os.makedirs(os.path.join(root, cls))
    ...     save_img(os.path.join(root, cls, "0.png"), np.zeros((8, 8, 3)))
    >>> ds = image_dataset_from_directory(root, image_size=(4, 4), batch_size=2, verbose=False)
    >>> x, y = next(iter(ds))
    >>> tuple(x.shape), y.dtype, ds.class_names
    ((2, 4, 4, 3), torch.int32, ['cats', 'dogs'])
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from loom import config
from loom.errors import ConfigError, InputError
from loom.utils import dataset_index
from loom.utils.file_dataset import FileDataset

ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5")
_CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}
_PIL_MODES = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}
_NAME = "image_dataset_from_directory"


def image_dataset_from_directory(
    directory: str, labels: Any = "inferred", label_mode: str | None = "int",
    class_names: Sequence[str] | None = None, color_mode: str = "rgb", batch_size: int | None = 32,
    image_size: Sequence[int] | int | None = (256, 256), shuffle: bool = True, seed: int | None = None,
    validation_split: float | None = None, subset: str | None = None, interpolation: str = "bilinear",
    follow_links: bool = False, crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False,
    data_format: str | None = None, format: str = "tf", verbose: bool = True,
) -> FileDataset | list[FileDataset]:
    """Images from ``directory`` (one subfolder per class with ``labels="inferred"``) as a streaming dataset.

    Args:
        directory: Root directory. With inferred labels, each subdirectory is a class (sorted by name).
        labels: ``"inferred"``, a list of integer labels (files in sorted path order), or ``None``. Defaults to
            `"inferred"`.
        label_mode: ``"int"`` (int32), ``"categorical"`` (float32 one-hot), ``"binary"`` (float32 ``(n, 1)``,
            exactly 2 classes) or ``None`` (no labels). Defaults to `"int"`.
        class_names: With inferred labels, the subdirectories to use, in label order. Defaults to `None`.
        color_mode: ``"grayscale"``, ``"rgb"`` or ``"rgba"`` (1, 3 or 4 channels). Defaults to `"rgb"`.
        batch_size: Images per batch; ``None`` yields single images. Defaults to `32`.
        image_size: ``(height, width)`` (or one int) every image is resized to; ``None`` keeps the file's size,
            which then must be the same for all images of a batch. Defaults to `(256, 256)`.
        shuffle: Shuffle the files (again after every pass). Defaults to `True`.
        seed: Seed of the shuffles. Defaults to `None`.
        validation_split: Fraction of the files kept for validation. Defaults to `None`.
        subset: ``"training"``, ``"validation"`` or ``"both"`` (returns ``[train, val]``). Defaults to `None`.
        interpolation: One of ``INTERPOLATIONS``. Defaults to `"bilinear"`.
        follow_links: Follow symbolic links to subdirectories. Defaults to `False`.
        crop_to_aspect_ratio: Centre-crop to the target aspect ratio before resizing. Defaults to `False`.
        pad_to_aspect_ratio: Resize keeping the aspect ratio, then pad with zeros (centred) to ``image_size``, as
            Keras's default ``format="tf"`` (``tf.image.resize_with_pad``). Defaults to `False`.
        data_format: ``"channels_last"`` or ``"channels_first"``. Defaults to `None`: the global setting.
        format: Accepted for compatibility (``"tf"`` or ``"grain"``); loom always returns its own dataset.
            Defaults to `"tf"`.
        verbose: Print how many files were found. Defaults to `True`.

    Returns:
        A :class:`FileDataset` with ``class_names`` and ``file_paths``, or ``[train, validation]`` for
        ``subset="both"``.

    Raises:
        ConfigError: invalid arguments (the message lists the valid values).
        InputError: no class folders, no images, unreadable images, or mixed sizes with ``image_size=None``.
    """
    _check(labels, class_names, color_mode, interpolation, crop_to_aspect_ratio, pad_to_aspect_ratio, format)
    size = _size(image_size)
    data_format = data_format or config.image_data_format()

    def load(batch_paths: list[str]) -> torch.Tensor:
        return load_image_batch(batch_paths, color_mode, size, interpolation, crop_to_aspect_ratio,
                                pad_to_aspect_ratio, data_format)

    return dataset_index.datasets_from_directory(
        directory, labels, label_mode, class_names, ALLOWLIST_FORMATS, load, batch_size=batch_size,
        shuffle=shuffle, seed=seed, validation_split=validation_split, subset=subset, follow_links=follow_links,
        verbose=verbose, what="images", caller=_NAME)


def _check(labels: Any, class_names: Any, color_mode: str, interpolation: str, crop: bool, pad: bool,
           fmt: str) -> None:
    if labels not in ("inferred", None) and not isinstance(labels, (list, tuple, np.ndarray)):
        raise ConfigError(f"{_NAME}: `labels` must be 'inferred', None or a list of integer labels; got {labels!r}.")
    if color_mode not in _CHANNELS:
        raise ConfigError(f"{_NAME}: `color_mode` must be one of {tuple(_CHANNELS)}; got {color_mode!r}.")
    if interpolation not in INTERPOLATIONS:
        raise ConfigError(f"{_NAME}: `interpolation` must be one of {INTERPOLATIONS}; got {interpolation!r}.")
    if crop and pad:
        raise ConfigError(f"{_NAME}: only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio` can be True.")
    if fmt not in ("tf", "grain"):
        raise ConfigError(f"{_NAME}: `format` must be 'tf' or 'grain'; got {fmt!r}.")


def _size(image_size: Any) -> tuple[int, int] | None:
    if image_size is None:
        return None
    if isinstance(image_size, int):
        return image_size, image_size
    if not isinstance(image_size, (list, tuple)) or len(image_size) != 2:
        raise ConfigError(f"{_NAME}: `image_size` must be (height, width), an int, or None; got {image_size!r}.")
    return int(image_size[0]), int(image_size[1])


def decode_image(path: str, color_mode: str) -> torch.Tensor:
    """One image file as a float32 ``(height, width, channels)`` tensor of 0-255 values (first frame of a GIF)."""
    from PIL import Image
    try:
        with Image.open(path) as img:
            img.seek(0)
            array = np.asarray(img.convert(_PIL_MODES[color_mode]))
    except (OSError, ValueError) as e:
        raise InputError(f"{_NAME}: cannot decode image {path!r} ({type(e).__name__}: {e}).") from e
    if array.ndim == 2:
        array = array[..., None]
    return torch.from_numpy(array.astype(np.float32))


def resize_with_pad(img: torch.Tensor, size: tuple[int, int], interpolation: str) -> torch.Tensor:
    """``(height, width, channels)`` resized to fit ``size`` keeping its aspect ratio, then zero-padded around.

    The arithmetic (float32, floors) is ``tf.image.resize_with_pad``'s, which Keras's image datasets use.
    """
    from loom.ops.image import resize
    height, width = np.float32(img.shape[0]), np.float32(img.shape[1])
    target_height, target_width = np.float32(size[0]), np.float32(size[1])
    ratio = max(width / target_width, height / target_height)
    new_height, new_width = int(np.floor(height / ratio)), int(np.floor(width / ratio))
    top = max(0, int(np.floor((target_height - height / ratio) / 2)))
    left = max(0, int(np.floor((target_width - width / ratio) / 2)))
    if (new_height, new_width) != tuple(img.shape[:2]):
        img = resize(img, (new_height, new_width), interpolation=interpolation, data_format="channels_last")
    return torch.nn.functional.pad(img, (0, 0, left, size[1] - new_width - left, top, size[0] - new_height - top))


def load_image_batch(paths: list[str], color_mode: str, size: tuple[int, int] | None, interpolation: str,
                     crop: bool, pad: bool, data_format: str) -> torch.Tensor:
    """Decode and resize a batch of images into one ``(batch, ...)`` float32 tensor."""
    from loom.ops.image import resize
    images = []
    for path in paths:
        img = decode_image(path, color_mode)
        if size is not None and pad:
            img = resize_with_pad(img, size, interpolation)
        elif size is not None and (tuple(img.shape[:2]) != size or crop):
            img = resize(img, size, interpolation=interpolation, crop_to_aspect_ratio=crop,
                         data_format="channels_last")
        images.append(img)
    shapes = {tuple(i.shape) for i in images}
    if len(shapes) > 1:
        detail = ", ".join(f"{p} {tuple(i.shape[:2])}" for p, i in zip(paths, images))
        raise InputError(f"{_NAME}: images of one batch have different sizes ({detail}); pass `image_size` to "
                         f"resize them to one size.")
    batch = torch.stack(images)
    if data_format == "channels_first":
        batch = batch.permute(0, 3, 1, 2).contiguous()
    return batch

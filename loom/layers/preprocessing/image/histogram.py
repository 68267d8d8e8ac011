"""Histogram-based contrast layers: ``AutoContrast``, ``Equalization`` and CLAHE
(``ContrastLimitedAdaptiveHistogramEqualization``). They work on 8-bit levels: images are mapped from
``value_range`` onto ``[0, 255]`` and back.

Example:
    >>> import torch, loom
    >>> x = torch.tensor([[[[50.0], [100.0]], [[150.0], [200.0]]]])
    >>> loom.layers.AutoContrast()(x)[..., 0].tolist()
    [[[0.0, 85.0], [170.0, 255.0]]]
"""

from __future__ import annotations

from typing import Any

import torch

from loom.errors import ConfigError
from loom.layers.preprocessing.image.base import BaseImagePreprocessingLayer, rescale, value_range_arg


def _to_channels_last(images: torch.Tensor, data_format: str) -> torch.Tensor:
    return images.permute(0, 2, 3, 1) if data_format == "channels_first" else images


def _from_channels_last(images: torch.Tensor, data_format: str) -> torch.Tensor:
    return images.permute(0, 3, 1, 2) if data_format == "channels_first" else images


class AutoContrast(BaseImagePreprocessingLayer):
    """Stretch each image channel so its darkest pixel maps to the range minimum and its brightest to the maximum.

    Applied in training and inference (deterministic, as in Keras). A constant channel is left unchanged. The
    layout comes from the base-layer keyword ``data_format`` (default ``loom.config.image_data_format()``).

    Args:
        value_range: ``(min, max)`` of the images, the range the channels are stretched to (default ``(0, 255)``).

    Input shape:
        ``(batch, height, width, channels)`` with ``data_format='channels_last'``, ``(batch, channels, height,
        width)`` with ``'channels_first'``, or one image without the batch axis. A dict holding such ``'images'``
        (and optionally ``'labels'`` and ``'segmentation_masks'``) is accepted too.

    Output shape:
        The input's shape (a dict input gives back a dict with the same keys).

    Returns:
        The stretched images, as floats. A dict input gives the dict with ``'images'`` replaced (labels and masks
            unchanged).

    Raises:
        ConfigError: a ``value_range`` that is not a pair of numbers; a dict input with ``'bounding_boxes'``
            (not supported by this layer in loom).
        ShapeError: images of a rank other than 3 or 4.

    Example:
        >>> import torch, loom
        >>> layer = loom.layers.AutoContrast(value_range=(0, 1))
        >>> layer(torch.tensor([[[[0.2], [0.4], [0.6]]]]))[..., 0].tolist()
        [[[0.0, 0.5, 1.0]]]
    """

    _USE_BASE_FACTOR = False
    _random = False

    def __init__(self, value_range: Any = (0, 255), **kwargs: Any):
        super().__init__(**kwargs)
        self.value_range = value_range_arg(self, value_range)

    def transform_images(self, images, transformation=None, training=True):
        x = _to_channels_last(rescale(images, self.value_range, (0, 255)), self.data_format)
        low = x.amin(dim=(1, 2), keepdim=True)
        high = x.amax(dim=(1, 2), keepdim=True)
        scale = 255.0 / (high - low)
        out = (x * scale - low * scale).clamp(0.0, 255.0)
        out = rescale(_from_channels_last(out, self.data_format), (0, 255), self.value_range)
        return torch.where(torch.isnan(out), images, out)

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range}


class Equalization(BaseImagePreprocessingLayer):
    """Equalize the histogram of each channel, spreading its values evenly over the range (in training).

    Images are mapped from ``value_range`` to [0, 255], each value replaced by its rank in the channel's cumulative
    histogram (``bins`` bins) and mapped back. As in Keras 3, the histogram of a channel is taken over the whole
    batch, a channel with a single occupied bin is left unchanged, and the layer is the identity in inference.

    Args:
        value_range: ``(min, max)`` of the images (default ``(0, 255)``).
        bins: the number of histogram bins, an int of at least 2 (default ``256``).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).

    Input shape:
        ``(batch, height, width, channels)`` with ``data_format='channels_last'``, ``(batch, channels, height,
        width)`` with ``'channels_first'``, or one image without the batch axis. A dict holding such ``'images'``
        (and optionally ``'labels'`` and ``'segmentation_masks'``) is accepted too.

    Output shape:
        The input's shape (a dict input gives back a dict with the same keys).

    Returns:
        The equalized images; the input unchanged outside training. Integer images come back in the layer's float
            dtype; a dict input gives the dict with ``'images'`` replaced (labels and masks unchanged).

    Raises:
        ConfigError: ``bins`` that is not an int of at least 2, a malformed ``value_range``, an unknown
            ``data_format``; a dict input with ``'bounding_boxes'`` (not supported by this layer in loom).
        ShapeError: images of a rank other than 3 or 4.

    Example:
        >>> import torch, loom
        >>> layer = loom.layers.Equalization()
        >>> x = torch.tensor([[[[10.0], [20.0]], [[20.0], [30.0]]]])
        >>> layer(x, training=True)[..., 0].tolist()
        [[[0.0, 170.0], [170.0, 255.0]]]
        >>> bool(torch.equal(layer(x, training=False), x))  # inference: the identity
        True
    """

    _USE_BASE_FACTOR = False

    def __init__(self, value_range: Any = (0, 255), bins: int = 256, data_format: str | None = None,
                 **kwargs: Any):
        super().__init__(data_format=data_format, **kwargs)
        if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
            raise ConfigError(f"Equalization '{self.name}': `bins` must be an int >= 2, got {bins!r}.")
        self.bins = bins
        self.value_range = value_range_arg(self, value_range)

    def _equalize(self, channel: torch.Tensor) -> torch.Tensor:
        """One channel of the whole batch, in [0, 255]."""
        bins = self.bins
        indices = ((channel * (bins - 1) / 255.0).to(torch.int32)).clamp(0, bins - 1)
        hist = torch.bincount(indices.flatten().long(), minlength=bins)
        if int((hist > 0).sum()) <= 1:
            return channel
        cdf = torch.cumsum(hist, 0)
        cdf_min = cdf[torch.nonzero(cdf)[0, 0]]
        denominator = cdf[-1] - cdf_min
        denominator = torch.where(denominator == 0, torch.ones_like(denominator), denominator)
        lut = torch.round((cdf - cdf_min).to(torch.float32) * 255 / denominator.to(torch.float32)).clamp(0, 255)
        positions = (channel / 255.0 * (bins - 1)).clamp(0, bins - 1).to(torch.int64)
        return lut.to(channel.dtype)[positions]

    def transform_images(self, images, transformation=None, training=True):
        if not training:
            return images
        x = rescale(images, self.value_range, (0, 255))
        axis = -1 if self.data_format == "channels_last" else 1
        out = torch.stack([self._equalize(c) for c in x.unbind(axis)], dim=axis)
        return rescale(out, (0, 255), self.value_range)

    def get_config(self):
        return {**super().get_config(), "bins": self.bins, "value_range": self.value_range}


def _symmetric_index(size: int, padded: int, device: torch.device) -> torch.Tensor:
    """Indices padding a side of ``size`` to ``padded`` by mirroring, edge included (NumPy's 'symmetric')."""
    i = torch.arange(padded, device=device)
    return torch.where(i < size, i, 2 * size - 1 - i).clamp(0, size - 1)


class ContrastLimitedAdaptiveHistogramEqualization(BaseImagePreprocessingLayer):
    """CLAHE (Zuiderveld, 1994): histogram equalization per tile with clipped histograms, blended between tiles.

    Images are mapped from ``value_range`` to 8-bit levels [0, 255] and cut into a grid of tiles (the borders
    padded by mirroring); each tile's histogram is clipped, the excess spread evenly over all levels, and turned
    into an equalization table; each pixel interpolates bilinearly between the tables of the four nearest tiles.
    Applied in training and inference (deterministic, as in Keras).

    Args:
        value_range: ``(min, max)`` of the images (default ``(0, 255)``).
        clip_limit: the histogram clip, a multiple of the mean count per level, truncated to an integer count as
            Keras does (on tiles of under ``256 / clip_limit`` pixels that count is 0 and the image barely
            changes); higher values allow more contrast (default ``4.0``; ``<= 0`` disables clipping).
        tile_grid_size: ``(rows, cols)`` of tiles, two positive ints (default ``(8, 8)``).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).

    Input shape:
        ``(batch, height, width, channels)`` with ``data_format='channels_last'``, ``(batch, channels, height,
        width)`` with ``'channels_first'``, or one image without the batch axis. A dict holding such ``'images'``
        (and optionally ``'labels'`` and ``'segmentation_masks'``) is accepted too.

    Output shape:
        The input's shape (a dict input gives back a dict with the same keys).

    Returns:
        The equalized images, within ``value_range``, as floats. A dict input gives the dict with ``'images'``
            replaced (labels and masks unchanged).

    Raises:
        ConfigError: a ``clip_limit`` that is not a number, a ``tile_grid_size`` that is not two positive ints, a
            malformed ``value_range`` or an unknown ``data_format``; a dict input with ``'bounding_boxes'`` (not
            supported by this layer in loom).
        ShapeError: images of a rank other than 3 or 4.

    Example:
        >>> import torch, loom
        >>> layer = loom.layers.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(2, 2))
        >>> x = torch.rand(1, 16, 16, 1, generator=torch.Generator().manual_seed(0)) * 50 + 100  # in [100, 150]
        >>> y = layer(x)
        >>> y.shape, bool(y.std() > 2 * x.std())  # the narrow range is spread out
        (torch.Size([1, 16, 16, 1]), True)
    """

    _USE_BASE_FACTOR = False
    _random = False

    def __init__(self, value_range: Any = (0, 255), clip_limit: float = 4.0, tile_grid_size: Any = (8, 8),
                 data_format: str | None = None, **kwargs: Any):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = value_range_arg(self, value_range, keep=True)
        if isinstance(clip_limit, bool) or not isinstance(clip_limit, (int, float)):
            raise ConfigError(f"{type(self).__name__} '{self.name}': `clip_limit` must be a number, got "
                              f"{clip_limit!r}.")
        if not isinstance(tile_grid_size, (tuple, list)) or len(tile_grid_size) != 2 \
                or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in tile_grid_size):
            raise ConfigError(f"{type(self).__name__} '{self.name}': `tile_grid_size` must be two positive ints, "
                              f"got {tile_grid_size!r}.")
        self.clip_limit = clip_limit
        self.tile_grid_size = tile_grid_size

    def _tile_lookup(self, tiles: torch.Tensor, tile_pixels: int) -> torch.Tensor:
        """``(b, gh, gw, c, pixels)`` 8-bit levels -> ``(b, gh, gw, c, 256)`` equalization tables."""
        levels = tiles.to(torch.int64).clamp(0, 255)
        hists = torch.zeros(*levels.shape[:-1], 256, dtype=torch.float32, device=tiles.device)
        hists.scatter_add_(-1, levels, torch.ones_like(levels, dtype=torch.float32))
        if self.clip_limit > 0:  # Keras counts in integers, so the limit is truncated to an integer count
            clipped = hists.clamp(0, float(int(self.clip_limit * tile_pixels / 256.0)))
            hists = clipped + (hists - clipped).sum(-1, keepdim=True) / 256.0
        cdf = torch.cumsum(hists, -1)
        cdf_min = cdf.amin(-1, keepdim=True)
        denominator = tile_pixels - cdf_min
        denominator = torch.where(denominator == 0, torch.ones_like(denominator), denominator)
        return ((cdf - cdf_min) * 255.0 / denominator).clamp(0, 255)

    def _clahe(self, x: torch.Tensor) -> torch.Tensor:
        """CLAHE of channels-last ``x`` in [0, 255]."""
        b, h, w, c = x.shape
        gh, gw = self.tile_grid_size
        th, tw = -(-h // gh), -(-w // gw)
        rows = _symmetric_index(h, th * gh, x.device)
        cols = _symmetric_index(w, tw * gw, x.device)
        padded = x[:, rows][:, :, cols]
        tiles = padded.reshape(b, gh, th, gw, tw, c).permute(0, 1, 3, 5, 2, 4).reshape(b, gh, gw, c, th * tw)
        tables = self._tile_lookup(tiles, th * tw)
        tables = torch.cat([tables[:, :1], tables, tables[:, -1:]], 1)
        tables = torch.cat([tables[:, :, :1], tables, tables[:, :, -1:]], 2)  # (b, gh+2, gw+2, c, 256)
        y = (torch.arange(th * gh, dtype=torch.float32, device=x.device) - th / 2.0) / th + 1.0
        xg = (torch.arange(tw * gw, dtype=torch.float32, device=x.device) - tw / 2.0) / tw + 1.0
        y0, x0 = torch.floor(y), torch.floor(xg)
        wy, wx = (y - y0)[None, :, None, None], (xg - x0)[None, None, :, None]
        y0, y1 = y0.clamp(0, gh + 1).long(), (y0 + 1).clamp(0, gh + 1).long()
        x0, x1 = x0.clamp(0, gw + 1).long(), (x0 + 1).clamp(0, gw + 1).long()
        pixels = padded.clamp(0, 255).to(torch.int64)
        bi = torch.arange(b, device=x.device)[:, None, None, None]
        ci = torch.arange(c, device=x.device)[None, None, None, :]

        def look(ty: torch.Tensor, tx: torch.Tensor) -> torch.Tensor:
            return tables[bi, ty[None, :, None, None], tx[None, None, :, None], ci, pixels]

        top = look(y0, x0) * (1.0 - wx) + look(y0, x1) * wx
        bottom = look(y1, x0) * (1.0 - wx) + look(y1, x1) * wx
        return (top * (1.0 - wy) + bottom * wy)[:, :h, :w, :]

    def transform_images(self, images, transformation=None, training=True):
        x = _to_channels_last(rescale(images.to(torch.float32), self.value_range, (0, 255)), self.data_format)
        out = rescale(self._clahe(x), (0, 255), self.value_range)
        return _from_channels_last(out, self.data_format).to(images.dtype)

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range, "clip_limit": self.clip_limit,
                "tile_grid_size": self.tile_grid_size}

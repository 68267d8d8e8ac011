"""Pooling: ``MaxPooling1D/2D/3D``, ``AveragePooling1D/2D/3D`` and the global poolings, with Keras's aliases
(``MaxPool2D``, ``AvgPool2D``, ``GlobalMaxPool1D``, ``GlobalAvgPool2D``...).

``padding='same'`` follows Keras/TensorFlow (see :mod:`loom.layers.conv_base`): max pooling never picks a
padded element; average pooling divides by the number of real (unpadded) elements in each window, also when
the padding is asymmetric. (Keras 3.15's torch backend replicates edge values into asymmetric padding and
so counts them; its TensorFlow and JAX backends, and Keras after PR #23233, do not. loom follows the latter.)

Example:
    >>> import loom
    >>> x = loom.Input((28, 28, 8))
    >>> loom.layers.MaxPooling2D()(x).shape
    (None, 14, 14, 8)
    >>> loom.layers.GlobalAveragePooling2D()(x).shape
    (None, 8)
"""

from __future__ import annotations

import itertools
from typing import Any

import torch
import torch.nn.functional as F

from loom import backend
from loom.layers import opaque_kernels
from loom.layers.conv_base import SpatialOp, check_rank, data_format_arg, int_tuple, padding_arg
from loom.layers.input_spec import InputSpec
from loom.layers.layer import Layer

_MAX_POOL = {1: F.max_pool1d, 2: opaque_kernels.max_pool2d, 3: F.max_pool3d}
_AVG_POOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


class BasePooling(Layer):
    """Base of the windowed poolings.

    Args:
        pool_size: an int or ``rank`` ints.
        strides: an int or ``rank`` ints (default ``None``: ``pool_size``).
        padding: ``'valid'`` (default) or ``'same'``.
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
    """

    rank = 2
    pool_mode = "max"

    def __init__(self, pool_size: Any, strides: Any = None, padding: str = "valid", data_format: str | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        owner = f"{type(self).__name__} '{self.name}'"
        self.pool_size = int_tuple(pool_size, self.rank, "pool_size", owner)
        self.strides = self.pool_size if strides is None else int_tuple(strides, self.rank, "strides", owner)
        self.padding = padding_arg(padding, owner)
        self.data_format = data_format_arg(data_format, owner)
        self._spatial = SpatialOp(self.rank, self.pool_size, self.strides, (1,) * self.rank, self.padding,
                                  self.data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self.built = True
        # Inference shortcut: windows that neither overlap nor need padding, on channels-last data.
        self._disjoint_windows = (self.strides == self.pool_size and self.padding == "valid"
                                  and self.data_format == "channels_last")

    def call(self, inputs):
        check_rank(self, inputs)
        if self.pool_mode == "max" and self._disjoint_windows and backend.inference_shortcuts():
            return _max_of_disjoint_windows(inputs, self.pool_size)
        sp = self._spatial
        x = sp.to_first(inputs)
        padding, pre_pad = sp.padding_for(x)
        if self.pool_mode == "max":
            if pre_pad is not None:
                x = F.pad(x, pre_pad, value=_lowest(x.dtype))
            y = _MAX_POOL[sp.op_rank](x, sp.window, sp.strides, padding)
        elif pre_pad is None:
            y = _AVG_POOL[sp.op_rank](x, sp.window, sp.strides, padding, count_include_pad=False)
        else:
            y = self._average_asymmetric(x, pre_pad)
        return sp.to_last(y)

    def _average_asymmetric(self, x: torch.Tensor, pre_pad: tuple) -> torch.Tensor:
        """Window sums over zero padding divided by the count of real elements in each window."""
        sp = self._spatial
        pool = _AVG_POOL[sp.op_rank]
        sums = pool(F.pad(x, pre_pad), sp.window, sp.strides)
        ones = torch.ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype, device=x.device)
        counts = pool(F.pad(ones, pre_pad), sp.window, sp.strides)
        return sums / counts

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


def _max_of_disjoint_windows(x: torch.Tensor, window: tuple[int, ...]) -> torch.Tensor:
    """Max pooling of channels-last ``x`` over windows that tile it without overlap (``strides == pool_size``,
    ``'valid'``): the elementwise maximum of the window's strided slices, into one output buffer. Without
    gradients it gives ``max_pool``'s values without computing the argmax indices that ``max_pool`` always
    writes on the CPU (twice the output's size in int64)."""
    outs = [size // k for size, k in zip(x.shape[1:-1], window)]
    offsets = list(itertools.product(*(range(k) for k in window)))

    def piece(offset):
        return x[(slice(None),) + tuple(slice(o, o + n * k, k) for o, n, k in zip(offset, outs, window))]
    if len(offsets) == 1:
        return piece(offsets[0]).clone()
    result = torch.maximum(piece(offsets[0]), piece(offsets[1]))
    for offset in offsets[2:]:
        torch.maximum(result, piece(offset), out=result)
    return result


def _lowest(dtype: torch.dtype) -> float | int:
    return float("-inf") if dtype.is_floating_point else torch.iinfo(dtype).min


class MaxPooling1D(BasePooling):
    """Max pooling over 1-D windows: the maximum of each window, per channel.

    Args:
        pool_size: the window size: an int or a tuple of 1 int (default 2).
        strides: the step between windows: an int or a tuple of 1 int (default ``None``: ``pool_size``).
        padding: ``'valid'`` (default: windows inside the input) or ``'same'`` (output size = input size /
            stride).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).
        **kwargs: base layer arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, steps, channels)`` (channels last) or ``(batch, channels, steps)``.

    Output shape:
        ``(batch, pooled_steps, channels)`` (channels last), each ``pooled`` size
        ``(size - pool_size) // strides + 1`` (``'valid'``) or ``ceil(size / strides)`` (``'same'``).

    Returns:
        A tensor of the output shape.

    Raises:
        ConfigError: a non-positive ``pool_size`` or ``strides``, or an unknown ``padding`` / ``data_format``.
        ShapeError: an input of the wrong rank.

    Example:
        >>> import torch, loom
        >>> loom.layers.MaxPooling1D(2)(torch.arange(6.0).reshape(1, 6, 1)).flatten().tolist()
        [1.0, 3.0, 5.0]
    """

    rank, pool_mode = 1, "max"

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling2D(BasePooling):
    """Max pooling over 2-D windows: the maximum of each window, per channel.

    Args:
        pool_size: the window size: an int or 2 ints (default ``(2, 2)``).
        strides: the step between windows: an int or 2 ints (default ``None``: ``pool_size``).
        padding: ``'valid'`` (default: windows inside the input) or ``'same'`` (output size = input size /
            stride).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).
        **kwargs: base layer arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, height, width, channels)`` (channels last) or ``(batch, channels, height, width)``.

    Output shape:
        ``(batch, pooled_height, pooled_width, channels)`` (channels last), each ``pooled`` size
        ``(size - pool_size) // strides + 1`` (``'valid'``) or ``ceil(size / strides)`` (``'same'``).

    Returns:
        A tensor of the output shape.

    Raises:
        ConfigError: a non-positive ``pool_size`` or ``strides``, or an unknown ``padding`` / ``data_format``.
        ShapeError: an input of the wrong rank.

    Example:
        >>> import torch, loom
        >>> loom.layers.MaxPooling2D()(torch.ones(2, 8, 8, 3)).shape
        torch.Size([2, 4, 4, 3])
    """

    rank, pool_mode = 2, "max"

    def __init__(self, pool_size: Any = (2, 2), strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling3D(BasePooling):
    """Max pooling over 3-D windows: the maximum of each window, per channel.

    Args:
        pool_size: the window size: an int or 3 ints (default ``(2, 2, 2)``).
        strides: the step between windows: an int or 3 ints (default ``None``: ``pool_size``).
        padding: ``'valid'`` (default: windows inside the input) or ``'same'`` (output size = input size /
            stride).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).
        **kwargs: base layer arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, depth, height, width, channels)`` (channels last) or ``(batch, channels, depth, height, width)``.

    Output shape:
        ``(batch, pooled_depth, pooled_height, pooled_width, channels)`` (channels last), each ``pooled`` size
        ``(size - pool_size) // strides + 1`` (``'valid'``) or ``ceil(size / strides)`` (``'same'``).

    Returns:
        A tensor of the output shape.

    Raises:
        ConfigError: a non-positive ``pool_size`` or ``strides``, or an unknown ``padding`` / ``data_format``.
        ShapeError: an input of the wrong rank.

    Example:
        >>> import torch, loom
        >>> loom.layers.MaxPooling3D()(torch.ones(1, 4, 4, 4, 2)).shape
        torch.Size([1, 2, 2, 2, 2])
    """

    rank, pool_mode = 3, "max"

    def __init__(self, pool_size: Any = (2, 2, 2), strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling1D(BasePooling):
    """Average pooling over 1-D windows: the mean of each window, per channel.

    With ``padding="same"`` the padded positions are left out of each mean, as Keras.

    Args:
        pool_size: the window size: an int or a tuple of 1 int (required).
        strides: the step between windows: an int or a tuple of 1 int (default ``None``: ``pool_size``).
        padding: ``'valid'`` (default: windows inside the input) or ``'same'`` (output size = input size /
            stride).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).
        **kwargs: base layer arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, steps, channels)`` (channels last) or ``(batch, channels, steps)``.

    Output shape:
        ``(batch, pooled_steps, channels)`` (channels last), each ``pooled`` size
        ``(size - pool_size) // strides + 1`` (``'valid'``) or ``ceil(size / strides)`` (``'same'``).

    Returns:
        A tensor of the output shape.

    Raises:
        ConfigError: a non-positive ``pool_size`` or ``strides``, or an unknown ``padding`` / ``data_format``.
        ShapeError: an input of the wrong rank.

    Example:
        >>> import torch, loom
        >>> loom.layers.AveragePooling1D(2)(torch.arange(4.0).reshape(1, 4, 1)).flatten().tolist()
        [0.5, 2.5]
    """

    rank, pool_mode = 1, "average"


class AveragePooling2D(BasePooling):
    """Average pooling over 2-D windows: the mean of each window, per channel.

    With ``padding="same"`` the padded positions are left out of each mean, as Keras.

    Args:
        pool_size: the window size: an int or 2 ints (required).
        strides: the step between windows: an int or 2 ints (default ``None``: ``pool_size``).
        padding: ``'valid'`` (default: windows inside the input) or ``'same'`` (output size = input size /
            stride).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).
        **kwargs: base layer arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, height, width, channels)`` (channels last) or ``(batch, channels, height, width)``.

    Output shape:
        ``(batch, pooled_height, pooled_width, channels)`` (channels last), each ``pooled`` size
        ``(size - pool_size) // strides + 1`` (``'valid'``) or ``ceil(size / strides)`` (``'same'``).

    Returns:
        A tensor of the output shape.

    Raises:
        ConfigError: a non-positive ``pool_size`` or ``strides``, or an unknown ``padding`` / ``data_format``.
        ShapeError: an input of the wrong rank.

    Example:
        >>> import torch, loom
        >>> loom.layers.AveragePooling2D(3, strides=1, padding="same")(torch.ones(1, 5, 5, 2)).shape
        torch.Size([1, 5, 5, 2])
    """

    rank, pool_mode = 2, "average"


class AveragePooling3D(BasePooling):
    """Average pooling over 3-D windows: the mean of each window, per channel.

    With ``padding="same"`` the padded positions are left out of each mean, as Keras.

    Args:
        pool_size: the window size: an int or 3 ints (required).
        strides: the step between windows: an int or 3 ints (default ``None``: ``pool_size``).
        padding: ``'valid'`` (default: windows inside the input) or ``'same'`` (output size = input size /
            stride).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).
        **kwargs: base layer arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, depth, height, width, channels)`` (channels last) or ``(batch, channels, depth, height, width)``.

    Output shape:
        ``(batch, pooled_depth, pooled_height, pooled_width, channels)`` (channels last), each ``pooled`` size
        ``(size - pool_size) // strides + 1`` (``'valid'``) or ``ceil(size / strides)`` (``'same'``).

    Returns:
        A tensor of the output shape.

    Raises:
        ConfigError: a non-positive ``pool_size`` or ``strides``, or an unknown ``padding`` / ``data_format``.
        ShapeError: an input of the wrong rank.

    Example:
        >>> import torch, loom
        >>> loom.layers.AveragePooling3D(2)(torch.ones(1, 4, 4, 4, 2)).shape
        torch.Size([1, 2, 2, 2, 2])
    """

    rank, pool_mode = 3, "average"


# --------------------------------------------------------------------------------------- global pooling
class BaseGlobalPooling(Layer):
    """Base of the global poolings: reduce every spatial axis.

    Args:
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        keepdims: keep the reduced axes with size 1 (default ``False``).
    """

    rank = 2

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format_arg(data_format, f"{type(self).__name__} '{self.name}'")
        self.keepdims = bool(keepdims)
        first = 1 if self.data_format == "channels_last" else 2
        self._axes = tuple(range(first, first + self.rank))
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self.built = True

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class _GlobalMax(BaseGlobalPooling):
    def call(self, inputs):
        check_rank(self, inputs)
        return torch.amax(inputs, dim=self._axes, keepdim=self.keepdims)


class _GlobalAverage(BaseGlobalPooling):
    def call(self, inputs):
        check_rank(self, inputs)
        return torch.mean(inputs, dim=self._axes, keepdim=self.keepdims)


class GlobalMaxPooling1D(_GlobalMax):
    """Global max pooling: the maximum over every step, per channel.

    Args:
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).
        keepdims: keep the reduced axes with size 1 (default ``False``).
        **kwargs: base layer arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, steps, channels)`` (channels last) or ``(batch, channels, steps)``.

    Output shape:
        ``(batch, channels)``; with ``keepdims=True``, ``(batch, 1, channels)`` (channels last) or
        ``(batch, channels, 1)``.

    Returns:
        A tensor of the output shape.

    Raises:
        ConfigError: an unknown ``data_format``.
        ShapeError: an input of the wrong rank.

    Example:
        >>> import torch, loom
        >>> loom.layers.GlobalMaxPooling1D()(torch.ones(2, 5, 3)).shape
        torch.Size([2, 3])
    """

    rank = 1


class GlobalMaxPooling2D(_GlobalMax):
    """Global max pooling: the maximum over every spatial position, per channel.

    Args:
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).
        keepdims: keep the reduced axes with size 1 (default ``False``).
        **kwargs: base layer arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, height, width, channels)`` (channels last) or ``(batch, channels, height, width)``.

    Output shape:
        ``(batch, channels)``; with ``keepdims=True``, ``(batch, 1, 1, channels)`` (channels last) or
        ``(batch, channels, 1, 1)``.

    Returns:
        A tensor of the output shape.

    Raises:
        ConfigError: an unknown ``data_format``.
        ShapeError: an input of the wrong rank.

    Example:
        >>> import torch, loom
        >>> loom.layers.GlobalMaxPooling2D(keepdims=True)(torch.ones(2, 5, 5, 3)).shape
        torch.Size([2, 1, 1, 3])
    """

    rank = 2


class GlobalMaxPooling3D(_GlobalMax):
    """Global max pooling: the maximum over every spatial position, per channel.

    Args:
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).
        keepdims: keep the reduced axes with size 1 (default ``False``).
        **kwargs: base layer arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, depth, height, width, channels)`` (channels last) or ``(batch, channels, depth, height, width)``.

    Output shape:
        ``(batch, channels)``; with ``keepdims=True``, ``(batch, 1, 1, 1, channels)`` (channels last) or
        ``(batch, channels, 1, 1, 1)``.

    Returns:
        A tensor of the output shape.

    Raises:
        ConfigError: an unknown ``data_format``.
        ShapeError: an input of the wrong rank.

    Example:
        >>> import torch, loom
        >>> loom.layers.GlobalMaxPooling3D()(torch.ones(2, 3, 3, 3, 4)).shape
        torch.Size([2, 4])
    """

    rank = 3


class GlobalAveragePooling1D(_GlobalAverage):
    """Global average pooling: the mean over every step, per channel.

    Args:
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).
        keepdims: keep the reduced axes with size 1 (default ``False``).
        **kwargs: base layer arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, steps, channels)`` (channels last) or ``(batch, channels, steps)``.

    Output shape:
        ``(batch, channels)``; with ``keepdims=True``, ``(batch, 1, channels)`` (channels last) or
        ``(batch, channels, 1)``.

    Returns:
        A tensor of the output shape.

    Raises:
        ConfigError: an unknown ``data_format``.
        ShapeError: an input of the wrong rank.

    Example:
        >>> import torch, loom
        >>> x = torch.tensor([[[1.0], [3.0], [100.0]]])
        >>> loom.layers.GlobalAveragePooling1D()(x, mask=torch.tensor([[True, True, False]])).tolist()
        [[2.0]]
    """

    rank = 1
    supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        check_rank(self, inputs)
        steps = self._axes[0]
        keep = mask.to(device=inputs.device, dtype=torch.bool).unsqueeze(2 if steps == 1 else 1)
        total = torch.where(keep, inputs, torch.zeros((), dtype=inputs.dtype, device=inputs.device))
        total = total.sum(dim=steps, keepdim=self.keepdims)
        return total / keep.to(inputs.dtype).sum(dim=steps, keepdim=self.keepdims)

    def compute_mask(self, inputs, mask=None):
        return None


class GlobalAveragePooling2D(_GlobalAverage):
    """Global average pooling: the mean over every spatial position, per channel.

    Args:
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).
        keepdims: keep the reduced axes with size 1 (default ``False``).
        **kwargs: base layer arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, height, width, channels)`` (channels last) or ``(batch, channels, height, width)``.

    Output shape:
        ``(batch, channels)``; with ``keepdims=True``, ``(batch, 1, 1, channels)`` (channels last) or
        ``(batch, channels, 1, 1)``.

    Returns:
        A tensor of the output shape.

    Raises:
        ConfigError: an unknown ``data_format``.
        ShapeError: an input of the wrong rank.

    Example:
        >>> import torch, loom
        >>> loom.layers.GlobalAveragePooling2D()(torch.ones(2, 5, 5, 3)).shape
        torch.Size([2, 3])
    """

    rank = 2


class GlobalAveragePooling3D(_GlobalAverage):
    """Global average pooling: the mean over every spatial position, per channel.

    Args:
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).
        keepdims: keep the reduced axes with size 1 (default ``False``).
        **kwargs: base layer arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, depth, height, width, channels)`` (channels last) or ``(batch, channels, depth, height, width)``.

    Output shape:
        ``(batch, channels)``; with ``keepdims=True``, ``(batch, 1, 1, 1, channels)`` (channels last) or
        ``(batch, channels, 1, 1, 1)``.

    Returns:
        A tensor of the output shape.

    Raises:
        ConfigError: an unknown ``data_format``.
        ShapeError: an input of the wrong rank.

    Example:
        >>> import torch, loom
        >>> loom.layers.GlobalAveragePooling3D()(torch.ones(2, 3, 3, 3, 4)).shape
        torch.Size([2, 4])
    """

    rank = 3


MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D
GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = (GlobalAveragePooling1D, GlobalAveragePooling2D,
                                                     GlobalAveragePooling3D)

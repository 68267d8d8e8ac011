"""Convolutions: ``Conv1D``, ``Conv2D``, ``Conv3D`` and the transposed ``Conv1DTranspose``,
``Conv2DTranspose``, ``Conv3DTranspose``, with Keras 3's arguments, padding rules and weight shapes.

Kernels are stored in torch's layout and shown in Keras's by ``get_weights()`` (see
:mod:`loom.layers.conv_base` for the layout and padding rules).

Example:
    >>> import loom
    >>> x = loom.Input((28, 28, 1))
    >>> y = loom.layers.Conv2D(32, 3, activation="relu")(x)
    >>> y.shape
    (None, 26, 26, 32)
    >>> import torch
    >>> conv = loom.layers.Conv2D(8, 3)
    >>> conv(torch.ones(1, 9, 9, 4)).shape
    torch.Size([1, 7, 7, 8])
    >>> [w.shape for w in conv.get_weights()]
    [(3, 3, 4, 8), (8,)]
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from loom.errors import ConfigError
from loom.layers.conv_base import BaseConv, int_tuple

_CONV_TRANSPOSE = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


class Conv1D(BaseConv):
    """1-D convolution over sequences (temporal convolution).

    The layer convolves a learned kernel with its input and adds a bias: ``activation(conv(inputs, kernel) +
    bias)``. The kernel is stored in torch's layout for speed and shown by ``get_weights()`` in Keras's
    ``(kernel_size, in_channels // groups, filters)``.

    Args:
        filters: the number of output channels (a positive int).
        kernel_size: the window size: an int or a tuple of 1 int.
        strides: the step of the window: an int or a tuple of 1 int (default 1).
        padding: ``'valid'`` (default, no padding), ``'same'`` (output size = input size / stride) or
            ``'causal'`` (left padding only, for autoregressive models).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).
        dilation_rate: spacing between kernel taps (an int or a tuple of 1 int; default 1).
        groups: split the input channels into this many groups convolved separately (default 1).
        activation: applied to the output (default ``None``: linear).
        use_bias: add a learned bias (default ``True``).
        kernel_initializer: initializer of the kernel (default ``'glorot_uniform'``).
        bias_initializer: initializer of the bias (default ``'zeros'``).
        kernel_regularizer: penalty on the kernel (default ``None``).
        bias_regularizer: penalty on the bias (default ``None``).
        activity_regularizer: penalty on the output (default ``None``).
        kernel_constraint: projection applied to the kernel after each update (default ``None``).
        bias_constraint: projection applied to the bias after each update (default ``None``).
        **kwargs: base layer arguments (``name``, ``dtype``, ``trainable``...).

    Input shape:
        ``(batch, steps, channels)`` with ``data_format='channels_last'``, or
        ``(batch, channels, steps)`` with ``'channels_first'``.

    Output shape:
        ``(batch, new_steps, filters)`` (channels last) or ``(batch, filters, new_steps)``; each
        spatial size shrinks with ``'valid'`` padding and is divided by the stride with ``'same'``.

    Returns:
        A tensor of the output shape: ``activation(conv(inputs, kernel) + bias)``.

    Raises:
        ConfigError: a non-positive ``filters``, ``kernel_size``, ``strides`` or ``dilation_rate``; strides and
            dilation both above 1; an unknown ``padding`` or ``data_format``; ``groups`` not dividing
            ``filters``.
        ShapeError: an input of the wrong rank, or whose channels ``groups`` does not divide.

    Example:
        >>> import torch, loom
        >>> loom.layers.Conv1D(4, 3, padding="causal")(torch.ones(2, 10, 8)).shape
        torch.Size([2, 10, 4])
    """

    rank = 1


class Conv2D(BaseConv):
    """2-D convolution over images (spatial convolution).

    The layer convolves a learned kernel with its input and adds a bias: ``activation(conv(inputs, kernel) +
    bias)``. The kernel is stored in torch's layout for speed and shown by ``get_weights()`` in Keras's
    ``(kh, kw, in_channels // groups, filters)``.

    Args:
        filters: the number of output channels (a positive int).
        kernel_size: the window size: an int or 2 ints.
        strides: the step of the window: an int or 2 ints (default 1).
        padding: ``'valid'`` (default, no padding) or ``'same'`` (output size = input size / stride).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).
        dilation_rate: spacing between kernel taps (an int or 2 ints; default 1).
        groups: split the input channels into this many groups convolved separately (default 1).
        activation: applied to the output (default ``None``: linear).
        use_bias: add a learned bias (default ``True``).
        kernel_initializer: initializer of the kernel (default ``'glorot_uniform'``).
        bias_initializer: initializer of the bias (default ``'zeros'``).
        kernel_regularizer: penalty on the kernel (default ``None``).
        bias_regularizer: penalty on the bias (default ``None``).
        activity_regularizer: penalty on the output (default ``None``).
        kernel_constraint: projection applied to the kernel after each update (default ``None``).
        bias_constraint: projection applied to the bias after each update (default ``None``).
        **kwargs: base layer arguments (``name``, ``dtype``, ``trainable``...).

    Input shape:
        ``(batch, height, width, channels)`` with ``data_format='channels_last'``, or
        ``(batch, channels, height, width)`` with ``'channels_first'``.

    Output shape:
        ``(batch, new_height, new_width, filters)`` (channels last) or ``(batch, filters, new_height, new_width)``; each
        spatial size shrinks with ``'valid'`` padding and is divided by the stride with ``'same'``.

    Returns:
        A tensor of the output shape: ``activation(conv(inputs, kernel) + bias)``.

    Raises:
        ConfigError: a non-positive ``filters``, ``kernel_size``, ``strides`` or ``dilation_rate``; strides and
            dilation both above 1; an unknown ``padding`` or ``data_format``; ``groups`` not dividing
            ``filters``.
        ShapeError: an input of the wrong rank, or whose channels ``groups`` does not divide.

    Example:
        >>> import torch, loom
        >>> loom.layers.Conv2D(8, 3, strides=2, padding="same")(torch.ones(2, 9, 9, 3)).shape
        torch.Size([2, 5, 5, 8])
    """

    rank = 2


class Conv3D(BaseConv):
    """3-D convolution over volumes (e.g. video or medical scans).

    The layer convolves a learned kernel with its input and adds a bias: ``activation(conv(inputs, kernel) +
    bias)``. The kernel is stored in torch's layout for speed and shown by ``get_weights()`` in Keras's
    ``(kd, kh, kw, in_channels // groups, filters)``.

    Args:
        filters: the number of output channels (a positive int).
        kernel_size: the window size: an int or 3 ints.
        strides: the step of the window: an int or 3 ints (default 1).
        padding: ``'valid'`` (default, no padding) or ``'same'`` (output size = input size / stride).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).
        dilation_rate: spacing between kernel taps (an int or 3 ints; default 1).
        groups: split the input channels into this many groups convolved separately (default 1).
        activation: applied to the output (default ``None``: linear).
        use_bias: add a learned bias (default ``True``).
        kernel_initializer: initializer of the kernel (default ``'glorot_uniform'``).
        bias_initializer: initializer of the bias (default ``'zeros'``).
        kernel_regularizer: penalty on the kernel (default ``None``).
        bias_regularizer: penalty on the bias (default ``None``).
        activity_regularizer: penalty on the output (default ``None``).
        kernel_constraint: projection applied to the kernel after each update (default ``None``).
        bias_constraint: projection applied to the bias after each update (default ``None``).
        **kwargs: base layer arguments (``name``, ``dtype``, ``trainable``...).

    Input shape:
        ``(batch, depth, height, width, channels)`` with ``data_format='channels_last'``, or
        ``(batch, channels, depth, height, width)`` with ``'channels_first'``.

    Output shape:
        ``(batch, new_depth, new_height, new_width, filters)`` (channels last) or
        ``(batch, filters, new_depth, new_height, new_width)``; each spatial size shrinks with ``'valid'``
        padding and is divided by the stride with ``'same'``.

    Returns:
        A tensor of the output shape: ``activation(conv(inputs, kernel) + bias)``.

    Raises:
        ConfigError: a non-positive ``filters``, ``kernel_size``, ``strides`` or ``dilation_rate``; strides and
            dilation both above 1; an unknown ``padding`` or ``data_format``; ``groups`` not dividing
            ``filters``.
        ShapeError: an input of the wrong rank, or whose channels ``groups`` does not divide.

    Example:
        >>> import torch, loom
        >>> loom.layers.Conv3D(2, 3)(torch.ones(1, 5, 5, 5, 1)).shape
        torch.Size([1, 3, 3, 3, 2])
    """

    rank = 3


def transpose_crops(kernel: int, stride: int, dilation: int, padding: str,
                    output_padding: int | None) -> tuple[int, int]:
    """How much of the full transposed-conv output to cut ``(before, after)`` for Keras's output size.

    The full output has ``(n - 1) * stride + (kernel - 1) * dilation + 1`` elements; a negative cut means
    zeros are added instead (Keras's default ``output_padding`` for ``'valid'`` when stride > kernel).
    """
    effective = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(effective, stride) - effective if output_padding is None else output_padding
        before, after = effective - 1, effective - 1 + extra
    else:
        total = (stride + effective - 2 if output_padding is None
                 else effective + effective % 2 - 2 + output_padding)
        before = min(total // 2 + total % 2, effective - 1)
        after = total - before
    return effective - 1 - before, effective - 1 - after


class BaseConvTranspose(BaseConv):
    """Base of the transposed convolutions (also called deconvolutions).

    The kernel is stored in torch's ``(in_channels, filters, *kernel_size)`` layout and shown in Keras's
    ``(*kernel_size, filters, in_channels)``. Output sizes follow Keras exactly: torch's own ``padding`` /
    ``output_padding`` are used when they express Keras's crop, else the full output is cut (and, where
    Keras extends it, zero-padded) explicitly.

    Args:
        filters: number of output channels.
        kernel_size: an int or ``rank`` ints.
        strides: an int or ``rank`` ints (default 1).
        padding: ``'valid'`` (default) or ``'same'``.
        output_padding: an int or ``rank`` ints, each < the stride (default ``None``: Keras's inferred size).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        dilation_rate: default 1.
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
            activity_regularizer, kernel_constraint, bias_constraint: as :class:`Conv2D`.
    """

    allows_causal = False

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 output_padding: Any = None, data_format: str | None = None, dilation_rate: Any = 1, **kwargs):
        if "groups" in kwargs:
            raise ConfigError(f"{type(self).__name__} has no `groups` argument (as in Keras).")
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, **kwargs)
        owner = f"{type(self).__name__} '{self.name}'"
        self.output_padding = None
        if output_padding is not None:
            self.output_padding = int_tuple(output_padding, self.rank, "output_padding", owner, allow_zero=True)
            if any(p >= s for p, s in zip(self.output_padding, self.strides)):
                raise ConfigError(f"{owner}: each value of `output_padding` must be < the stride, got "
                                  f"output_padding={self.output_padding}, strides={self.strides}.")
        self._plan_crops()

    def _plan_crops(self) -> None:
        sp = self._spatial
        ops = [None] * self.rank if self.output_padding is None else self.output_padding
        crops = [transpose_crops(k, s, d, self.padding, p)
                 for k, s, d, p in zip(self.kernel_size, self.strides, self.dilation_rate, ops)]
        crops = [(0, 0)] * (sp.op_rank - self.rank) + crops
        self._crops = crops
        self._torch_native = all(before >= 0 and 0 <= before - after < max(s, d)
                                 for (before, after), s, d in zip(crops, sp.strides, sp.dilation))
        self._torch_padding = tuple(max(b, 0) for b, _ in crops)
        self._torch_output_padding = tuple(b - a for b, a in crops)

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self._add_kernel("kernel", self.kernel_size + (self.filters, channels), self.kernel_initializer,
                         self.kernel_regularizer, self.kernel_constraint)
        self._add_bias(self.filters)

    def call(self, inputs):
        self._check_channels(inputs)
        sp = self._spatial
        x = sp.to_first(inputs)
        op = _CONV_TRANSPOSE[sp.op_rank]
        weight = sp.lift_weight(self.kernel)
        if self._torch_native:
            y = op(x, weight, self.bias, sp.strides, self._torch_padding, self._torch_output_padding, 1,
                   sp.dilation)
        else:
            y = self._cut(op(x, weight, None, sp.strides, 0, 0, 1, sp.dilation))
            if self.bias is not None:
                y = y + self.bias.view((1, -1) + (1,) * sp.op_rank)
        return self._activate(y)

    def _cut(self, y: torch.Tensor) -> torch.Tensor:
        """Cut (or zero-extend, for negative amounts) each spatial axis of the full output."""
        index = [slice(None), slice(None)]
        for (before, after), size in zip(self._crops, y.shape[2:]):
            index.append(slice(max(before, 0), size - max(after, 0)))
        y = y[tuple(index)]
        if any(b < 0 or a < 0 for b, a in self._crops):
            pads = []
            for before, after in reversed(self._crops):
                pads.extend((max(-before, 0), max(-after, 0)))
            y = F.pad(y, pads)
        return y

    def get_config(self):
        config = super().get_config()
        del config["groups"]
        config["output_padding"] = self.output_padding
        return config


class Conv1DTranspose(BaseConvTranspose):
    """Transposed 1-D convolution (deconvolution) over sequences.

    The transpose of a convolution: it maps each input position to a window of the output, so strides
    upsample (the usual decoder layer). ``get_weights()`` shows the kernel in Keras's
    ``(kernel_size, filters, in_channels)``; output sizes follow Keras exactly.

    Args:
        filters: the number of output channels (a positive int).
        kernel_size: the window size: an int or a tuple of 1 int.
        strides: the upsampling step: an int or a tuple of 1 int (default 1).
        padding: ``'valid'`` (default) or ``'same'`` (output size = input size * stride).
        output_padding: extra size added on one side of each spatial axis, each below the stride (an int or
            1 ints; default ``None``: inferred as Keras does).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).
        dilation_rate: spacing between kernel taps (an int or a tuple of 1 int; default 1).
        **kwargs: the keyword arguments of :class:`Conv1D` after ``groups``: ``activation`` (default ``None``),
            ``use_bias`` (default ``True``), ``kernel_initializer`` (default ``'glorot_uniform'``),
            ``bias_initializer`` (default ``'zeros'``), ``kernel_regularizer``, ``bias_regularizer``,
            ``activity_regularizer``, ``kernel_constraint``, ``bias_constraint`` (default ``None``), and the base
            layer arguments (``name``, ``dtype``, ``trainable``...).

    Input shape:
        ``(batch, steps, channels)`` (channels last) or ``(batch, channels, steps)``.

    Output shape:
        ``(batch, new_steps, filters)`` (channels last), each spatial size about
        ``size * stride`` (``'same'``) or ``(size - 1) * stride + kernel_size`` (``'valid'``).

    Returns:
        A tensor of the output shape.

    Raises:
        ConfigError: a bad ``filters``, ``kernel_size``, ``strides``, ``padding`` or ``data_format``; an
            ``output_padding`` not below the stride; a ``groups`` argument (transposed convolutions have none).
        ShapeError: an input of the wrong rank or channel count.

    Example:
        >>> import torch, loom
        >>> loom.layers.Conv1DTranspose(4, 3, strides=2, padding="same")(torch.ones(2, 5, 8)).shape
        torch.Size([2, 10, 4])
    """

    rank = 1


class Conv2DTranspose(BaseConvTranspose):
    """Transposed 2-D convolution (deconvolution) over images.

    The transpose of a convolution: it maps each input position to a window of the output, so strides
    upsample (the usual decoder layer). ``get_weights()`` shows the kernel in Keras's
    ``(kh, kw, filters, in_channels)``; output sizes follow Keras exactly.

    Args:
        filters: the number of output channels (a positive int).
        kernel_size: the window size: an int or 2 ints.
        strides: the upsampling step: an int or 2 ints (default 1).
        padding: ``'valid'`` (default) or ``'same'`` (output size = input size * stride).
        output_padding: extra size added on one side of each spatial axis, each below the stride (an int or
            2 ints; default ``None``: inferred as Keras does).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).
        dilation_rate: spacing between kernel taps (an int or 2 ints; default 1).
        **kwargs: the keyword arguments of :class:`Conv2D` after ``groups``: ``activation`` (default ``None``),
            ``use_bias`` (default ``True``), ``kernel_initializer`` (default ``'glorot_uniform'``),
            ``bias_initializer`` (default ``'zeros'``), ``kernel_regularizer``, ``bias_regularizer``,
            ``activity_regularizer``, ``kernel_constraint``, ``bias_constraint`` (default ``None``), and the base
            layer arguments (``name``, ``dtype``, ``trainable``...).

    Input shape:
        ``(batch, height, width, channels)`` (channels last) or ``(batch, channels, height, width)``.

    Output shape:
        ``(batch, new_height, new_width, filters)`` (channels last), each spatial size about
        ``size * stride`` (``'same'``) or ``(size - 1) * stride + kernel_size`` (``'valid'``).

    Returns:
        A tensor of the output shape.

    Raises:
        ConfigError: a bad ``filters``, ``kernel_size``, ``strides``, ``padding`` or ``data_format``; an
            ``output_padding`` not below the stride; a ``groups`` argument (transposed convolutions have none).
        ShapeError: an input of the wrong rank or channel count.

    Example:
        >>> import torch, loom
        >>> loom.layers.Conv2DTranspose(4, 3, strides=2, padding="same")(torch.ones(2, 5, 5, 8)).shape
        torch.Size([2, 10, 10, 4])
    """

    rank = 2


class Conv3DTranspose(BaseConvTranspose):
    """Transposed 3-D convolution (deconvolution) over volumes.

    The transpose of a convolution: it maps each input position to a window of the output, so strides
    upsample (the usual decoder layer). ``get_weights()`` shows the kernel in Keras's
    ``(kd, kh, kw, filters, in_channels)``; output sizes follow Keras exactly.

    Args:
        filters: the number of output channels (a positive int).
        kernel_size: the window size: an int or 3 ints.
        strides: the upsampling step: an int or 3 ints (default 1).
        padding: ``'valid'`` (default) or ``'same'`` (output size = input size * stride).
        output_padding: extra size added on one side of each spatial axis, each below the stride (an int or
            3 ints; default ``None``: inferred as Keras does).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).
        dilation_rate: spacing between kernel taps (an int or 3 ints; default 1).
        **kwargs: the keyword arguments of :class:`Conv3D` after ``groups``: ``activation`` (default ``None``),
            ``use_bias`` (default ``True``), ``kernel_initializer`` (default ``'glorot_uniform'``),
            ``bias_initializer`` (default ``'zeros'``), ``kernel_regularizer``, ``bias_regularizer``,
            ``activity_regularizer``, ``kernel_constraint``, ``bias_constraint`` (default ``None``), and the base
            layer arguments (``name``, ``dtype``, ``trainable``...).

    Input shape:
        ``(batch, depth, height, width, channels)`` (channels last) or ``(batch, channels, depth, height, width)``.

    Output shape:
        ``(batch, new_depth, new_height, new_width, filters)`` (channels last), each spatial size about
        ``size * stride`` (``'same'``) or ``(size - 1) * stride + kernel_size`` (``'valid'``).

    Returns:
        A tensor of the output shape.

    Raises:
        ConfigError: a bad ``filters``, ``kernel_size``, ``strides``, ``padding`` or ``data_format``; an
            ``output_padding`` not below the stride; a ``groups`` argument (transposed convolutions have none).
        ShapeError: an input of the wrong rank or channel count.

    Example:
        >>> import torch, loom
        >>> loom.layers.Conv3DTranspose(2, 2, strides=2)(torch.ones(1, 3, 3, 3, 4)).shape
        torch.Size([1, 6, 6, 6, 2])
    """

    rank = 3

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, output_padding: Any = None, dilation_rate: Any = 1, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, output_padding=output_padding,
                         data_format=data_format, dilation_rate=dilation_rate, **kwargs)


Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D
Convolution1DTranspose, Convolution2DTranspose, Convolution3DTranspose = (Conv1DTranspose, Conv2DTranspose,
                                                                          Conv3DTranspose)

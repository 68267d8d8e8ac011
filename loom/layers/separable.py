"""Depthwise and depthwise-separable convolutions: ``DepthwiseConv1D``, ``DepthwiseConv2D``,
``SeparableConv1D``, ``SeparableConv2D``, with Keras 3's arguments and weight shapes.

A depthwise convolution filters every input channel on its own with ``depth_multiplier`` kernels (a grouped
convolution with ``groups = in_channels``); a separable convolution follows it with a pointwise (1x1)
convolution that mixes the channels. Stored layouts are torch's: depthwise ``(in * dm, 1, *k)``, pointwise
``(filters, in * dm, 1...)``; Keras's are depthwise ``(*k, in, dm)`` and pointwise ``(1..., in * dm,
filters)``. On channels_last inputs the pointwise step is a single matrix product over the channel axis.

Example:
    >>> import loom
    >>> x = loom.Input((32, 32, 16))
    >>> loom.layers.SeparableConv2D(64, 3, padding="same")(x).shape
    (None, 32, 32, 64)
    >>> loom.layers.DepthwiseConv2D(3, depth_multiplier=2)(x).shape
    (None, 30, 30, 32)
"""

from __future__ import annotations

from typing import Any

import torch

from loom.errors import ConfigError
from loom.layers.conv_base import BaseConv, is_int
from loom.layers.layer import Layer
from loom.layers.layer_args import parse_args, serialize_args


class BaseDepthwiseConv(BaseConv):
    """Base of the depthwise convolutions.

    Args:
        kernel_size: an int or ``rank`` ints.
        strides: an int or ``rank`` ints (default 1).
        padding: ``'valid'`` (default) or ``'same'``.
        depth_multiplier: output channels per input channel (default 1).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        dilation_rate: default 1.
        activation: default ``None``. use_bias: default ``True``.
        depthwise_initializer: default ``'glorot_uniform'``. bias_initializer: default ``'zeros'``.
        depthwise_regularizer, bias_regularizer, activity_regularizer: default ``None``.
        depthwise_constraint, bias_constraint: projections applied after each optimizer step (default ``None``).
    """

    allows_causal = False

    def __init__(self, kernel_size: Any, strides: Any = 1, padding: str = "valid", depth_multiplier: int = 1,
                 data_format: str | None = None, dilation_rate: Any = 1, activation: Any = None,
                 use_bias: bool = True, depthwise_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", depthwise_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, depthwise_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs):
        Layer.__init__(self, **kwargs)
        self.depth_multiplier = _positive(depth_multiplier, "depth_multiplier", self)
        self._set_window_args(kernel_size, strides, padding, data_format, dilation_rate)
        self._set_common_args(activation, use_bias, bias_initializer, bias_regularizer, activity_regularizer,
                              bias_constraint)
        parse_args(self, depthwise_initializer=depthwise_initializer, depthwise_regularizer=depthwise_regularizer,
                   depthwise_constraint=depthwise_constraint)

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self._add_kernel("kernel", self.kernel_size + (channels, self.depth_multiplier), self.depthwise_initializer,
                         self.depthwise_regularizer, self.depthwise_constraint)
        self._add_bias(channels * self.depth_multiplier)

    def weight_from_keras(self, name, value):
        return _depthwise_from_keras(self, value) if name == "kernel" else value

    def weight_to_keras(self, name, value):
        return _depthwise_to_keras(self, value) if name == "kernel" else value

    def call(self, inputs):
        self._check_channels(inputs)
        sp = self._spatial
        return self._activated_convolution(sp.to_first(inputs), sp.lift_weight(self.kernel), self.bias,
                                           self._in_channels)

    def get_config(self):
        return {**Layer.get_config(self), "depth_multiplier": self.depth_multiplier, **self._window_config(),
                **self._common_config(),
                **serialize_args(self, "depthwise_initializer", "depthwise_regularizer", "depthwise_constraint")}


class DepthwiseConv1D(BaseDepthwiseConv):
    """Depthwise 1-D convolution: each input channel convolved with its own kernels.

    Each of the ``channels`` inputs is convolved with ``depth_multiplier`` kernels of its own, giving
    ``channels * depth_multiplier`` outputs (a grouped convolution with one group per channel).
    ``get_weights()`` shows the kernel as Keras's ``(kernel_size, channels, depth_multiplier)``.

    Args:
        kernel_size: the window size: an int or a tuple of 1 int.
        strides: the step of the window: an int or a tuple of 1 int (default 1).
        padding: ``'valid'`` (default) or ``'same'``.
        depth_multiplier: output channels per input channel (default 1).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).
        dilation_rate: spacing between kernel taps (an int or a tuple of 1 int; default 1).
        activation: applied to the output (default ``None``: linear).
        use_bias: add a learned bias (default ``True``).
        depthwise_initializer: initializer of the depthwise kernel (default ``'glorot_uniform'``).
        bias_initializer: initializer of the bias (default ``'zeros'``).
        depthwise_regularizer: penalty on the depthwise kernel (default ``None``).
        bias_regularizer: penalty on the bias (default ``None``).
        activity_regularizer: penalty on the output (default ``None``).
        depthwise_constraint: projection of the depthwise kernel after each update (default ``None``).
        bias_constraint: projection of the bias after each update (default ``None``).
        **kwargs: base layer arguments (``name``, ``dtype``, ``trainable``...).

    Input shape:
        ``(batch, steps, channels)`` (channels last) or ``(batch, channels, steps)``.

    Output shape:
        ``(batch, new_steps, channels * depth_multiplier)`` (channels last).

    Returns:
        A tensor of the output shape.

    Raises:
        ConfigError: a bad ``kernel_size``, ``strides``, ``depth_multiplier``, ``padding`` or ``data_format``.
        ShapeError: an input of the wrong rank or channel count.

    Example:
        >>> import torch, loom
        >>> loom.layers.DepthwiseConv1D(3, depth_multiplier=2)(torch.ones(2, 10, 4)).shape
        torch.Size([2, 8, 8])
    """

    rank = 1


class DepthwiseConv2D(BaseDepthwiseConv):
    """Depthwise 2-D convolution: each input channel convolved with its own kernels.

    Each of the ``channels`` inputs is convolved with ``depth_multiplier`` kernels of its own, giving
    ``channels * depth_multiplier`` outputs (a grouped convolution with one group per channel).
    ``get_weights()`` shows the kernel as Keras's ``(kh, kw, channels, depth_multiplier)``.

    Args:
        kernel_size: the window size: an int or 2 ints.
        strides: the step of the window: an int or 2 ints (default 1).
        padding: ``'valid'`` (default) or ``'same'``.
        depth_multiplier: output channels per input channel (default 1).
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).
        dilation_rate: spacing between kernel taps (an int or 2 ints; default 1).
        activation: applied to the output (default ``None``: linear).
        use_bias: add a learned bias (default ``True``).
        depthwise_initializer: initializer of the depthwise kernel (default ``'glorot_uniform'``).
        bias_initializer: initializer of the bias (default ``'zeros'``).
        depthwise_regularizer: penalty on the depthwise kernel (default ``None``).
        bias_regularizer: penalty on the bias (default ``None``).
        activity_regularizer: penalty on the output (default ``None``).
        depthwise_constraint: projection of the depthwise kernel after each update (default ``None``).
        bias_constraint: projection of the bias after each update (default ``None``).
        **kwargs: base layer arguments (``name``, ``dtype``, ``trainable``...).

    Input shape:
        ``(batch, height, width, channels)`` (channels last) or ``(batch, channels, height, width)``.

    Output shape:
        ``(batch, new_height, new_width, channels * depth_multiplier)`` (channels last).

    Returns:
        A tensor of the output shape.

    Raises:
        ConfigError: a bad ``kernel_size``, ``strides``, ``depth_multiplier``, ``padding`` or ``data_format``.
        ShapeError: an input of the wrong rank or channel count.

    Example:
        >>> import torch, loom
        >>> loom.layers.DepthwiseConv2D(3, padding="same")(torch.ones(2, 8, 8, 4)).shape
        torch.Size([2, 8, 8, 4])
    """

    rank = 2


class BaseSeparableConv(BaseConv):
    """Base of the separable convolutions: depthwise, then pointwise (1x1) to ``filters`` channels.

    Args:
        filters: number of output channels.
        kernel_size: an int or ``rank`` ints.
        strides: default 1. padding: ``'valid'`` (default) or ``'same'``.
        data_format: ``'channels_last'`` (default) or ``'channels_first'``. dilation_rate: default 1.
        depth_multiplier: depthwise output channels per input channel (default 1).
        activation: default ``None``. use_bias: default ``True``.
        depthwise_initializer, pointwise_initializer: default ``'glorot_uniform'``.
        bias_initializer: default ``'zeros'``.
        depthwise_regularizer, pointwise_regularizer, bias_regularizer, activity_regularizer: default ``None``.
        depthwise_constraint, pointwise_constraint, bias_constraint: projections applied after each optimizer
            step (default ``None``).
    """

    allows_causal = False

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, depth_multiplier: int = 1,
                 activation: Any = None, use_bias: bool = True, depthwise_initializer: Any = "glorot_uniform",
                 pointwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 depthwise_regularizer: Any = None, pointwise_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, depthwise_constraint: Any = None, pointwise_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs):
        Layer.__init__(self, **kwargs)
        self.filters = _positive(filters, "filters", self)
        self.depth_multiplier = _positive(depth_multiplier, "depth_multiplier", self)
        self._set_window_args(kernel_size, strides, padding, data_format, dilation_rate)
        self._set_common_args(activation, use_bias, bias_initializer, bias_regularizer, activity_regularizer,
                              bias_constraint)
        parse_args(self, depthwise_initializer=depthwise_initializer, pointwise_initializer=pointwise_initializer,
                   depthwise_regularizer=depthwise_regularizer, pointwise_regularizer=pointwise_regularizer,
                   depthwise_constraint=depthwise_constraint, pointwise_constraint=pointwise_constraint)

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        middle = channels * self.depth_multiplier
        self._add_kernel("depthwise_kernel", self.kernel_size + (channels, self.depth_multiplier),
                         self.depthwise_initializer, self.depthwise_regularizer, self.depthwise_constraint)
        self._add_kernel("pointwise_kernel", (1,) * self.rank + (middle, self.filters), self.pointwise_initializer,
                         self.pointwise_regularizer, self.pointwise_constraint)
        self._add_bias(self.filters)

    def weight_from_keras(self, name, value):
        if name == "depthwise_kernel":
            return _depthwise_from_keras(self, value)
        return super().weight_from_keras(name, value)

    def weight_to_keras(self, name, value):
        if name == "depthwise_kernel":
            return _depthwise_to_keras(self, value)
        return super().weight_to_keras(name, value)

    def call(self, inputs):
        self._check_channels(inputs)
        sp = self._spatial
        middle = self._convolve(sp.to_first(inputs), self.depthwise_kernel, None, self._in_channels)
        # A 1x1 convolution on the channels-last memory (oneDNN fuses the bias; F.linear would copy it out).
        return self._activated_convolution(middle, sp.lift_weight(self.pointwise_kernel), self.bias, 1,
                                           pointwise=True)

    def get_config(self):
        return {**Layer.get_config(self), "depth_multiplier": self.depth_multiplier, "filters": self.filters,
                **self._window_config(), **self._common_config(),
                **serialize_args(self, "depthwise_initializer", "pointwise_initializer", "depthwise_regularizer",
                                 "pointwise_regularizer", "depthwise_constraint", "pointwise_constraint")}


class SeparableConv1D(BaseSeparableConv):
    """Depthwise-separable 1-D convolution: a depthwise convolution, then a pointwise (1x1) one.

    The depthwise step convolves each channel on its own (``depth_multiplier`` kernels per channel); the
    pointwise step mixes the channels into ``filters`` outputs. Far fewer weights than a full convolution
    (Chollet, 2017, Xception). ``get_weights()`` shows ``depthwise_kernel (kernel_size, channels,
    depth_multiplier)``, ``pointwise_kernel (1, channels * depth_multiplier, filters)``
    and ``bias``, as Keras.

    Args:
        filters: the number of output channels (a positive int).
        kernel_size: the depthwise window size: an int or a tuple of 1 int.
        strides: the step of the window: an int or a tuple of 1 int (default 1).
        padding: ``'valid'`` (default) or ``'same'``.
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).
        dilation_rate: spacing between kernel taps (an int or a tuple of 1 int; default 1).
        depth_multiplier: depthwise outputs per input channel (default 1).
        activation: applied to the output (default ``None``: linear).
        use_bias: add a learned bias (default ``True``).
        depthwise_initializer: default ``'glorot_uniform'``.
        pointwise_initializer: default ``'glorot_uniform'``.
        bias_initializer: default ``'zeros'``.
        depthwise_regularizer: penalty on the depthwise kernel (default ``None``).
        pointwise_regularizer: penalty on the pointwise kernel (default ``None``).
        bias_regularizer: penalty on the bias (default ``None``).
        activity_regularizer: penalty on the output (default ``None``).
        depthwise_constraint: projection of the depthwise kernel after each update (default ``None``).
        pointwise_constraint: projection of the pointwise kernel after each update (default ``None``).
        bias_constraint: projection of the bias after each update (default ``None``).
        **kwargs: base layer arguments (``name``, ``dtype``, ``trainable``...).

    Input shape:
        ``(batch, steps, channels)`` (channels last) or ``(batch, channels, steps)``.

    Output shape:
        ``(batch, new_steps, filters)`` (channels last).

    Returns:
        A tensor of the output shape.

    Raises:
        ConfigError: a bad ``filters``, ``kernel_size``, ``strides``, ``depth_multiplier``, ``padding`` or
            ``data_format``.
        ShapeError: an input of the wrong rank or channel count.

    Example:
        >>> import torch, loom
        >>> loom.layers.SeparableConv1D(8, 3, padding="same")(torch.ones(2, 10, 4)).shape
        torch.Size([2, 10, 8])
    """

    rank = 1


class SeparableConv2D(BaseSeparableConv):
    """Depthwise-separable 2-D convolution: a depthwise convolution, then a pointwise (1x1) one.

    The depthwise step convolves each channel on its own (``depth_multiplier`` kernels per channel); the
    pointwise step mixes the channels into ``filters`` outputs. Far fewer weights than a full convolution
    (Chollet, 2017, Xception). ``get_weights()`` shows ``depthwise_kernel (kh, kw, channels,
    depth_multiplier)``, ``pointwise_kernel (1, 1, channels * depth_multiplier, filters)``
    and ``bias``, as Keras.

    Args:
        filters: the number of output channels (a positive int).
        kernel_size: the depthwise window size: an int or 2 ints.
        strides: the step of the window: an int or 2 ints (default 1).
        padding: ``'valid'`` (default) or ``'same'``.
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``).
        dilation_rate: spacing between kernel taps (an int or 2 ints; default 1).
        depth_multiplier: depthwise outputs per input channel (default 1).
        activation: applied to the output (default ``None``: linear).
        use_bias: add a learned bias (default ``True``).
        depthwise_initializer: default ``'glorot_uniform'``.
        pointwise_initializer: default ``'glorot_uniform'``.
        bias_initializer: default ``'zeros'``.
        depthwise_regularizer: penalty on the depthwise kernel (default ``None``).
        pointwise_regularizer: penalty on the pointwise kernel (default ``None``).
        bias_regularizer: penalty on the bias (default ``None``).
        activity_regularizer: penalty on the output (default ``None``).
        depthwise_constraint: projection of the depthwise kernel after each update (default ``None``).
        pointwise_constraint: projection of the pointwise kernel after each update (default ``None``).
        bias_constraint: projection of the bias after each update (default ``None``).
        **kwargs: base layer arguments (``name``, ``dtype``, ``trainable``...).

    Input shape:
        ``(batch, height, width, channels)`` (channels last) or ``(batch, channels, height, width)``.

    Output shape:
        ``(batch, new_height, new_width, filters)`` (channels last).

    Returns:
        A tensor of the output shape.

    Raises:
        ConfigError: a bad ``filters``, ``kernel_size``, ``strides``, ``depth_multiplier``, ``padding`` or
            ``data_format``.
        ShapeError: an input of the wrong rank or channel count.

    Example:
        >>> import torch, loom
        >>> loom.layers.SeparableConv2D(8, 3, strides=2)(torch.ones(2, 9, 9, 4)).shape
        torch.Size([2, 4, 4, 8])
    """

    rank = 2


SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D


# ------------------------------------------------------------------------------------------------ helpers
def _positive(value: Any, name: str, layer: Layer) -> int:
    """``value`` (``filters``, ``depth_multiplier``) as a positive int, else a ConfigError."""
    if not is_int(value) or value <= 0:
        raise ConfigError(f"{type(layer).__name__} '{layer.name}': `{name}` must be a positive int, got {value!r}.")
    return int(value)


def _depthwise_from_keras(layer: BaseConv, value: torch.Tensor) -> torch.Tensor:
    """Keras ``(*k, in, dm)`` -> torch ``(in * dm, 1, *k)`` (output channel ``c * dm + m``, as Keras)."""
    flat = value.reshape(tuple(value.shape[:layer.rank]) + (1, -1))
    return flat.permute(layer._keras_to_torch_axes())


def _depthwise_to_keras(layer: BaseConv, value: torch.Tensor) -> torch.Tensor:
    flat = value.permute(layer._torch_to_keras_axes())
    channels = value.shape[0] // layer.depth_multiplier
    return flat.reshape(tuple(flat.shape[:layer.rank]) + (channels, layer.depth_multiplier))

"""Shared machinery of the convolution and pooling layers: argument checks, padding and layouts.

Layout. Inputs are channels_last at the API, ``(batch, *spatial, channels)``. ``x.permute(0, 3, 1, 2)`` of a
contiguous NHWC tensor *is* an NCHW tensor in ``torch.channels_last`` memory format (a view, no copy), and
torch's convolution, pooling and interpolation kernels given such a tensor return their result in the same
memory format, so permuting the result back to NHWC is again a contiguous view. Measured on torch 2.13 (CPU):
conv2d/conv3d (grouped, depthwise, strided, dilated), conv_transpose2d, max/avg_pool2d, max_pool3d and
interpolate keep the layout (no copy anywhere); avg_pool3d returns a standard-contiguous result (its
permuted output is then a strided view). torch's 1-D kernels do not keep the layout (conv1d's permuted output
is strided and its input is copied), so **1-D channels_last layers run as 2-D ops with a unit height**: the
path is copy-free end to end and was 1.5-2x faster than ``conv1d`` in a CPU micro-benchmark.

Padding. ``'valid'`` pads nothing. ``'same'`` follows Keras/TensorFlow exactly: along each axis the total
padding is ``max((ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)``, split ``total // 2`` before and the rest
after (the extra element goes at the end). Symmetric padding goes to the op's own ``padding`` argument;
only asymmetric padding costs an ``F.pad`` copy. ``'causal'`` (1-D convolutions) pads ``d * (k - 1)``
before the sequence and nothing after.

Example:
    >>> same_padding(size=5, kernel=2, stride=1, dilation=1)
    (0, 1)
    >>> same_padding(size=7, kernel=3, stride=2, dilation=1)
    (1, 1)
"""

from __future__ import annotations

import numbers
from typing import Any, Sequence

import torch
import torch.nn.functional as F

from loom import _torch_compat, activations, backend, config, constraints, initializers, regularizers
from loom.errors import ConfigError, ShapeError
from loom.layers import onednn_weights
from loom.layers.activity_penalty import ActivityPenalty
from loom.layers.input_spec import InputSpec
from loom.layers.layer import Layer

DATA_FORMATS = ("channels_last", "channels_first")
_TO_FIRST = {2: (0, 3, 1, 2), 3: (0, 4, 1, 2, 3)}
_TO_LAST = {2: (0, 2, 3, 1), 3: (0, 2, 3, 4, 1)}
CONV_OPS = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def onednn_conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, strides, padding, dilation,
                  groups: int, post_op: str = "relu") -> torch.Tensor | None:
    """``relu(conv2d(...))`` (``post_op="relu"``) or ``conv2d(...)`` (``"none"``) in one oneDNN call for float32
    CPU inference, with the weight prepacked inside :func:`loom.layers.onednn_weights.frozen`; ``None`` where
    that does not apply (gradients enabled, another device or dtype, no oneDNN, tracing), or for ``"none"``
    without a packed weight (``F.conv2d`` is then the same call)."""
    if (not backend.inference_shortcuts() or x.device.type != "cpu" or x.dtype != torch.float32
            or _torch_compat.is_compiling()):  # inductor does this fusion itself
        return None
    fused = _torch_compat.conv_pointwise()  # oneDNN's convolution with a fused element-wise post-op
    if fused is None:
        return None
    prepacked = onednn_weights.packed(weight, x, strides, padding, dilation, groups)
    if prepacked is None and post_op == "none":
        return None
    return fused(x, weight if prepacked is None else prepacked, bias, list(padding), list(strides), list(dilation),
                 groups, post_op, [], "")


# ----------------------------------------------------------------------------------------- argument checks
def int_tuple(value: Any, n: int, arg: str, owner: str, allow_zero: bool = False) -> tuple[int, ...]:
    """``value`` (an int or ``n`` ints) as a tuple of ``n`` ints, as Keras's ``standardize_tuple``.

    Raises:
        ConfigError: wrong length, a non-integer, or a value below 1 (below 0 with ``allow_zero``).
    """
    values = (value,) * n if is_int(value) else value
    try:
        values = tuple(values)
    except TypeError:
        values = None
    if values is None or len(values) != n or not all(is_int(v) for v in values):
        raise ConfigError(f"{owner}: `{arg}` must be an int or a tuple of {n} ints, got {value!r}.")
    values = tuple(int(v) for v in values)
    low = 0 if allow_zero else 1
    if any(v < low for v in values):
        raise ConfigError(f"{owner}: every value of `{arg}` must be >= {low}, got {value!r}.")
    return values


def is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def padding_arg(value: Any, owner: str, allowed: Sequence[str] = ("valid", "same")) -> str:
    """The lower-cased padding mode, one of ``allowed``."""
    mode = value.lower() if isinstance(value, str) else value
    if mode not in allowed:
        raise ConfigError(f"{owner}: `padding` must be one of {list(allowed)}, got {value!r}.")
    return mode


def data_format_arg(value: Any, owner: str) -> str:
    """``None`` -> ``loom.config.image_data_format()`` (``'channels_last'`` unless set); else validated."""
    fmt = config.image_data_format() if value is None else str(value).lower()
    if fmt not in DATA_FORMATS:
        raise ConfigError(f"{owner}: `data_format` must be one of {list(DATA_FORMATS)}, got {value!r}.")
    return fmt


def check_rank(layer: Layer, inputs: torch.Tensor) -> None:
    """Raise ShapeError unless eager ``inputs`` are ``(batch, *layer.rank spatial axes, channels)``."""
    if inputs.dim() != layer.rank + 2:
        raise ShapeError(f"Layer '{layer.name}' ({type(layer).__name__}) expects inputs of rank "
                         f"{layer.rank + 2}, but got input shape {tuple(inputs.shape)}.")


# ------------------------------------------------------------------------------------------------ padding
def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """Keras/TensorFlow ``'same'`` padding ``(before, after)`` along one axis of length ``size``."""
    effective = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def flat_pad(pads: Sequence[tuple[int, int]]) -> tuple[int, ...]:
    """Per-axis ``(before, after)`` pads (first spatial axis first) as ``F.pad``'s flat, last-axis-first tuple."""
    out: list[int] = []
    for before, after in reversed(pads):
        out.extend((before, after))
    return tuple(out)


class SpatialOp:
    """The torch-side plan of one N-d windowed op (convolution or pooling).

    Holds the window, strides and dilation *as torch sees them* (1-D channels_last ops are lifted to 2-D
    with a unit height), converts layouts, and resolves the padding mode to the op's ``padding`` argument
    plus an optional ``F.pad`` tuple (cached per input size when it depends on the size).

    Args:
        rank: number of spatial dimensions (1, 2 or 3).
        window: kernel or pool size, ``rank`` ints.
        strides: ``rank`` ints.
        dilation: ``rank`` ints.
        padding: ``'valid'``, ``'same'`` or ``'causal'``.
        data_format: ``'channels_last'`` or ``'channels_first'``.
    """

    def __init__(self, rank: int, window: tuple, strides: tuple, dilation: tuple, padding: str, data_format: str):
        self.rank = rank
        self.channels_last = data_format == "channels_last"
        self.lifted = rank == 1 and self.channels_last
        self.op_rank = 2 if self.lifted else rank
        lift = (lambda t, fill: (fill,) + tuple(t)) if self.lifted else (lambda t, fill: tuple(t))
        self.window = lift(window, 1)
        self.strides = lift(strides, 1)
        self.dilation = lift(dilation, 1)
        self.padding = padding
        self._size_dependent = padding == "same" and any(s > 1 for s in strides)
        self._cache: dict = {}
        if not self._size_dependent:
            self._static = self._resolve([0] * rank)

    def to_first(self, x: torch.Tensor) -> torch.Tensor:
        """The input as the channels-first tensor the torch op takes (a view)."""
        if not self.channels_last:
            return x
        if self.lifted:
            return x.unsqueeze(1).permute(0, 3, 1, 2)
        return x.permute(_TO_FIRST[self.rank])

    def to_last(self, y: torch.Tensor) -> torch.Tensor:
        """The op's output back in the layer's data format (a view)."""
        if not self.channels_last:
            return y
        if self.lifted:
            return y.permute(0, 2, 3, 1).squeeze(1)
        return y.permute(_TO_LAST[self.rank])

    def lift_weight(self, w: torch.Tensor) -> torch.Tensor:
        """A stored ``(a, b, k)`` 1-D kernel as the ``(a, b, 1, k)`` 2-D kernel of a lifted op (a view)."""
        return w.unsqueeze(2) if self.lifted else w

    def padding_for(self, x: torch.Tensor) -> tuple[tuple[int, ...], tuple[int, ...] | None]:
        """``(op padding, F.pad tuple or None)`` for the channels-first input ``x``."""
        if not self._size_dependent:
            return self._static
        sizes = tuple(x.shape[2 + self.op_rank - self.rank:])
        plan = self._cache.get(sizes)
        if plan is None:
            if len(self._cache) >= 256:  # many distinct sequence lengths: keep the cache bounded
                self._cache.clear()
            plan = self._cache[sizes] = self._resolve(sizes)
        return plan

    def _resolve(self, sizes: Sequence[int]):
        k, s, d = (t[self.op_rank - self.rank:] for t in (self.window, self.strides, self.dilation))
        if self.padding == "valid":
            pads = [(0, 0)] * self.rank
        elif self.padding == "causal":
            pads = [(d[0] * (k[0] - 1), 0)]
        else:
            pads = [same_padding(n, ki, si, di) for n, ki, si, di in zip(sizes, k, s, d)]
        lead = [(0, 0)] * (self.op_rank - self.rank)
        pads = lead + pads
        if all(a == b for a, b in pads):
            return tuple(a for a, _ in pads), None
        return (0,) * self.op_rank, flat_pad(pads)


# -------------------------------------------------------------------------------------- the conv base
class BaseConv(ActivityPenalty, Layer):
    """Base of the N-d convolutions: arguments, weights in torch layout with Keras's view, the forward pass.

    The kernel is stored as torch wants it, ``(filters, in_channels // groups, *kernel_size)``; get_weights /
    set_weights and the initializer see Keras's ``(*kernel_size, in_channels // groups, filters)``.
    Subclasses set ``rank`` and may override the kernel permutation (transposed, depthwise, separable).

    Args:
        rank: number of spatial dimensions.
        filters: number of output channels (a positive int).
        kernel_size: an int or ``rank`` ints.
        strides: an int or ``rank`` ints (default 1).
        padding: ``'valid'`` (default), ``'same'``, or ``'causal'`` for ``rank == 1``.
        data_format: ``'channels_last'`` (default, also for ``None``) or ``'channels_first'``.
        dilation_rate: an int or ``rank`` ints (default 1); cannot be > 1 together with strides > 1.
        groups: split the channels into this many groups (default 1).
        activation: default ``None`` (linear).
        use_bias: default ``True``.
        kernel_initializer: default ``'glorot_uniform'``. bias_initializer: default ``'zeros'``.
        kernel_regularizer, bias_regularizer: default ``None``.
        activity_regularizer: default ``None`` (penalty on the outputs of the last call, in ``losses``).
        kernel_constraint, bias_constraint: projections applied after each optimizer step (default ``None``;
            their axes are Keras's, e.g. ``MaxNorm(axis=[0, 1, 2])`` for a Conv2D kernel).
    """

    activation = activations.ActivationAttribute()  # assigning None takes the activation off, as Keras

    _fresh_output = True

    rank = 2
    allows_causal = True

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, groups: int = 1, activation: Any = None,
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, **kwargs):
        super().__init__(**kwargs)
        owner = f"{type(self).__name__} '{self.name}'"
        if not is_int(filters) or filters <= 0:
            raise ConfigError(f"{owner}: `filters` must be a positive int, got {filters!r}.")
        if not is_int(groups) or groups <= 0 or filters % groups:
            raise ConfigError(f"{owner}: `groups` must be a positive int dividing filters={filters}, got {groups!r}.")
        self.filters, self.groups = int(filters), int(groups)
        self._set_window_args(kernel_size, strides, padding, data_format, dilation_rate,
                              allow_causal=self.rank == 1 and self.allows_causal)
        self._set_common_args(activation, use_bias, bias_initializer, bias_regularizer, activity_regularizer,
                              bias_constraint)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def _set_common_args(self, activation, use_bias, bias_initializer, bias_regularizer, activity_regularizer,
                         bias_constraint) -> None:
        """The arguments of every convolution besides its kernels' (those ``_common_config`` serializes)."""
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.bias_constraint = constraints.get(bias_constraint)

    def _set_window_args(self, kernel_size, strides, padding, data_format, dilation_rate, allow_causal=False):
        owner = f"{type(self).__name__} '{self.name}'"
        self.kernel_size = int_tuple(kernel_size, self.rank, "kernel_size", owner)
        self.strides = int_tuple(strides, self.rank, "strides", owner)
        self.dilation_rate = int_tuple(dilation_rate, self.rank, "dilation_rate", owner)
        allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
        self.padding = padding_arg(padding, owner, allowed)
        self.data_format = data_format_arg(data_format, owner)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ConfigError(f"{owner}: strides > 1 cannot be combined with dilation_rate > 1 (got "
                              f"strides={self.strides}, dilation_rate={self.dilation_rate}).")
        self._channel_axis = -1 if self.data_format == "channels_last" else 1
        self._spatial = SpatialOp(self.rank, self.kernel_size, self.strides, self.dilation_rate, self.padding,
                                  self.data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    # ------------------------------------------------------------------------------------ building
    def _input_channels(self, input_shape) -> int:
        channels = input_shape[self._channel_axis]
        if channels is None:
            raise ConfigError(f"{type(self).__name__} '{self.name}' needs a known channel dimension "
                              f"({self.data_format}), got input shape {tuple(input_shape)}.")
        self._in_channels = int(channels)
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis: self._in_channels})
        return self._in_channels

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        if channels % self.groups:
            raise ConfigError(f"{type(self).__name__} '{self.name}': the {channels} input channels are not "
                              f"divisible by groups={self.groups} (input shape {tuple(input_shape)}).")
        shape = self.kernel_size + (channels // self.groups, self.filters)
        self._add_kernel("kernel", shape, self.kernel_initializer, self.kernel_regularizer, self.kernel_constraint)
        self._add_bias(self.filters)

    def _add_kernel(self, name: str, shape: tuple, initializer, regularizer, constraint) -> None:
        self.add_weight(name, shape, initializer, regularizer, constraint=constraint)

    def _add_bias(self, size: int) -> None:
        if self.use_bias:
            self._add_kernel("bias", (size,), self.bias_initializer, self.bias_regularizer, self.bias_constraint)
        else:
            self.register_parameter("bias", None)

    # ------------------------------------------------------------------------------------ layouts
    def _keras_to_torch_axes(self) -> tuple[int, ...]:
        """Permutation from Keras's ``(*k, a, b)`` kernel to torch's ``(b, a, *k)``."""
        r = self.rank
        return (r + 1, r) + tuple(range(r))

    def _torch_to_keras_axes(self) -> tuple[int, ...]:
        r = self.rank
        return tuple(range(2, r + 2)) + (1, 0)

    def weight_from_keras(self, name: str, value: torch.Tensor) -> torch.Tensor:
        return value.permute(self._keras_to_torch_axes()) if value.dim() == self.rank + 2 else value

    def weight_to_keras(self, name: str, value: torch.Tensor) -> torch.Tensor:
        return value.permute(self._torch_to_keras_axes()) if value.dim() == self.rank + 2 else value

    # ------------------------------------------------------------------------------------ calling
    def _check_channels(self, inputs: torch.Tensor) -> None:
        if torch.jit.is_tracing():  # traced sizes are tensors; the trace checks nothing at run time anyway
            return
        if inputs.dim() != self.rank + 2 or inputs.shape[self._channel_axis] != self._in_channels:
            raise ShapeError(f"Layer '{self.name}' ({type(self).__name__}) expects inputs of rank {self.rank + 2} "
                             f"with {self._in_channels} channels ({self.data_format}), but got input shape "
                             f"{tuple(inputs.shape)}.")

    def _padded(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, ...]]:
        """Channels-first ``x`` with any explicit (asymmetric) padding applied, and the op's own padding."""
        padding, pre_pad = self._spatial.padding_for(x)
        return (x if pre_pad is None else F.pad(x, pre_pad)), padding

    def _convolve(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                  groups: int) -> torch.Tensor:
        """The windowed convolution of channels-first ``x`` with the stored-layout ``weight``."""
        sp = self._spatial
        x, padding = self._padded(x)
        args = (x, sp.lift_weight(weight), bias, sp.strides, padding, sp.dilation, groups)
        y = onednn_conv2d(*args, post_op="none") if sp.op_rank == 2 else None
        return CONV_OPS[sp.op_rank](*args) if y is None else y

    def _activated_convolution(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, groups: int,
                               activation: Any = None, pointwise: bool = False) -> torch.Tensor:
        """``activation(conv(x))`` channels-last, with its activity penalty, for channels-first ``x`` and a
        torch-layout ``weight``: this layer's window, or a 1x1 unit-stride convolution with ``pointwise``.

        ``activation`` defaults to the layer's. In CPU inference a ReLU runs inside oneDNN's convolution (a
        post-op), which saves a pass over the output; otherwise it overwrites the convolution's own output.
        """
        sp = self._spatial
        activation = self.activation if activation is None else activation
        if pointwise:
            ones = (1,) * sp.op_rank
            args = (x, weight, bias, ones, (0,) * sp.op_rank, ones, groups)
        else:
            x, padding = self._padded(x)
            args = (x, weight, bias, sp.strides, padding, sp.dilation, groups)
        relu = activation is activations.relu
        y = onednn_conv2d(*args, post_op="relu" if relu else "none") if sp.op_rank == 2 else None
        if y is not None:
            return self._activate(y, activations.linear if relu else activation)  # a ReLU is already applied
        return self._activate(CONV_OPS[sp.op_rank](*args), activation)

    def call(self, inputs):
        self._check_channels(inputs)
        sp = self._spatial
        return self._activated_convolution(sp.to_first(inputs), sp.lift_weight(self.kernel), self.bias, self.groups)

    @property
    def _folds_batchnorm(self) -> bool:
        """A plain convolution (no activation, channels-last) that a following BatchNormalization can fold into."""
        return (type(self).call is BaseConv.call and self.activation is activations.linear
                and self.data_format == "channels_last" and self.activity_regularizer is None)

    def _call_folded(self, inputs: torch.Tensor, bn: Any, relu: bool) -> torch.Tensor | None:
        """Inference of this convolution followed by ``bn`` (and a ReLU) as one convolution: the weights scaled
        by the normalization's per-channel factor, its shift as the bias. ``None`` where that does not apply."""
        affine = bn._inference_affine(inputs)
        if not self._folds_batchnorm or affine is None or bn._channel_axis != inputs.dim() - 1:
            return None
        self._check_channels(inputs)
        sp = self._spatial
        weight, bias = onednn_weights.memo((self, bn), lambda: self._folded_weights(*affine))
        return self._activated_convolution(sp.to_first(inputs), weight, bias, self.groups,
                                           activations.relu if relu else activations.linear)

    def _folded_weights(self, scale: torch.Tensor, shift: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The (op-rank) kernel and bias of this convolution with a normalization's ``x * scale + shift`` folded."""
        sp = self._spatial
        weight = sp.lift_weight(self.kernel) * scale.reshape((-1,) + (1,) * (sp.op_rank + 1))
        return weight, (shift if self.bias is None else torch.addcmul(shift, self.bias, scale))

    def _activate(self, out: torch.Tensor, activation: Any = None) -> torch.Tensor:
        """``activation`` (default: the layer's) of this call's own channels-first output, returned in the
        layer's layout with the activity penalty of this call (as Keras: divided by the batch size).

        The activation overwrites ``out`` unless it is a view: autograd would copy the whole base tensor
        around an in-place op on a view (the channels-last permutation of a convolution's output is one).
        """
        fn = self.activation if activation is None else activation
        out = self._spatial.to_last((fn if out._base is not None else activations.in_place(fn))(out))
        self._penalize_activity(out)
        return out

    # ------------------------------------------------------------------------------------ config
    def _window_config(self) -> dict:
        return {"kernel_size": self.kernel_size, "strides": self.strides, "padding": self.padding,
                "data_format": self.data_format, "dilation_rate": self.dilation_rate}

    def _common_config(self) -> dict:
        return {"activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                "bias_constraint": constraints.serialize(self.bias_constraint)}

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, **self._window_config(), "groups": self.groups,
                **self._common_config(),
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint)}

"""``Dense``: ``activation(inputs @ kernel + bias)`` on the last axis.

Example:
    >>> import loom
    >>> x = loom.Input((16,))
    >>> y = loom.layers.Dense(4, activation="relu")(x)
    >>> y.shape
    (None, 4)
"""

from __future__ import annotations

from typing import Any

import torch

from loom import activations
from loom.errors import ConfigError
from loom.layers.activity_penalty import ActivityPenalty
from loom.layers.input_spec import InputSpec
from loom.layers.layer_args import DENSE_WEIGHT_ARGS, parse_args, positive_int, serialize_args
from loom.layers.layer import Layer
from loom.layers import quantized


class Dense(ActivityPenalty, Layer):
    """A densely connected layer; the kernel is stored in Keras's ``(in, out)`` layout.

    Args:
        units: output size (a positive int).
        activation: activation name or callable (default ``None``: linear).
        use_bias: add a bias vector (default ``True``).
        kernel_initializer: default ``'glorot_uniform'``.
        bias_initializer: default ``'zeros'``.
        kernel_regularizer: default ``None``.
        bias_regularizer: default ``None``.
        activity_regularizer: default ``None``. A penalty on the outputs: after each call,
            ``activity_regularizer(outputs) / batch_size`` is in ``losses`` (as Keras).
        kernel_constraint: projection applied to the kernel after each optimizer step (default ``None``).
        bias_constraint: the same for the bias (default ``None``).
        quantization_config: the ``loom.quantizers.QuantizationConfig`` of a quantized layer (default
            ``None``); ``quantize()`` sets it, and a layer built under a quantized ``dtype`` policy uses it.

    Input shape:
        ``(batch, ..., input_dim)``: any rank of at least 2; the kernel multiplies the last axis.

    Output shape:
        ``(batch, ..., units)``.

    Returns:
        ``activation(inputs @ kernel + bias)``.

    Raises:
        ConfigError: a non-positive ``units``, or an unknown activation / initializer name.

    Example:
        >>> import torch, loom
        >>> layer = loom.layers.Dense(4, activation="relu")
        >>> layer(torch.ones(2, 3)).shape, [w.shape for w in layer.get_weights()]
        (torch.Size([2, 4]), [(3, 4), (4,)])
    """

    activation = activations.ActivationAttribute()  # assigning None takes the activation off, as Keras

    _fresh_output = True

    supports_masking = True  # as Keras 3: an input mask (e.g. from Embedding) passes through to later layers

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, quantization_config: Any = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.units = positive_int(f"Dense '{self.name}'", "units", units)
        self.quantization_config = quantized.config_from(quantization_config)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        parse_args(self, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                   kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                   activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                   bias_constraint=bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape):
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ConfigError(f"Dense '{self.name}' needs a known last dimension, got input shape {input_shape}.")
        scheme = quantized.build_quantized(self, (in_dim, self.units)) if self.quantization_mode else None
        if scheme is None or not scheme.REPLACES_KERNEL:
            self.add_weight("kernel", (in_dim, self.units), self.kernel_initializer, self.kernel_regularizer,
                            constraint=self.kernel_constraint)
        if self.use_bias:
            self.add_weight("bias", (self.units,), self.bias_initializer, self.bias_regularizer,
                            constraint=self.bias_constraint)
        self.input_spec = InputSpec(min_ndim=2, axes={-1: in_dim})

    def call(self, inputs):
        if self._quantized is not None:  # see loom.layers.quantized
            out = self._quantized.call(self, inputs)
        elif self.use_bias:
            if inputs.dim() == 2:
                out = torch.addmm(self.bias, inputs, self.kernel)
            else:
                out = torch.matmul(inputs, self.kernel) + self.bias
        else:
            out = torch.matmul(inputs, self.kernel)
        out = activations.in_place(self.activation)(out)
        self._penalize_activity(out)
        return out

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                **serialize_args(self, *DENSE_WEIGHT_ARGS),
                **quantized.config_item(self.quantization_config)}

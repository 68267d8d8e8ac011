"""The weights that every recurrent layer and cell owns: ``kernel``, ``recurrent_kernel`` and ``bias``.

``SimpleRNN`` / ``LSTM`` / ``GRU``, their cells and ``ConvLSTMCell`` all take Keras's nine ``kernel_*`` /
``recurrent_*`` / ``bias_*`` initializers, regularizers and constraints (named, in Keras's config order, by
:data:`INITIALIZER_ARGS`, :data:`REGULARIZER_ARGS`, :data:`CONSTRAINT_ARGS`); :func:`add_recurrent_weights`
creates the weights with them, and :func:`forget_bias_initializer` gives LSTM's ``unit_forget_bias`` bias.

Example:
    >>> forget_bias_initializer(lambda shape, dtype=None: torch.zeros(shape), 2)((8,)).tolist()
    [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from loom import constraints, initializers

__all__ = ["CONSTRAINT_ARGS", "INITIALIZER_ARGS", "REGULARIZER_ARGS", "WEIGHT_ARGS", "add_recurrent_weights",
           "forget_bias_initializer"]

# The initializers, regularizers and constraints of the kernel, the recurrent kernel and the bias, in the
# order Keras's configs list them.
INITIALIZER_ARGS = ("kernel_initializer", "recurrent_initializer", "bias_initializer")
REGULARIZER_ARGS = ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer")
CONSTRAINT_ARGS = ("kernel_constraint", "recurrent_constraint", "bias_constraint")
WEIGHT_ARGS = INITIALIZER_ARGS + REGULARIZER_ARGS + CONSTRAINT_ARGS


def add_recurrent_weights(layer: Any, kernel_shape: tuple, recurrent_shape: tuple, bias_shape: tuple,
                          bias_initializer: Any) -> None:
    """Create ``kernel``, ``recurrent_kernel`` and (with ``use_bias``) ``bias`` on ``layer``, with the
    layer's initializers, regularizers and constraints (``bias_initializer`` replaces the layer's own)."""
    layer.add_weight("kernel", kernel_shape, layer.kernel_initializer, layer.kernel_regularizer)
    layer.add_weight("recurrent_kernel", recurrent_shape, layer.recurrent_initializer, layer.recurrent_regularizer)
    constraints.register(layer, "kernel", layer.kernel_constraint)
    constraints.register(layer, "recurrent_kernel", layer.recurrent_constraint)
    if layer.use_bias:
        layer.add_weight("bias", bias_shape, bias_initializer, layer.bias_regularizer)
        constraints.register(layer, "bias", layer.bias_constraint)


def forget_bias_initializer(base: Any, units: int) -> Callable:
    """LSTM's ``unit_forget_bias`` bias: ``base`` for the gates ``i, c, o`` and ones for ``f``."""
    def forget_bias_one(shape, dtype=None):
        return torch.cat([base((units,), dtype=dtype), initializers.Ones()((units,), dtype=dtype),
                          base((2 * units,), dtype=dtype)])
    return forget_bias_one

"""The weight arguments, weights and config that every recurrent layer and cell shares.

``SimpleRNN`` / ``LSTM`` / ``GRU``, their cells and ``ConvLSTMCell`` all take Keras's ``activation``,
``recurrent_activation``, ``use_bias`` and the nine ``kernel_*`` / ``recurrent_*`` / ``bias_*`` initializers,
regularizers and constraints, and all own a ``kernel``, a ``recurrent_kernel`` and an optional ``bias``.
:func:`parse_args` reads such arguments, :func:`serialize_args` writes them back into a config,
:func:`add_recurrent_weights` creates the weights, and :func:`forget_bias_initializer` gives LSTM's
``unit_forget_bias`` initializer.

Example:
    >>> import loom
    >>> layer = loom.layers.Layer()
    >>> parse_args(layer, activation="relu", kernel_initializer="ones", bias_regularizer=None)
    >>> serialize_args(layer, "activation", "bias_regularizer")
    {'activation': 'relu', 'bias_regularizer': None}
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from loom import activations, constraints, initializers, regularizers
from loom.errors import ConfigError

__all__ = ["CONSTRAINT_ARGS", "INITIALIZER_ARGS", "REGULARIZER_ARGS", "WEIGHT_ARGS", "add_recurrent_weights", "forget_bias_initializer", "parse_args", "positive_units",
           "serialize_args"]

# The initializers, regularizers and constraints of the kernel, the recurrent kernel and the bias, in the
# order Keras's configs list them.
INITIALIZER_ARGS = ("kernel_initializer", "recurrent_initializer", "bias_initializer")
REGULARIZER_ARGS = ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer")
CONSTRAINT_ARGS = ("kernel_constraint", "recurrent_constraint", "bias_constraint")
WEIGHT_ARGS = INITIALIZER_ARGS + REGULARIZER_ARGS + CONSTRAINT_ARGS

_KINDS = (("activation", activations), ("initializer", initializers), ("regularizer", regularizers),
          ("constraint", constraints))


def _kind(name: str) -> Any:
    """The module that parses and serializes the argument ``name`` (by its suffix), or ``None``."""
    return next((module for suffix, module in _KINDS if name.endswith(suffix)), None)


def parse_args(layer: Any, **args: Any) -> None:
    """Set each argument on ``layer``: ``*activation``, ``*initializer``, ``*regularizer`` and ``*constraint``
    arguments parsed by their module's ``get``, ``use_bias`` as a bool, anything else as given."""
    for name, value in args.items():
        module = _kind(name)
        setattr(layer, name, module.get(value) if module is not None
                else bool(value) if name == "use_bias" else value)


def serialize_args(layer: Any, *names: str) -> dict:
    """The config entries of ``names``, in order: activations, initializers, regularizers and constraints
    serialized by their module, anything else as ``layer`` holds it."""
    config = {}
    for name in names:
        module, value = _kind(name), getattr(layer, name)
        config[name] = module.serialize(value) if module is not None else value
    return config


def positive_units(owner: str, name: str, value: Any) -> int:
    """``value`` if it is a positive int (not a bool), else a ConfigError naming ``owner`` and ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{owner}: {name} must be a positive int, got {value!r}.")
    return value


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

"""Reading, checking and writing back the constructor arguments many layers share.

Layers take Keras's activations, initializers, regularizers and constraints as names, configs or objects:
:func:`parse_args` sets them on the layer parsed (by the argument's name: ``*activation``, ``*initializer``,
``*regularizer``, ``*constraint``), and :func:`serialize_args` writes them back into a config.
:data:`DENSE_WEIGHT_ARGS` names those of a kernel and a bias (``Dense``, ``EinsumDense``, the attention
layers), in Keras's config order. :func:`positive_int` checks a size argument; :func:`positive_int_arg` and
:func:`choice_arg` check one of ``layer``'s arguments, named in backticks in their messages.

Example:
    >>> import loom
    >>> layer = loom.layers.Layer()
    >>> parse_args(layer, activation="relu", kernel_initializer="ones", bias_regularizer=None)
    >>> serialize_args(layer, "activation", "bias_regularizer")
    {'activation': 'relu', 'bias_regularizer': None}
"""

from __future__ import annotations

from typing import Any

from loom import activations, constraints, initializers, regularizers
from loom.errors import ConfigError

__all__ = ["DENSE_WEIGHT_ARGS", "choice_arg", "parse_args", "positive_int", "positive_int_arg", "serialize_args"]

DENSE_WEIGHT_ARGS = ("kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
                     "activity_regularizer", "kernel_constraint", "bias_constraint")

_KINDS = (("activation", activations), ("initializer", initializers), ("regularizer", regularizers),
          ("constraint", constraints))


def _kind(name: str) -> Any:
    """The module that parses and serializes the argument ``name`` (by its suffix), or ``None``."""
    return next((module for suffix, module in _KINDS if name.endswith(suffix)), None)


def parse_args(layer: Any, **args: Any) -> None:
    """Set each ``*activation``, ``*initializer``, ``*regularizer`` or ``*constraint`` argument on ``layer``,
    parsed by its module's ``get`` (an unknown name is refused as a ConfigError by that module)."""
    for name, value in args.items():
        module = _kind(name)
        if module is None:
            raise TypeError(f"parse_args: {name!r} is not an activation, initializer, regularizer or constraint.")
        setattr(layer, name, module.get(value))


def serialize_args(layer: Any, *names: str) -> dict:
    """The config entries of ``names``, in order: activations, initializers, regularizers and constraints
    serialized by their module, anything else as ``layer`` holds it."""
    config = {}
    for name in names:
        module, value = _kind(name), getattr(layer, name)
        config[name] = module.serialize(value) if module is not None else value
    return config


def positive_int(owner: str, name: str, value: Any, allow_none: bool = False) -> Any:
    """``value`` if it is a positive int (not a bool), or ``None`` with ``allow_none``; else a ConfigError
    ``"{owner}: {name} must be a positive int, got {value!r}."``."""
    if value is None and allow_none:
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{owner}: {name} must be a positive int, got {value!r}.")
    return value


def positive_int_arg(layer: Any, name: str, value: Any) -> int:
    """``layer``'s argument ``name`` if it is a positive int (not a bool), else a ConfigError
    ``"{Class} '{layer.name}': `{name}` must be a positive int, got {value!r}."``."""
    return positive_int(f"{type(layer).__name__} '{layer.name}'", f"`{name}`", value)


def choice_arg(layer: Any, name: str, value: Any, options: tuple) -> Any:
    """``layer``'s argument ``name`` if it is one of ``options``, else a ConfigError naming them."""
    if value not in options:
        raise ConfigError(f"{type(layer).__name__} '{layer.name}': `{name}` must be one of {options}, got {value!r}.")
    return value

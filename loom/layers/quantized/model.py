"""``Model.quantize``: quantize every layer of a model that has a quantized form, as Keras 3's.

Example:
    >>> import loom
    >>> model = loom.Sequential([loom.Input((4,)), loom.layers.Dense(3, name="a"), loom.layers.Dense(2, name="b")])
    >>> quantize_model(model, "int8", filters="a")
    >>> [layer.quantization_mode for layer in model.layers]
    ['int8', None]
"""

from __future__ import annotations

import re
import warnings
from typing import Any, Callable

from loom.errors import ConfigError, NotSupportedError


def should_quantize(layer: Any, filters: Any) -> bool:
    """Keras's ``should_quantize_layer``: ``filters`` is a regex (or a list of them) searched in the layer's
    name, or a callable taking the layer; ``None`` quantizes every layer."""
    if filters is None:
        return True
    if isinstance(filters, str):
        return bool(re.search(filters, layer.name))
    if isinstance(filters, (list, tuple)):
        return any(re.search(pattern, layer.name) for pattern in filters)
    return bool(filters(layer))


def _leaf_layers(model: Any) -> list:
    """The layers of ``model`` without sublayers, in module order (each once)."""
    from loom.layers.layer import Layer
    leaves = []
    for module in model.modules():
        if isinstance(module, Layer) and module is not model and not any(
                isinstance(m, Layer) for m in module.modules() if m is not module):
            leaves.append(module)
    return leaves


def quantize_model(model: Any, mode: str | None = None, config: Any = None,
                   filters: str | list | Callable | None = None, **kwargs: Any) -> None:
    """Quantize the layers of ``model`` (see :meth:`loom.Model.quantize`).

    Raises:
        ConfigError: unknown keyword arguments, a ``filters`` of another type, or invalid ``mode`` / ``config``;
            GPTQ / AWQ raise NotSupportedError.
    """
    from loom.layers.quantized.core import resolve_config, unsupported
    type_check = kwargs.pop("type_check", True)
    if kwargs:
        raise ConfigError(f"Unrecognized keyword arguments passed to {type(model).__name__}: {kwargs}")
    if filters is not None and not isinstance(filters, (str, list, tuple)) and not callable(filters):
        raise ConfigError(f"The `filters` argument must be a regex string, a list of regex strings, or a callable. "
                          f"Received: {type(filters)}")
    resolved = resolve_config(mode, config)
    if resolved.mode in ("gptq", "awq"):
        raise NotSupportedError(f"model.quantize('{resolved.mode}') calibrates on data (Keras's GPTQ / AWQ), which "
                                f"loom does not implement; use 'int8', 'int4' or 'float8'.")
    changed = False
    for layer in _leaf_layers(model):
        if not should_quantize(layer, filters):
            continue
        error = unsupported(layer, type_check)
        if error is not None:  # warned before the other checks: loom leaves weightless sublayers unbuilt
            warnings.warn(str(error), stacklevel=2)
            continue
        try:
            layer.quantize(mode, type_check=type_check, config=config)
            changed = True
        except NotSupportedError as e:
            warnings.warn(str(e), stacklevel=2)
    if changed:
        _forget_steps(model)


def _forget_steps(model: Any) -> None:
    """Drop the model's cached train / test / predict steps (they captured the float weights)."""
    for attribute in ("_train_step_cache", "_test_step_cache", "_predict_cache"):
        if getattr(model, attribute, None) is not None:
            setattr(model, attribute, None)

"""``Quantizer`` and ``AbsMaxQuantizer``, with Keras's ``get`` / ``serialize`` / ``deserialize``.

Example:
    >>> import torch
    >>> q, scale = AbsMaxQuantizer()(torch.tensor([[1.0, -2.0]]))
    >>> q.tolist()
    [[64, -127]]
"""

from __future__ import annotations

from typing import Any

import torch

from loom.errors import ConfigError
from loom.quantizers.functions import abs_max_quantize

__all__ = ["AbsMaxQuantizer", "Quantizer", "deserialize", "get", "serialize"]


class Quantizer:
    """Base class of quantizers: ``quantizer(x)`` returns the quantized ``x`` (the base returns ``x``).

    Args:
        output_dtype: the dtype of quantized values (default ``'int8'``).

    Example:
        >>> import torch
        >>> Quantizer()(torch.ones(2)).tolist()
        [1.0, 1.0]
    """

    def __init__(self, output_dtype: str = "int8") -> None:
        self.output_dtype = output_dtype

    def __call__(self, x: Any) -> Any:
        return x

    @classmethod
    def from_config(cls, config: dict) -> "Quantizer":
        """The quantizer rebuilt from :meth:`get_config`'s dict."""
        return cls(**config)

    def get_config(self) -> dict:
        """The quantizer's constructor arguments. Subclasses implement it."""
        raise NotImplementedError(f"{self} does not implement get_config()")


class AbsMaxQuantizer(Quantizer):
    """Symmetric abs-max quantization: ``round(x * value_range[1] / max|x|)`` clipped to ``value_range``.

    Args:
        axis: the axis (or axes) whose maximum sets the scale (default ``None``: given at call time, else -1).
        value_range: the quantized range (default ``(-127, 127)``).
        epsilon: added to the maximum (default 1e-7).
        output_dtype: the dtype of the quantized values (default ``'int8'``).

    Example:
        >>> AbsMaxQuantizer(axis=-1).get_config()["axis"]
        (-1,)
    """

    def __init__(self, axis: Any = None, value_range: tuple = (-127, 127), epsilon: float = 1e-7,
                 output_dtype: str = "int8") -> None:
        super().__init__(output_dtype=output_dtype)
        self.axis = None if axis is None else ((axis,) if isinstance(axis, int) else tuple(axis))
        self.value_range = tuple(value_range)
        self.epsilon = epsilon
        if output_dtype == "int8" and (self.value_range[0] < -128 or self.value_range[1] > 127):
            raise ConfigError(f"AbsMaxQuantizer: output_dtype='int8' needs value_range within [-128, 127]; got "
                              f"{self.value_range}.")

    def __call__(self, x: Any, axis: Any = None, to_numpy: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """``(quantized, scale)`` along ``axis`` (default: the constructor's, else -1)."""
        axis = axis if axis is not None else (self.axis if self.axis is not None else -1)
        return abs_max_quantize(x, axis, self.value_range, self.output_dtype, self.epsilon, to_numpy)

    def get_config(self) -> dict:
        config = {"value_range": self.value_range, "epsilon": self.epsilon, "output_dtype": self.output_dtype}
        if self.axis is not None:
            config["axis"] = self.axis
        return config


_BY_NAME = {"Quantizer": Quantizer, "AbsMaxQuantizer": AbsMaxQuantizer, "abs_max_quantizer": AbsMaxQuantizer}


def serialize(initializer: Quantizer) -> dict:
    """The Keras description of a quantizer (``{"module", "class_name", "config", "registered_name"}``)."""
    from loom.serialization import serialize_keras_object
    entry = serialize_keras_object(initializer)
    return {**entry, "module": "keras.quantizers"}


def deserialize(config: dict, custom_objects: dict | None = None) -> Quantizer:
    """The quantizer a :func:`serialize` description (or Keras's) stands for."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ConfigError(f"quantizers.deserialize: expected a {{'class_name', 'config'}} dict, got {config!r:.100}.")
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _BY_NAME.get(name)
    if cls is None:
        raise ConfigError(f"Unknown quantizer {name!r}; known: {sorted(_BY_NAME)} (or pass custom_objects).")
    return cls.from_config(dict(config.get("config") or {}))


def get(identifier: Any, **kwargs: Any) -> Quantizer | None:
    """A quantizer from a name, a description dict, an instance or a callable (``None`` stays ``None``)."""
    if identifier is None or isinstance(identifier, Quantizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier)
        if cls is None:
            raise ConfigError(f"Unknown quantizer {identifier!r}; known: {sorted(_BY_NAME)}.")
        return cls(**kwargs)
    if callable(identifier):
        return identifier
    raise ConfigError(f"Could not interpret quantizer identifier: {identifier!r:.100}.")

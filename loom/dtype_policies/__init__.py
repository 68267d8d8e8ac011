"""Dtype policies, as ``keras.dtype_policies``: float policies, quantized policies and policy maps.

:class:`DTypePolicy` names a float policy (``'float32'``, ``'mixed_bfloat16'``...); the quantized policies
(:class:`QuantizedDTypePolicy` for int8, :class:`Int4DTypePolicy`, :class:`QuantizedFloat8DTypePolicy`, and
:class:`GPTQDTypePolicy` / :class:`AWQDTypePolicy`, read and written but not run) are what
``layer.quantize(mode)`` gives a layer (see :mod:`loom.layers.quantized`); :class:`DTypePolicyMap` maps layer
paths to policies.

Example:
    >>> from loom import dtype_policies
    >>> dtype_policies.get("mixed_bfloat16").compute_dtype
    'bfloat16'
    >>> dtype_policies.serialize(dtype_policies.DTypePolicy("float32"))["config"]
    {'name': 'float32'}
    >>> dtype_policies.get("int8_from_float32")
    <QuantizedDTypePolicy "int8_from_float32">
"""

from __future__ import annotations

from typing import Any

from loom.dtype_policies.policy_map import DTypePolicyMap
from loom.dtype_policies.quantized import (QUANTIZATION_MODES, AWQDTypePolicy, GPTQDTypePolicy, Int4DTypePolicy,
                                           QuantizedDTypePolicy, QuantizedFloat8DTypePolicy, policy_from_name)
from loom.errors import ConfigError
from loom.mixed_precision import DTypePolicy, FloatDTypePolicy

ALL_OBJECTS = {cls.__name__: cls for cls in (DTypePolicy, QuantizedDTypePolicy, QuantizedFloat8DTypePolicy,
                                             Int4DTypePolicy, GPTQDTypePolicy, AWQDTypePolicy, DTypePolicyMap)}
ALL_OBJECTS["FloatDTypePolicy"] = FloatDTypePolicy


def serialize(dtype_policy: DTypePolicy) -> dict:
    """Keras's ``{'module': 'keras.dtype_policies' (``'keras'`` for a float policy), 'class_name', 'config',
    'registered_name'}`` for a policy."""
    from loom.saving import serialize_keras_object
    entry = serialize_keras_object(dtype_policy)
    return {**entry, "module": "keras" if type(dtype_policy) is DTypePolicy else "keras.dtype_policies"}


def deserialize(config: dict, custom_objects: dict | None = None) -> DTypePolicy:
    """The policy a :func:`serialize` dict (or a Keras-written one) describes.

    Raises:
        ConfigError: a dict that names no dtype policy class.
    """
    if isinstance(config, dict) and config.get("class_name") in ALL_OBJECTS and not custom_objects:
        cls = ALL_OBJECTS[config["class_name"]]
        inner = config.get("config")
        if not isinstance(inner, dict):
            raise ConfigError(f"dtype_policies.deserialize: {config['class_name']} needs a config dict, got "
                              f"{inner!r:.100}.")
        return cls.from_config(inner)
    from loom.saving import deserialize_keras_object
    return deserialize_keras_object(config, custom_objects=custom_objects)


def get(identifier: Any) -> DTypePolicy:
    """A policy from ``None`` (the global one), a name (``'float32'``, ``'int8_from_float32'``...), a config dict
    or a policy.

    Raises:
        ConfigError: anything else, or an unknown name.
    """
    from loom.mixed_precision import dtype_policy
    if identifier is None:
        return dtype_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, str):
        return policy_from_name(identifier) if identifier.startswith(QUANTIZATION_MODES) else DTypePolicy(identifier)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ConfigError(f"Cannot interpret `dtype` argument. Expected a string or a DTypePolicy, got {identifier!r}.")


__all__ = ["AWQDTypePolicy", "DTypePolicy", "DTypePolicyMap", "FloatDTypePolicy", "GPTQDTypePolicy",
           "Int4DTypePolicy", "QUANTIZATION_MODES", "QuantizedDTypePolicy", "QuantizedFloat8DTypePolicy",
           "deserialize", "get", "serialize"]

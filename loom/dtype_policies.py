"""Dtype policies, as ``keras.dtype_policies``: :class:`DTypePolicy` and its (de)serialization.

Quantized policies (int8, int4, float8, GPTQ, AWQ) are not part of loom.

Example:
    >>> from loom import dtype_policies
    >>> dtype_policies.get("mixed_bfloat16").compute_dtype
    'bfloat16'
    >>> dtype_policies.serialize(dtype_policies.DTypePolicy("float32"))["config"]
    {'name': 'float32'}
"""

from __future__ import annotations

from typing import Any

from loom.errors import ConfigError
from loom.mixed_precision import DTypePolicy, FloatDTypePolicy


def serialize(dtype_policy: DTypePolicy) -> dict:
    """Keras's ``{'module', 'class_name', 'config', 'registered_name'}`` for a policy."""
    from loom.saving import serialize_keras_object
    return serialize_keras_object(dtype_policy)


def deserialize(config: dict, custom_objects: dict | None = None) -> DTypePolicy:
    """The policy a :func:`serialize` dict (or a Keras-written one) describes."""
    from loom.saving import deserialize_keras_object
    return deserialize_keras_object(config, custom_objects=custom_objects)


def get(identifier: Any) -> DTypePolicy:
    """A policy from ``None`` (the global one), a name, a config dict or a policy.

    Raises:
        ConfigError: anything else, or an unknown name.
    """
    from loom.mixed_precision import dtype_policy
    if identifier is None:
        return dtype_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, str):
        return DTypePolicy(identifier)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ConfigError(f"Cannot interpret `dtype` argument. Expected a string or a DTypePolicy, got {identifier!r}.")


__all__ = ["DTypePolicy", "FloatDTypePolicy", "deserialize", "get", "serialize"]

"""The Keras 2 object format, as ``keras.legacy.saving``: ``{"class_name": ..., "config": ...}``.

Keras 2 and the legacy ``.h5`` files describe an object by its class name and config only (no ``module``
or ``registered_name``); this module reads and writes that form. Looking a class up never imports code: it
is found in ``module_objects``, ``custom_objects``, the registered custom objects or loom's own packages.

Example:
    >>> import loom
    >>> from loom.legacy import saving
    >>> entry = saving.serialize_keras_object(loom.layers.Dense(3, name="d"))
    >>> entry["class_name"], entry["config"]["units"]
    ('Dense', 3)
    >>> saving.deserialize_keras_object(entry, module_objects={"Dense": loom.layers.Dense}).units
    3
"""

from __future__ import annotations

from typing import Any

from loom.errors import ConfigError
from loom.serialization import serialize_keras_object as _serialize

__all__ = ["deserialize_keras_object", "serialize_keras_object"]


def serialize_keras_object(instance: Any) -> Any:
    """``{"class_name": ..., "config": ...}`` for an object with ``get_config`` (``None`` stays ``None``).

    Raises:
        ConfigError: the object has no ``get_config`` (Keras raises for functions too).
    """
    if instance is None:
        return None
    if not hasattr(instance, "get_config"):
        raise ConfigError(f"legacy serialize_keras_object: cannot serialize {instance!r:.80} because it doesn't "
                          f"implement get_config().")
    entry = _serialize(instance)
    return {"class_name": entry["class_name"], "config": entry["config"]}


def deserialize_keras_object(identifier: Any, module_objects: dict | None = None, custom_objects: dict | None = None,
                             printable_module_name: str = "object") -> Any:
    """The object a Keras 2 description (or a name) stands for.

    Args:
        identifier: ``{"class_name", "config"}``, a name (looked up in ``custom_objects`` then
            ``module_objects``), or ``None``.
        module_objects: name -> class or function, searched after ``custom_objects``.
        custom_objects: name -> class or function, searched first.
        printable_module_name: what the error message calls the object (default ``'object'``).

    Raises:
        ConfigError: an unknown name or class.
    """
    if identifier is None:
        return None
    known = {**(module_objects or {}), **(custom_objects or {})}
    if isinstance(identifier, str):
        if identifier in known:
            return known[identifier]
        raise ConfigError(f"Unknown {printable_module_name}: {identifier!r}. Pass it in custom_objects.")
    if not isinstance(identifier, dict) or "class_name" not in identifier:
        raise ConfigError(f"Could not interpret serialized {printable_module_name}: {identifier!r:.120}.")
    from loom.models.keras_config import find_class, from_keras
    class_name = identifier["class_name"]
    cls = known.get(class_name)
    if cls is None:
        found = find_class(class_name)
        if found is None:
            raise ConfigError(f"Unknown {printable_module_name}: {class_name!r}. Pass it in custom_objects.")
        cls = found[2]
    entry = {"module": None, "class_name": class_name, "config": identifier.get("config") or {},
             "registered_name": class_name}
    config = from_keras(entry, custom_objects=known)["config"]
    if not isinstance(cls, type):
        return cls
    return cls.from_config(config) if hasattr(cls, "from_config") else cls(**config)

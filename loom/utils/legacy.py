"""``keras.utils.legacy``: the Keras 2 (``tf.keras``) serialization format, ``{"class_name", "config"}``.

Example:
    >>> import loom
    >>> entry = serialize_keras_object(loom.layers.Dense(3))
    >>> entry["class_name"], entry["config"]["units"]
    ('Dense', 3)
    >>> deserialize_keras_object(entry).units
    3
"""

from __future__ import annotations

from typing import Any

from loom.errors import ConfigError


def serialize_keras_object(instance: Any) -> Any:
    """``{"class_name", "config"}`` for an object with ``get_config``; a function's name; ``None`` for ``None``.

    Raises:
        ConfigError: the object has neither ``get_config`` nor a ``__name__``.
    """
    if instance is None:
        return None
    if hasattr(instance, "get_config"):
        return {"class_name": type(instance).__name__, "config": instance.get_config()}
    if hasattr(instance, "__name__"):
        return instance.__name__
    raise ConfigError(f"Cannot serialize {instance!r} because it doesn't implement `get_config()`.")


def deserialize_keras_object(identifier: Any, module_objects: dict | None = None, custom_objects: dict | None = None,
                             printable_module_name: str = "object") -> Any:
    """The object a legacy entry (or a name) stands for; names are looked up in ``custom_objects``, then
    ``module_objects``, then loom's public classes and functions.

    Args:
        identifier: A ``{"class_name", "config"}`` dict, a name, or ``None``.
        module_objects: Name -> class or function to search. Defaults to `None`.
        custom_objects: Name -> class or function, searched first. Defaults to `None`.
        printable_module_name: What the object is, for messages. Defaults to `"object"`.

    Raises:
        ConfigError: an unknown name or a malformed entry.
    """
    if identifier is None:
        return None
    scopes = {**(module_objects or {}), **(custom_objects or {})}
    if isinstance(identifier, dict):
        if "class_name" not in identifier or not isinstance(identifier.get("config", {}), dict):
            raise ConfigError(f"Improper config format for {printable_module_name}: {identifier!r}; expected "
                              f"{{'class_name': ..., 'config': {{...}}}}.")
        cls = scopes.get(identifier["class_name"])
        if cls is not None:
            config = identifier.get("config") or {}
            return cls.from_config(config) if hasattr(cls, "from_config") else cls(**config)
        from loom.serialization import deserialize_keras_object as modern
        return modern({"class_name": identifier["class_name"], "config": identifier.get("config") or {}},
                      custom_objects=custom_objects)
    if isinstance(identifier, str):
        if identifier in scopes:
            return scopes[identifier]
        raise ConfigError(f"Unknown {printable_module_name}: {identifier!r}. Pass it in `custom_objects` or "
                          f"`module_objects`.")
    if callable(identifier):
        return identifier
    raise ConfigError(f"Could not interpret serialized {printable_module_name}: {identifier!r}.")

"""The class registry behind saving and loading: no class is ever imported from a name in a file.

Every loom layer registers itself under its class name. Custom classes and functions register with
:func:`register_loom_serializable` (``keras.saving.register_keras_serializable``), which also lists them in
:func:`get_custom_objects`; :class:`CustomObjectScope` adds names for the length of a ``with`` block.
Loading refuses any class that is not found in one of these.

Example:
    >>> import loom
    >>> @loom.saving.register_loom_serializable(package="demo")
    ... class Twice(loom.layers.Layer):
    ...     def call(self, x):
    ...         return 2 * x
    >>> get_registered("demo>Twice") is Twice
    True
"""

from __future__ import annotations

import sys

import threading
from typing import Any, Callable

from loom.errors import ConfigError, UnsafeLoadError

_REGISTRY: dict[str, type] = {}
_CUSTOM_OBJECTS: dict[str, Any] = {}
_SCOPES = threading.local()


def register_builtin(cls: type) -> None:
    _REGISTRY.setdefault(cls.__name__, cls)


def builtin(name: str) -> type | None:
    """loom's own class registered under the bare ``name``, or ``None``.

    Every subclass of ``Layer`` whose module is in ``loom.`` registers itself, so a class a doctest (or
    ``exec``) makes with a loom module's ``__name__`` does too; only a class its module really exposes counts,
    so such a class cannot stand in for a user's class of the same name in a file.
    """
    cls = _REGISTRY.get(name)
    if cls is None or ">" in name:
        return None
    found: Any = sys.modules.get(cls.__module__)
    for part in cls.__qualname__.split("."):
        found = getattr(found, part, None)
    return cls if found is cls else None


def builtins() -> dict[str, type]:
    """``{name: class}`` of :func:`builtin` for every bare registered name."""
    return {name: cls for name in list(_REGISTRY) if (cls := builtin(name)) is not None}


def register_loom_serializable(package: str = "Custom", name: str | None = None) -> Callable[[type], type]:
    """Decorator making a custom class or function loadable by name, as ``keras.saving.register_keras_serializable``.

    Args:
        package: the prefix of the registered name (default ``'Custom'``).
        name: the name after the prefix (default: the class or function name).

    Raises:
        ConfigError: a class without ``get_config``.
    """
    def decorate(obj: Any) -> Any:
        key = f"{package}>{name or obj.__name__}"
        if isinstance(obj, type) and not hasattr(obj, "get_config"):
            raise ConfigError(f"Cannot register {obj.__name__}: a class must define get_config() to be saved.")
        _REGISTRY[key] = _CUSTOM_OBJECTS[key] = obj
        obj._registered_name = key
        return obj
    return decorate


def get_custom_objects() -> dict[str, Any]:
    """The global dict of custom objects (``'package>Name'`` -> object); edit it to add or remove names."""
    return _CUSTOM_OBJECTS


class CustomObjectScope:
    """Inside ``with CustomObjectScope({"name": obj}):``, loading finds ``obj`` by ``name``, as Keras.

    Args:
        custom_objects: name -> class or function (``None``: none).

    Example:
        >>> class Twice:
        ...     pass
        >>> with CustomObjectScope({"Twice": Twice}):
        ...     get_registered("Twice") is Twice
        True
    """

    def __init__(self, custom_objects: dict[str, Any] | None = None):
        if custom_objects is not None and not isinstance(custom_objects, dict):
            raise ConfigError(f"CustomObjectScope: custom_objects must be a dict, got {type(custom_objects).__name__}.")
        self.custom_objects = dict(custom_objects or {})

    def __enter__(self) -> "CustomObjectScope":
        _scopes().append(self.custom_objects)
        return self

    def __exit__(self, *exc: Any) -> None:
        _scopes().remove(self.custom_objects)


custom_object_scope = CustomObjectScope


def _scopes() -> list[dict]:
    if not hasattr(_SCOPES, "stack"):
        _SCOPES.stack = []
    return _SCOPES.stack


def _lookup(name: str, table: dict | None) -> Any:
    """``name`` in ``table``; for ``'module>Qual.Name'`` also ``'Qual.Name'`` and the bare ``'Name'``.

    A class defined in a function or another class is saved as ``'module>f.<locals>.Name'``; Keras programs
    pass it back as ``custom_objects={"Name": cls}``.
    """
    if not table:
        return None
    qualname = name.split(">")[-1]
    return table.get(name) or table.get(qualname) or table.get(qualname.split(".")[-1])


def registered_name(cls: type) -> str:
    return getattr(cls, "_registered_name", None) if "_registered_name" in cls.__dict__ else cls.__name__


def find_custom(name: str, custom_objects: dict | None = None) -> Any:
    """``name`` in ``custom_objects``, then in open :class:`CustomObjectScope` blocks, then among registered
    custom objects (not loom's built-in classes); ``None`` when absent."""
    for table in (custom_objects, *reversed(_scopes()), _CUSTOM_OBJECTS):
        found = _lookup(name, table)
        if found is not None:
            return found
    return None


def get_registered(name: str, custom_objects: dict | None = None) -> type:
    """Look a class up by registered name: ``custom_objects``, then open scopes, custom objects, built-ins.

    Raises:
        UnsafeLoadError: the name is not registered.
    """
    found = find_custom(name, custom_objects)
    if found is not None:
        return found
    if name in _REGISTRY and (">" in name or builtin(name) is not None):
        return _REGISTRY[name]
    raise UnsafeLoadError(
        f"Unknown class '{name}'. Register it with @loom.saving.register_loom_serializable() or pass it in "
        f"custom_objects={{'{name.split('>')[-1].split('.')[-1]}': cls}}.")

"""The class registry behind saving and loading: no class is ever imported from a name in a file.

Every loom layer registers itself under its class name. Custom layers register with
:func:`register_loom_serializable`; loading refuses any class that is not registered.

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

from typing import Callable

from loom.errors import UnsafeLoadError

_REGISTRY: dict[str, type] = {}


def register_builtin(cls: type) -> None:
    _REGISTRY.setdefault(cls.__name__, cls)


def register_loom_serializable(package: str = "Custom", name: str | None = None) -> Callable[[type], type]:
    """Class decorator making a custom class loadable by name, as ``keras.saving.register_keras_serializable``."""
    def decorate(cls: type) -> type:
        key = f"{package}>{name or cls.__name__}"
        _REGISTRY[key] = cls
        cls._registered_name = key
        return cls
    return decorate


def registered_name(cls: type) -> str:
    return getattr(cls, "_registered_name", None) if "_registered_name" in cls.__dict__ else cls.__name__


def get_registered(name: str, custom_objects: dict | None = None) -> type:
    """Look a class up by registered name (``custom_objects`` first).

    Raises:
        UnsafeLoadError: the name is not registered.
    """
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if custom_objects and name.split(">")[-1] in custom_objects:
        return custom_objects[name.split(">")[-1]]
    if name in _REGISTRY:
        return _REGISTRY[name]
    raise UnsafeLoadError(
        f"Unknown class '{name}'. Register it with @loom.saving.register_loom_serializable() or pass it in "
        f"custom_objects={{'{name.split('>')[-1]}': cls}}.")

"""Plain loss and metric functions in a saved compile config: how they are named and found again.

``compile`` takes any callable as a loss or metric. A saved compile config keeps a plain function by name, as
Keras does: its registered name (``'package>name'``, from ``@loom.saving.register_keras_serializable``) or
its ``__name__``. Loading looks the name up among the built-in names, then in ``custom_objects`` (and open
``custom_object_scope`` blocks) and the registered objects. A name found nowhere fails at ``load_model``, as
Keras 3 raises ``TypeError: Could not locate function ...`` there, instead of at the first ``fit``.

In a ``.keras`` archive such a function is Keras's ``{'class_name': 'function', 'config': name}`` entry, so
Keras resolves or refuses it the same way.

Example:
    >>> resolve_saved("mse", "loss")
    'mse'
    >>> resolve_saved("my_loss", "loss")
    Traceback (most recent call last):
    ...
    loom.errors.UnknownObjectError: Could not locate the loss function 'my_loss' ...
    >>> def my_loss(y_true, y_pred):
    ...     return (y_true - y_pred) ** 2
    >>> resolve_saved("my_loss", "loss", {"my_loss": my_loss}) is my_loss
    True
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

from loom.errors import UnknownObjectError

_CROSSENTROPY = ("crossentropy", "ce")


def function_name(fn: Callable) -> str:
    """The name a plain function is saved under: its registered name, else its ``__name__``."""
    return getattr(fn, "_registered_name", None) or getattr(fn, "__name__", type(fn).__name__)


def is_builtin_name(name: str, kind: str) -> bool:
    """Whether ``compile`` knows the string ``name`` as a ``kind`` (``'loss'`` or ``'metric'``) by itself."""
    if kind == "loss":
        from loom import losses
        return name in losses.ALL_OBJECTS or name.lower() in _CROSSENTROPY
    from loom import metrics
    return name in metrics.ALL_OBJECTS or name.lower() in metrics._SPECIAL


def resolve_saved(name: str, kind: str, custom_objects: dict | None = None) -> Any:
    """A saved ``kind`` name as ``compile`` takes it: a built-in name unchanged, else the function it names.

    Args:
        name: the saved name.
        kind: ``'loss'`` or ``'metric'``.
        custom_objects: names to look in first (default ``None``; open scopes and registered objects follow).

    Raises:
        UnknownObjectError: the name is not built in, in ``custom_objects``, in a scope, nor registered; the
            message says how to pass the function.
    """
    if is_builtin_name(name, kind):
        return name
    from loom.registry import find_custom
    found = find_custom(name, custom_objects)
    if found is not None:
        return found
    bare = name.split(">")[-1].split(".")[-1]
    raise UnknownObjectError(
        f"Could not locate the {kind} function '{name}' that the saved compile config names (Keras 3 fails here "
        f"too). Pass it when loading: load_model(path, custom_objects={{'{bare}': {bare}}}), or register it with "
        f"@loom.saving.register_keras_serializable(); or load with compile=False and call model.compile(...).")


def to_keras_entry(value: Any, kind: str) -> Any:
    """A compile-config string as Keras writes it: a name that is not built in becomes Keras's function entry."""
    if isinstance(value, str) and not is_builtin_name(value, kind):
        return {"module": "builtins", "class_name": "function", "config": value, "registered_name": "function"}
    return value


def compile_saved(path: str, custom_objects: dict | None, compile_model: Callable[[], Any]) -> bool:
    """Run ``compile_model`` (a loaded model's compile from its saved config) with ``custom_objects`` in scope.

    A loss or metric function that cannot be found raises :class:`UnknownObjectError` naming ``path``, as Keras
    raises there; any other problem only warns (the weights are loaded; an uncompiled model is still usable).

    Returns:
        Whether the model compiled.
    """
    from loom.registry import CustomObjectScope
    try:
        with CustomObjectScope(custom_objects or {}):
            compile_model()
    except UnknownObjectError as e:
        raise UnknownObjectError(f"{path}: {e}") from e
    except Exception as e:  # noqa: BLE001 - the weights are loaded; an uncompiled model is still usable
        warnings.warn(f"{path}: the model is loaded but could not be compiled from its saved compile config "
                      f"({type(e).__name__}: {e}); call model.compile(...) yourself.", stacklevel=4)
        return False
    return True

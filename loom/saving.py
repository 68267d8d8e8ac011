"""Saving and loading, as ``keras.saving``: the class registry, object (de)serialization, model files.

A layer is written as ``{"module", "class_name", "registered_name", "config"}``. Reading resolves
``registered_name`` through the registry only (``custom_objects`` first): built-in loom classes register
themselves, custom classes with :func:`register_loom_serializable`. An unknown name raises
:class:`~loom.errors.UnsafeLoadError` unless ``safe_mode=False``, in which case the class is imported from
the module named in the file (only do that for files you trust). Nothing is ever unpickled.

Example:
    >>> import loom
    >>> @loom.saving.register_loom_serializable(package="demo")
    ... class Twice(loom.layers.Layer):
    ...     def call(self, x):
    ...         return 2 * x
    >>> entry = loom.saving.serialize_loom_object(Twice(name="twice"))
    >>> entry["registered_name"]
    'demo>Twice'
    >>> type(loom.saving.deserialize_loom_object(entry)).__name__
    'Twice'
"""

from __future__ import annotations

import importlib
import inspect
import re
from typing import Any

import numpy as np
import torch

from loom import config as loom_config
from loom.traceback_utils import filter_traceback
from loom.errors import ConfigError, LoomError, UnsafeLoadError
from loom.registry import (CustomObjectScope, custom_object_scope, get_custom_objects, get_registered,
                           register_loom_serializable, registered_name)
from loom.models.keras_file_editor import KerasFileEditor
from loom.serialization import deserialize_keras_object, serialize_keras_object

register_keras_serializable = register_loom_serializable

__all__ = ["CustomObjectScope", "KerasFileEditor", "custom_object_scope", "get_custom_objects", "register_keras_serializable",
           "register_loom_serializable", "get_registered_object", "get_registered_name", "serialize_keras_object",
           "deserialize_keras_object", "serialize_loom_object", "deserialize_loom_object", "save_model",
           "load_model", "save_weights", "load_weights"]

# Names Keras writes for loom classes that loom calls differently.
_ALIASES = {"Functional": "Model"}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_DEPTH = 64


def get_registered_object(name: str, custom_objects: dict | None = None,
                          module_objects: dict | None = None) -> type | None:
    """The object registered as ``name`` (``custom_objects`` first, ``module_objects`` last), or ``None``."""
    try:
        return get_registered(name, custom_objects)
    except UnsafeLoadError:
        return (module_objects or {}).get(name)


def get_registered_name(obj: Any) -> str:
    """The name a class (or an instance's class) is saved under: ``'package>Name'`` for custom classes.

    A class that is not registered is saved as ``'module>QualifiedName'``; loading it then needs
    ``custom_objects`` or ``safe_mode=False``.
    """
    cls = obj if isinstance(obj, type) else type(obj)
    key = registered_name(cls)
    return key if get_registered_object(key) is cls else f"{cls.__module__}>{cls.__qualname__}"


def to_json_value(value: Any, where: str, depth: int = 0) -> Any:
    """``value`` as plain JSON types (tuples become lists, NumPy scalars numbers, dtypes names).

    Raises:
        ConfigError: a value JSON cannot hold; the message says where it is.
    """
    if depth > _MAX_DEPTH:
        raise ConfigError(f"{where}: the value is nested more than {_MAX_DEPTH} levels deep.")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, torch.dtype):
        return str(value).replace("torch.", "")
    if isinstance(value, (list, tuple)):
        return [to_json_value(v, where, depth + 1) for v in value]
    if isinstance(value, dict):
        bad = [k for k in value if not isinstance(k, str)]
        if bad:
            raise ConfigError(f"{where}: dictionary keys must be strings to be saved, got {bad[:3]}.")
        return {k: to_json_value(v, f"{where}.{k}", depth + 1) for k, v in value.items()}
    raise ConfigError(f"{where}: a value of type {type(value).__name__} ({value!r:.80}) cannot be saved in a "
                      f"config; get_config() must return plain numbers, strings, lists and dicts.")


def serialize_loom_object(layer: Any) -> dict:
    """``{"module", "class_name", "registered_name", "config"}`` describing a layer (or model).

    Raises:
        ConfigError: the layer's ``get_config()`` fails or returns values JSON cannot hold.
    """
    cls = type(layer)
    name = getattr(layer, "name", cls.__name__)
    config = layer.get_config()
    if not isinstance(config, dict):
        raise ConfigError(f"{cls.__name__} '{name}'.get_config() must return a dict, got {type(config).__name__}.")
    return {"module": cls.__module__, "class_name": cls.__name__, "registered_name": get_registered_name(cls),
            "config": to_json_value(config, f"config of layer '{name}' ({cls.__name__})")}


def resolve_class(entry: dict, custom_objects: dict | None = None, safe_mode: bool = True) -> type:
    """The layer class an entry names, from the registry (or, with ``safe_mode=False``, its module).

    Raises:
        UnsafeLoadError: the class is not registered and ``safe_mode`` is on.
        ConfigError: the entry is malformed or names something that is not a loom layer.
    """
    from loom.layers.layer import Layer
    class_name = entry.get("class_name")
    key = entry.get("registered_name") or class_name
    if not isinstance(class_name, str) or not isinstance(key, str):
        raise ConfigError(f"A layer entry needs a string 'class_name'; got keys {sorted(entry)[:10]}.")
    key = _ALIASES.get(key, key)
    try:
        cls = get_registered(key, custom_objects)
    except UnsafeLoadError as e:
        if safe_mode:
            raise UnsafeLoadError(f"{e} Or, only for a file you trust, pass safe_mode=False to import it from "
                                  f"module {entry.get('module')!r}.") from None
        cls = _import_class(entry.get("module"), key.split(">")[-1])
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise ConfigError(f"'{key}' resolves to {cls!r}, which is not a loom layer class.")
    return cls


def _import_class(module: Any, qualname: str) -> type:
    """``module.qualname`` imported (``safe_mode=False`` only)."""
    if not isinstance(module, str) or not all(_IDENTIFIER.match(p) for p in module.split(".")) \
            or not all(_IDENTIFIER.match(p) for p in qualname.split(".")):
        raise ConfigError(f"Cannot import class {qualname!r} from module {module!r}: not valid Python names.")
    try:
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"Cannot import class {qualname!r} from module {module!r}: {e}") from e
    return obj


def deserialize_loom_object(entry: dict, custom_objects: dict | None = None, safe_mode: bool = True) -> Any:
    """The layer (or model) an entry from :func:`serialize_loom_object` describes.

    ``custom_objects`` and ``safe_mode`` reach every ``from_config`` that accepts them (models, ``Lambda``).

    Raises:
        UnsafeLoadError: unregistered class (or a ``Lambda``) while ``safe_mode`` is on.
        ConfigError: malformed entry, or the class cannot be rebuilt from its config.
    """
    if not isinstance(entry, dict):
        raise ConfigError(f"A layer entry must be a JSON object, got {type(entry).__name__}.")
    safe_mode = safe_mode if loom_config.in_safe_mode() is None else loom_config.in_safe_mode()
    cls = resolve_class(entry, custom_objects, safe_mode)
    config = entry.get("config", {})
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise ConfigError(f"The config of a {cls.__name__} must be a JSON object, got {type(config).__name__}.")
    params = inspect.signature(cls.from_config).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    extra = {k: v for k, v in (("custom_objects", custom_objects), ("safe_mode", safe_mode))
             if takes_any or k in params}
    try:
        obj = cls.from_config(dict(config), **extra)
    except LoomError:
        raise
    except Exception as e:  # noqa: BLE001 - any failure of user code becomes a clear ConfigError
        raise ConfigError(f"Cannot rebuild {cls.__name__} '{config.get('name', '?')}' from its config: "
                          f"{type(e).__name__}: {e}. Its get_config() must return every constructor "
                          f"argument.") from e
    if not hasattr(obj, "get_config"):
        raise ConfigError(f"{cls.__name__}.from_config returned {type(obj).__name__}, not a layer.")
    return obj


# ----------------------------------------------------------------------- model files (see loom.models.saving)
@filter_traceback
def save_model(model: Any, filepath: Any, overwrite: bool = True, zipped: bool | None = None, **kwargs: Any) -> None:
    """Write ``model`` to one ``.loom`` file, as ``keras.saving.save_model``; see :func:`loom.models.saving.save_model`.

    Args:
        model: the model.
        filepath: the file to write.
        overwrite: replace an existing file (default True).
        zipped: accepted for Keras compatibility; a ``.loom`` file is always one zip (default ``None``).
        **kwargs: ``include_optimizer`` (default True).
    """
    from loom.models.saving import save_model as _save
    if zipped is False:
        raise ConfigError("save_model: zipped=False (an unzipped directory) is not supported; loom writes one "
                          "zip file.")
    unknown = set(kwargs) - {"include_optimizer"}
    if unknown:
        raise ConfigError(f"save_model: unknown arguments {sorted(unknown)}. Valid: ['include_optimizer'].")
    _save(model, filepath, overwrite=overwrite, include_optimizer=kwargs.get("include_optimizer", True))


@filter_traceback
def load_model(filepath: Any, custom_objects: dict | None = None, compile: bool = True, safe_mode: bool = True):
    """Read a model written by ``model.save``; see :func:`loom.models.saving.load_model`."""
    from loom.models.saving import load_model as _load
    return _load(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


def save_weights(model: Any, filepath: Any, overwrite: bool = True, max_shard_size: Any = None, **kwargs: Any) -> None:
    """Write the weights of ``model``; see :func:`loom.models.saving.save_weights` (no sharding:
    ``max_shard_size`` must be ``None``)."""
    from loom.models.saving import save_weights as _save
    if max_shard_size is not None or kwargs:
        raise ConfigError(f"save_weights: sharding and extra arguments are not supported "
                          f"(max_shard_size={max_shard_size!r}, {sorted(kwargs)}).")
    _save(model, filepath, overwrite=overwrite)


def load_weights(model: Any, filepath: Any, skip_mismatch: bool = False, **kwargs: Any) -> None:
    """Load weights into ``model``; see :func:`loom.models.saving.load_weights`."""
    from loom.models.saving import load_weights as _load
    _load(model, filepath, skip_mismatch=skip_mismatch)

"""Any loom object to and from Keras's serialization dicts: ``keras.saving.serialize_keras_object``.

An object with ``get_config`` becomes ``{"module", "class_name", "config", "registered_name"}``; a function
``{"module", "class_name": "function", "config": name, "registered_name": "function"}``; NumPy arrays and
tensors ``{"class_name": "__numpy__" / "__tensor__", "config": {"value", "dtype"}}``; lists, tuples and
dicts are walked. Reading finds classes only among loom's public classes (by ``module`` and
``class_name``, so Keras-written entries for built-in objects load too), ``custom_objects``, open
:class:`~loom.registry.CustomObjectScope` blocks and registered custom objects; nothing from the dict is
imported or executed unless ``safe_mode=False`` (or :func:`loom.config.enable_unsafe_deserialization`).

Example:
    >>> import loom
    >>> entry = serialize_keras_object(loom.initializers.HeNormal(seed=1))
    >>> entry["module"], entry["class_name"], entry["config"]["seed"]
    ('loom.initializers', 'HeNormal', 1)
    >>> deserialize_keras_object(entry).get_config() == loom.initializers.HeNormal(seed=1).get_config()
    True
"""

from __future__ import annotations

import importlib
import inspect
import types
from typing import Any

import numpy as np
import torch

from loom import config as loom_config
from loom.errors import ConfigError, UnsafeLoadError
from loom.registry import find_custom, get_registered, registered_name

# loom's public packages, by the name Keras also uses in an entry's "module" ("keras.layers", "loom.layers").
_PACKAGES = ("layers", "initializers", "regularizers", "constraints", "optimizers", "losses", "metrics",
             "callbacks", "activations", "models", "mixed_precision", "dtype_policies", "schedules")
_SPECIAL = {"Functional": ("loom.models", "Model"), "DTypePolicy": ("loom.mixed_precision", "DTypePolicy"),
            "FloatDTypePolicy": ("loom.mixed_precision", "DTypePolicy")}


def _public_module(cls: Any) -> str:
    parts = cls.__module__.split(".")
    if parts[0] != "loom":
        return cls.__module__
    for part in parts[1:]:
        if part in _PACKAGES:
            return "loom.optimizers.schedules" if part == "schedules" else f"loom.{part}"
    return "loom"


def _builtin(obj: Any) -> bool:
    return getattr(obj, "__module__", "").split(".")[0] == "loom" and "_registered_name" not in vars(obj)


def _serialize_function(fn: Any) -> dict:
    from loom import activations
    if isinstance(fn, types.LambdaType) and fn.__name__ == "<lambda>":
        raise ConfigError("serialize_keras_object: a lambda cannot be serialized (loom never stores code); "
                          "use a named function registered with @register_keras_serializable().")
    name = fn.__name__
    module = "builtins" if fn in activations._NAME_OF else _public_module(fn)
    if fn in activations._NAME_OF:
        name = activations._NAME_OF[fn]
    elif "_registered_name" in vars(fn):
        name = fn._registered_name
    return {"module": module, "class_name": "function", "config": name, "registered_name": "function"}


def serialize_keras_object(obj: Any) -> Any:
    """A JSON-ready description of ``obj`` in Keras's schema (see the module docstring).

    Raises:
        ConfigError: an object with no config (and not a function, array or plain value), or a lambda.
    """
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, torch.dtype):
        return str(obj).replace("torch.", "")
    if isinstance(obj, (np.ndarray, torch.Tensor)):
        kind = "__numpy__" if isinstance(obj, np.ndarray) else "__tensor__"
        value = obj if isinstance(obj, np.ndarray) else obj.detach().cpu().numpy()
        return {"class_name": kind, "config": {"value": value.tolist(), "dtype": value.dtype.name}}
    if isinstance(obj, (list, tuple)):
        return type(obj)(serialize_keras_object(v) for v in obj)
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    if isinstance(obj, types.FunctionType):
        return _serialize_function(obj)
    if not hasattr(obj, "get_config"):
        raise ConfigError(f"serialize_keras_object: cannot serialize {type(obj).__name__} {obj!r:.80}: it has no "
                          f"get_config().")
    cls = type(obj)
    name = None if _builtin(cls) else (registered_name(cls) if "_registered_name" in vars(cls) else cls.__name__)
    return {"module": _public_module(cls), "class_name": cls.__name__,
            "config": serialize_keras_object(obj.get_config()), "registered_name": name}


def _from_package(module: Any, class_name: str) -> Any:
    if class_name in _SPECIAL:
        mod, attr = _SPECIAL[class_name]
        return getattr(importlib.import_module(mod), attr)
    parts = module.split(".") if isinstance(module, str) else []
    if parts[:1] not in (["loom"], ["keras"]):
        return None
    package = "schedules" if "schedules" in parts else next((p for p in parts[1:] if p in _PACKAGES), None)
    if package is None:
        return None
    found = getattr(importlib.import_module(f"loom.{package}"), class_name, None)
    return found if isinstance(found, type) else None


def _find(entry: dict, custom_objects: dict | None, safe_mode: bool) -> Any:
    class_name, registered = entry.get("class_name"), entry.get("registered_name")
    for name in dict.fromkeys(n for n in (registered, class_name) if isinstance(n, str)):
        found = find_custom(name, custom_objects)
        if found is not None:
            return found
    found = _from_package(entry.get("module"), class_name)
    if found is not None:
        return found
    try:
        return get_registered(registered or class_name)
    except UnsafeLoadError:
        pass
    if not safe_mode:
        from loom.saving import _import_class
        return _import_class(entry.get("module"), class_name)
    raise ConfigError(f"Cannot deserialize {class_name!r} (module {entry.get('module')!r}): not a loom class and "
                      f"not registered. Register it with @loom.saving.register_keras_serializable() or pass "
                      f"custom_objects={{'{class_name}': cls}}.")


def _deserialize_function(entry: dict, custom_objects: dict | None) -> Any:
    from loom import activations, losses, metrics
    name = entry.get("config")
    if not isinstance(name, str):
        raise ConfigError(f"A function entry needs its name as 'config', got {name!r}.")
    found = find_custom(name, custom_objects)
    if found is not None:
        return found
    module = str(entry.get("module"))
    getter = losses.get if ".losses" in module else metrics.get if ".metrics" in module else activations.get
    return getter(name)


def deserialize_keras_object(config: Any, custom_objects: dict | None = None, safe_mode: bool = True,
                             **kwargs: Any) -> Any:
    """The object a :func:`serialize_keras_object` description (or a Keras-written one) stands for.

    Args:
        config: the description (plain values, lists and dicts without ``class_name`` come back as they are).
        custom_objects: name -> class or function, searched first (default ``None``).
        safe_mode: refuse Lambda layers and unknown classes (default True;
            :func:`loom.config.enable_unsafe_deserialization` turns it off everywhere).

    Raises:
        ConfigError: an unknown class, or a config its class cannot be built from.
        UnsafeLoadError: a Lambda layer or unregistered layer class while ``safe_mode`` is on.
    """
    safe_mode = safe_mode if loom_config.in_safe_mode() is None else loom_config.in_safe_mode()
    if isinstance(config, (list, tuple)):
        return type(config)(deserialize_keras_object(v, custom_objects, safe_mode) for v in config)
    if isinstance(config, str) and custom_objects and config in custom_objects:
        return custom_objects[config]
    if not isinstance(config, dict) or "class_name" not in config:
        if isinstance(config, dict):
            return {k: deserialize_keras_object(v, custom_objects, safe_mode) for k, v in config.items()}
        return config
    class_name = config["class_name"]
    if class_name in ("__numpy__", "__tensor__"):
        value = np.asarray(config["config"]["value"], dtype=config["config"]["dtype"])
        return value if class_name == "__numpy__" else torch.from_numpy(value)
    if class_name == "function":
        return _deserialize_function(config, custom_objects)
    from loom.layers.layer import Layer
    cls = _find(config, custom_objects, safe_mode)
    if isinstance(cls, type) and issubclass(cls, Layer):
        from loom.saving import deserialize_loom_object
        entry = {**config, "registered_name": registered_name(cls)}
        if str(config.get("module", "")).startswith("keras"):  # Keras's config keys and nested objects
            from loom.models.keras_config import from_keras
            entry["config"] = from_keras(config, custom_objects)["config"]
        return deserialize_loom_object(entry, {**(custom_objects or {}), registered_name(cls): cls}, safe_mode)
    return _build(cls, config.get("config") or {}, custom_objects)


def _build(cls: Any, config: dict, custom_objects: dict | None) -> Any:
    if not isinstance(cls, type):
        return cls
    try:
        if "custom_objects" in inspect.signature(cls.from_config).parameters:
            return cls.from_config(config, custom_objects=custom_objects)
        return cls.from_config(config) if hasattr(cls, "from_config") else cls(**config)
    except ConfigError:
        raise
    except Exception as e:  # noqa: BLE001 - any failure of the class's constructor becomes a ConfigError
        raise ConfigError(f"Cannot rebuild {cls.__name__} from its config {config!r:.200}: {type(e).__name__}: "
                          f"{e}") from e

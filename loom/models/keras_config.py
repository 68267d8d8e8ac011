"""The one table between Keras 3's config schema and loom's, used in both directions.

loom's configs already follow Keras 3's layout (``{"class_name", "config"}`` objects, the functional
``layers`` / ``inbound_nodes`` / ``keras_history`` schema, Keras's argument names), so the two directions
only differ in bookkeeping:

* **Keras → loom** (:func:`from_keras`): ``module`` / ``shared_object_id`` keys are dropped (a class is
  found in loom's own tables by its name, never imported from a module named in the file),
  ``DTypePolicy`` objects become dtype names, ``Functional`` becomes ``Model``, and config keys loom has no
  argument for are dropped when they hold Keras's default (``ragged: false``, ``renorm: false``...) and
  refused otherwise, naming the layer and key.
* **loom → Keras** (:func:`to_keras`): every object gets Keras's ``module`` (``keras.layers``,
  ``keras.initializers``...) and ``registered_name`` (``None`` for built-ins, ``"package>Name"`` for
  registered custom classes), so ``keras.saving.deserialize_keras_object`` finds it.

Example:
    >>> entry = {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
    ...          "config": {"units": 2, "lora_rank": None, "dtype": {"module": "keras",
    ...                     "class_name": "DTypePolicy", "config": {"name": "float32"}}}}
    >>> from_keras(entry)
    {'class_name': 'Dense', 'config': {'units': 2, 'dtype': 'float32'}}
    >>> to_keras(from_keras(entry))["module"]
    'keras.layers'
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from loom.errors import ConfigError
from loom.registry import find_custom

_MAX_DEPTH = 64
_TAGS = ("__keras_tensor__", "__tuple__", "__slice__", "__ellipsis__", "__numpy__", "__tensor__")
_DTYPE_POLICIES = ("DTypePolicy", "FloatDTypePolicy", "DTypePolicyMap", "Policy", "QuantizedDTypePolicy",
                   "QuantizedFloat8DTypePolicy", "Int4DTypePolicy", "GPTQDTypePolicy", "AWQDTypePolicy")
_FLOAT_POLICIES = ("DTypePolicy", "FloatDTypePolicy", "Policy")
# Keras class names loom spells differently (Keras → loom).
_CLASS_ALIASES = {"Functional": "Model", "GroupQueryAttention": "GroupedQueryAttention"}
# loom class names Keras's configs spell differently (loom → Keras): Keras writes its exported name.
_KERAS_CLASS_NAMES = {"GroupedQueryAttention": "GroupQueryAttention"}
# Keras layer options loom has no argument for, with the value that means "off" (dropped silently).
_KERAS_DEFAULTS = {
    "sparse": False, "ragged": False, "optional": False, "synchronized": False, "renorm": False,
    "renorm_clipping": None, "renorm_momentum": None, "lora_rank": None, "lora_alpha": None,
    "quantization_config": None, "input_axes": None, "output_axes": None, "use_cudnn": "auto",
    "autocast": True, "unroll": False, "zero_output_for_mask": None, "time_major": False,
    "embeddings_constraint": None, "seed": None, "implementation": None, "rms_scaling": False,
    "gamma_regularizer": None, "beta_regularizer": None, "gamma_constraint": None, "beta_constraint": None,
}
# Keys whose value is irrelevant when the switch next to them is off.
_IGNORED_WITH = {"renorm_momentum": "renorm", "renorm_clipping": "renorm"}
_LOOM_ONLY_KEYS = ("mixed_precision",)
# Keys Keras writes for a class but its constructor refuses (loom → Keras drops them).
_KERAS_REFUSES = {"SpatialDropout1D": ("trainable",), "SpatialDropout2D": ("trainable",),
                  "SpatialDropout3D": ("trainable",)}


# ------------------------------------------------------------------------------------------ class tables
@functools.lru_cache(maxsize=None)
def _kind_tables() -> tuple[tuple[str, str, dict], ...]:
    """``(kind, keras module, {class name: class})`` for every family of objects a config may hold."""
    from loom import constraints, initializers, losses, metrics, optimizers, quantizers, regularizers, schedules
    from loom.registry import builtins

    def classes(table: Any) -> dict:
        return {k: v for k, v in dict(table).items() if inspect.isclass(v)}

    return (("layer", "keras.layers", builtins()),
            ("initializer", "keras.initializers", classes(initializers._CLASSES)),
            ("regularizer", "keras.regularizers", classes(regularizers._BY_NAME)),
            ("constraint", "keras.constraints", classes(constraints._CLASSES)),
            ("schedule", "keras.optimizers.schedules", classes(vars(schedules))),
            ("optimizer", "keras.optimizers", classes({**{c.__name__: c for c in optimizers._BY_NAME.values()},
                                                       "OptimizerMap": optimizers.OptimizerMap})),
            ("loss", "keras.losses", classes(losses.ALL_OBJECTS)),
            ("quantizer", "keras.quantizers", classes({n: getattr(quantizers, n) for n in quantizers.__all__})),
            ("metric", "keras.metrics", classes(metrics.ALL_OBJECTS)))


def find_class(name: str, kind: str | None = None) -> tuple[str, str, type] | None:
    """``(kind, keras module, loom class)`` of the built-in class called ``name`` (of ``kind`` if given)."""
    for table_kind, module, table in _kind_tables():
        if (kind is None or kind == table_kind) and name in table:
            return table_kind, module, table[name]
    return None


@functools.lru_cache(maxsize=None)
def accepted_keys(cls: type) -> frozenset[str] | None:
    """The keyword arguments ``cls(**config)`` accepts, following ``**kwargs`` up the class hierarchy;
    ``None`` when any keyword is accepted."""
    keys: set[str] = set()
    for klass in cls.__mro__:
        if klass.__module__.startswith("torch"):  # loom's Layer refuses what reaches nn.Module
            return frozenset(keys - {"self"})
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        keys.update(p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            return frozenset(keys - {"self"})
        if klass is object:
            break
    return None


# ------------------------------------------------------------------------------------------ Keras → loom
def from_keras(value: Any, custom_objects: dict | None = None, depth: int = 0, keep_training: bool = False) -> Any:
    """A Keras-schema value (a config.json object, a layer entry, a config dict) in loom's schema.

    Args:
        value: the Keras-schema value.
        custom_objects: ``{name: class}`` for custom classes (default ``None``).
        depth: the nesting depth reached (default ``0``).
        keep_training: keep the ``training`` arguments recorded at calls, as in a file loom wrote, which
            records only explicit ones (default ``False``: Keras records defaults too, so they are dropped).
    """
    if depth > _MAX_DEPTH:
        raise ConfigError(f"The Keras config is nested more than {_MAX_DEPTH} levels deep.")
    if isinstance(value, list):
        return [from_keras(v, custom_objects, depth + 1, keep_training) for v in value]
    if not isinstance(value, dict):
        return value
    if not _is_object(value):
        out = {k: from_keras(v, custom_objects, depth + 1, keep_training) for k, v in value.items()}
        if "args" in out and isinstance(out.get("kwargs"), dict) and out["kwargs"].get("mask", 0) is None:
            out["kwargs"] = {k: v for k, v in out["kwargs"].items() if k != "mask"}  # Keras records mask=None
        recorded = "args" in out and isinstance(out.get("kwargs"), dict) and "training" in out["kwargs"]
        if recorded and not keep_training:
            # Keras records a layer's default `training` (True for its augmentation layers), and its fit / predict
            # always override a recorded value; loom's graph would fix it, so it is left out
            out["kwargs"] = {k: v for k, v in out["kwargs"].items() if k != "training"}
        return out
    class_name = value["class_name"]
    if class_name in _DTYPE_POLICIES:
        return _policy(value)
    out = {k: from_keras(v, custom_objects, depth + 1, keep_training) for k, v in value.items()
           if k not in ("module", "shared_object_id", "registered_name", "class_name", "config")}
    registered = value.get("registered_name")
    out["class_name"] = _CLASS_ALIASES.get(class_name, class_name)
    module = value.get("module")
    if isinstance(module, str) and module.split(".")[0] != "keras":
        out["module"] = module  # a user's class: safe_mode=False imports it from there
    if isinstance(registered, str) and ">" in registered:
        out["registered_name"] = registered
    elif _is_operation(value):
        from loom.models.keras_ops import OPS, PACKAGE
        if class_name not in OPS:
            raise ConfigError(f"The graph records Keras operation {class_name} ({value.get('module')}), which loom "
                              f"does not have; it has the {len(OPS)} operations of loom.models.keras_ops.OPS "
                              f"(Add, GetItem, Mean, ...). Replace it in Keras with a layer, or with one of these.")
        out["registered_name"] = f"{PACKAGE}>{class_name}"
    elif _missing_builtin(value, custom_objects):
        raise ConfigError(f"The file uses Keras's {class_name} ({value.get('module')}), which loom does not have "
                          f"(yet); replace it in Keras or write a loom layer and pass it in custom_objects="
                          f"{{'{class_name}': cls}}.")
    config = value.get("config")
    if class_name in _TAGS or not isinstance(config, dict):
        out["config"] = from_keras(config, custom_objects, depth + 1, keep_training)
        return out
    config = from_keras(config, custom_objects, depth + 1, keep_training)
    if class_name == "Lambda":
        config = {k: _keras_function(v) if k in ("function", "output_shape", "mask") else v
                  for k, v in config.items()}
    out["config"] = _fit_config(out, config, custom_objects)
    return out


def _keras_function(value: Any) -> Any:
    """A function in a Keras ``Lambda`` config in loom's form: a named function becomes an import
    reference (``safe_mode=False`` or ``custom_objects`` only); Keras's marshalled bytecode
    (``__lambda__``) is never run: it becomes a function without source, which loading refuses."""
    if not isinstance(value, dict) or not isinstance(value.get("class_name"), str):
        return value
    if value["class_name"] == "function" and isinstance(value.get("config"), str):
        return {"module": value.get("module"), "qualname": value["config"], "name": value["config"]}
    if value["class_name"] == "__lambda__":
        return {"name": "<lambda>", "source": "", "module": None}
    return value


def _keras_named_function(value: Any) -> Any:
    """The inverse of :func:`_keras_function` for an importable function: Keras's ``{"class_name": "function"}``
    entry, which Keras imports by module and name. Saved source (a ``lambda``) stays loom's: Keras cannot run it."""
    if isinstance(value, dict) and "qualname" in value and isinstance(value.get("module"), str):
        return {"module": value["module"], "class_name": "function", "config": value["qualname"],
                "registered_name": "function"}
    return value


def _is_operation(value: dict) -> bool:
    """A ``keras.ops`` call recorded in a functional graph (see :mod:`loom.models.keras_ops`)."""
    module = value.get("module")
    return isinstance(module, str) and (module.startswith("keras.src.ops.") or module == "keras.src.activations"
                                        ".activations") and value.get("registered_name") == value["class_name"]


def _missing_builtin(value: dict, custom_objects: dict | None) -> bool:
    """A Keras built-in class (module ``keras.*``, no custom registration) that loom has no class for."""
    module, class_name = value.get("module"), value["class_name"]
    if not (isinstance(module, str) and module.split(".")[0] == "keras") or value.get("registered_name") not in (
            None, class_name) or class_name in _TAGS or class_name in _DTYPE_POLICIES:
        return False
    if class_name in (custom_objects or {}) or class_name in ("Functional", "Sequential", "Model"):
        return False
    return find_class(_CLASS_ALIASES.get(class_name, class_name)) is None


def _is_object(value: dict) -> bool:
    return isinstance(value.get("class_name"), str) and "config" in value


def _policy(entry: dict) -> Any:
    """A Keras dtype policy entry in loom's schema: a float policy becomes its name; a quantized policy or a
    ``DTypePolicyMap`` stays the entry, which a loom layer's ``dtype`` takes (:mod:`loom.dtype_policies`)."""
    config = entry.get("config")
    if entry["class_name"] in _FLOAT_POLICIES and not (isinstance(config, dict) and config.get("name") is None):
        return _dtype_name(entry)
    return entry


def _dtype_name(policy: dict) -> Any:
    config = policy.get("config")
    name = config.get("name") if isinstance(config, dict) else None
    if not isinstance(name, str):
        raise ConfigError(f"A Keras DTypePolicy needs a string config.name, got {config!r:.100}.")
    return name


def _fit_config(entry: dict, config: dict, custom_objects: dict | None) -> dict:
    """``config`` without the Keras-only keys the loom class does not take (refused unless at default)."""
    name = entry.get("registered_name") or entry["class_name"]
    cls = (custom_objects or {}).get(name) or (custom_objects or {}).get(name.split(">")[-1])
    if cls is None:
        found = find_class(name)
        cls = found[2] if found else None
    if cls is None or not inspect.isclass(cls) or "from_config" in _own_from_config(cls):
        return config
    keys = accepted_keys(cls)
    if keys is None:
        return config
    own_kwargs = _user_kwargs(cls)
    out = {}
    for key, val in config.items():
        if key in keys:
            out[key] = val
        elif own_kwargs and not _is_default(key, val, config):
            out[key] = val  # the user's **kwargs may take it for something else (a layer it builds), as in Keras
        elif not _is_default(key, val, config):
            raise ConfigError(f"{entry['class_name']} '{config.get('name', '?')}' sets {key}={val!r:.80}, which "
                              f"loom's {cls.__name__} does not support (it takes {sorted(keys)[:40]}).")
    return out


def _user_kwargs(cls: type) -> bool:
    """Whether a user's class (outside loom) takes ``**kwargs`` in its ``__init__``: it may hand them to a layer it
    builds (PixelCNN's ``PixelConvLayer(mask_type, **conv_kwargs)``) rather than up to loom's ``Layer``."""
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass.__module__.startswith(("loom.", "torch")) or klass is object:
            continue
        if any(p.kind is p.VAR_KEYWORD for p in inspect.signature(init).parameters.values()):
            return True
    return False


def _own_from_config(cls: type) -> set[str]:
    """``{"from_config"}`` when ``cls`` checks its config itself (models; optimizers, which accept Keras's
    options at their defaults), so keys are left alone."""
    from loom.models.functional import Model
    from loom.optimizers.optimizer import Optimizer
    return {"from_config"} if issubclass(cls, (Model, Optimizer)) else set()


def _is_default(key: str, value: Any, config: dict) -> bool:
    if key in _IGNORED_WITH and not config.get(_IGNORED_WITH[key]):
        return True
    if key in _KERAS_DEFAULTS:
        return value == _KERAS_DEFAULTS[key] or value is None
    return value is None


# ------------------------------------------------------------------------------------------ loom → Keras
def to_keras(value: Any, kind: str | None = None, depth: int = 0) -> Any:
    """A loom-schema value in Keras's schema (objects get ``module`` and ``registered_name``).

    Args:
        value: a loom entry, config dict or JSON value.
        kind: the family the top object belongs to (``"layer"``, ``"optimizer"``, ``"loss"``, ``"metric"``...)
            when it is known from context (default ``None``: looked up by class name).
    """
    if depth > _MAX_DEPTH:
        raise ConfigError(f"The config is nested more than {_MAX_DEPTH} levels deep.")
    if isinstance(value, list):
        return [to_keras(v, None, depth + 1) for v in value]
    if not isinstance(value, dict):
        return value
    if _is_object(value) and value["class_name"] == "__tuple__" and isinstance(value.get("config"), dict):
        return to_keras(value["config"].get("value"), None, depth + 1)  # Keras writes a tuple argument as a list
    if not _is_object(value) or value["class_name"] in _TAGS:
        return {k: to_keras(v, None, depth + 1) for k, v in value.items()}
    out = {k: to_keras(v, None, depth + 1) for k, v in value.items()}
    out.update(_keras_identity(value, kind))
    if out["class_name"] == "Lambda" and isinstance(out.get("config"), dict):
        out["config"] = {k: _keras_named_function(v) if k in ("function", "output_shape", "mask") else v
                         for k, v in out["config"].items()}
    refused = _KERAS_REFUSES.get(out["class_name"], ())
    if refused and isinstance(out.get("config"), dict):
        out["config"] = {k: v for k, v in out["config"].items() if k not in refused}
    return out


def _keras_identity(entry: dict, kind: str | None) -> dict:
    """Keras's ``module``, ``class_name`` and ``registered_name`` for a loom object entry."""
    class_name = entry["class_name"]
    registered = entry.get("registered_name")
    if isinstance(registered, str) and ">" in registered:
        package, name = registered.split(">", 1)
        from loom.models.keras_ops import MODULES, PACKAGE
        if package == PACKAGE:
            return {"module": MODULES.get(name), "class_name": name, "registered_name": name}
        if package == entry.get("module") and find_custom(registered) is None:
            # An unregistered class ('module>Qual.Name'): Keras names it by its bare class name, which is what
            # its custom_objects={"Name": cls} looks up.
            bare = name.split(".")[-1]
            return {"module": package, "class_name": bare, "registered_name": bare}
        return {"module": entry.get("module") or package, "class_name": name, "registered_name": registered}
    if class_name in ("Model", "Functional"):
        return {"module": "keras.src.models.functional", "class_name": "Functional",
                "registered_name": "Functional"}
    if class_name == "Sequential":
        return {"module": "keras.src.models.sequential", "class_name": "Sequential",
                "registered_name": "Sequential"}
    found = find_class(class_name, kind) or find_class(class_name)
    keras_module = getattr(found[2], "_keras_module", None) if found else None
    if keras_module:  # a class Keras defines outside keras.layers (e.g. an application's LayerScale)
        return {"module": keras_module, "class_name": class_name, "registered_name": class_name}
    module = found[1] if found else entry.get("module")
    return {"module": module, "class_name": _KERAS_CLASS_NAMES.get(class_name, class_name),
            "registered_name": class_name if found and found[0] == "optimizer" else None}


# ---------------------------------------------------------------------------------------- compile configs
def compile_config_to_keras(config: dict | None) -> dict | None:
    """loom's saved compile config in Keras's schema (loom-only keys dropped)."""
    if not isinstance(config, dict):
        return None
    out = {k: v for k, v in config.items() if k not in _LOOM_ONLY_KEYS}
    out["optimizer"] = to_keras(out.get("optimizer"), "optimizer")
    out["loss"] = _map_nested(out.get("loss"), lambda v: _compile_entry_to_keras(v, "loss"))
    for key in ("metrics", "weighted_metrics"):
        out[key] = _map_nested(out.get(key), lambda v: _compile_entry_to_keras(v, "metric"))
    return out


def _compile_entry_to_keras(value: Any, kind: str) -> Any:
    """A loss or metric of loom's compile config as Keras writes it (a custom function's name as its entry)."""
    from loom.training.saved_functions import to_keras_entry
    return to_keras(value, kind) if isinstance(value, dict) else to_keras_entry(value, kind)


def compile_config_from_keras(config: Any, custom_objects: dict | None = None) -> dict | None:
    """A Keras compile config as loom's ``compile_from_config`` takes it (unknown top-level keys dropped)."""
    if not isinstance(config, dict):
        return None
    allowed = {"optimizer", "loss", "loss_weights", "metrics", "weighted_metrics", "run_eagerly",
               "steps_per_execution", "jit_compile", "auto_scale_loss"}
    out = {k: from_keras(v, custom_objects) for k, v in config.items() if k in allowed}
    if out.get("jit_compile") == "auto":
        out["jit_compile"] = False
    if custom_objects:
        for key in ("loss", "metrics", "weighted_metrics"):
            out[key] = _custom_functions(out.get(key), custom_objects)
    return out


def _custom_functions(value: Any, custom_objects: dict, depth: int = 0) -> Any:
    """Names of custom loss / metric functions (saved by name, as Keras saves them) as the functions that
    ``custom_objects`` gives for them; other values unchanged."""
    if depth > _MAX_DEPTH:
        raise ConfigError(f"The compile config is nested more than {_MAX_DEPTH} levels deep.")
    if isinstance(value, str):
        return custom_objects.get(value, value)
    if isinstance(value, dict) and value.get("class_name") == "function" and isinstance(value.get("config"), str):
        return custom_objects.get(value["config"], value)  # Keras 3's entry for a function saved by name
    if isinstance(value, list):
        return [_custom_functions(v, custom_objects, depth + 1) for v in value]
    if isinstance(value, dict) and not _is_object(value):
        return {k: _custom_functions(v, custom_objects, depth + 1) for k, v in value.items()}
    return value


def _map_nested(value: Any, fn, depth: int = 0) -> Any:
    if depth > _MAX_DEPTH:
        raise ConfigError(f"The compile config is nested more than {_MAX_DEPTH} levels deep.")
    if isinstance(value, dict) and not _is_object(value):
        return {k: _map_nested(v, fn, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_nested(v, fn, depth + 1) for v in value]
    return fn(value) if isinstance(value, (dict, str)) else value

"""Creating and tracking a layer's weights: ``Layer.add_weight`` and attribute assignment of variables/metrics.

``add_weight`` takes Keras 3's arguments (or Keras 2's, name first), initializes the value in Keras's shape
and stores it in the layer's layout as a :class:`~loom.variables.Variable`: a parameter when trainable, a
buffer otherwise. ``layer.w = layer.add_weight(...)`` registers the weight under the attribute's name;
a free :class:`~loom.variables.Variable` assigned to an attribute becomes a weight, a metric becomes one of
``Model.metrics``, as Keras tracks them.

Example:
    >>> import torch, loom
    >>> layer = loom.layers.Layer(name="layer")
    >>> w = create_weight(layer, (), {"shape": (2,), "initializer": "ones"})
    >>> w.name, w.path, [n for n, _ in layer.named_parameters()]
    ('variable', 'layer/variable', ['variable'])
"""

from __future__ import annotations

from typing import Any

import torch

from loom import backend, initializers, regularizers
from loom.errors import ConfigError
from loom.variables import Variable


def create_weight(layer: Any, args: tuple, kwargs: dict) -> Variable:
    """``layer.add_weight(*args, **kwargs)`` (see :meth:`loom.layers.Layer.add_weight`)."""
    spec = _weight_arguments(args, kwargs, type(layer).__name__)
    name = spec["name"] or _auto_weight_name(layer)
    dtype = backend.torch_dtype(spec["dtype"]) if spec["dtype"] is not None else layer._dtype
    initializer = spec["initializer"]
    if initializer is None:
        initializer = "glorot_uniform" if dtype.is_floating_point else "zeros"
    shape = tuple(int(d) for d in (spec["shape"] or ()))
    init = initializers.get(initializer)
    # a layer first called inside fit / predict on a GPU gets its weights there (loom's device scope)
    value = torch.as_tensor(init(shape, dtype=dtype), device=backend.scope_device())
    value = layer.weight_from_keras(name, value).contiguous()
    trainable = bool(spec["trainable"])
    weight = Variable._of_layer(value, name, layer, trainable=trainable and layer._trainable)
    if trainable:
        layer.register_parameter(name, weight)
        layer._trainable_names.append(name)
    else:
        layer.register_buffer(name, weight)
        layer._non_trainable_names.append(name)
    reg = regularizers.get(spec["regularizer"])
    if reg is not None:
        layer._regularizers[name] = reg
    if spec["constraint"] is not None:
        from loom import constraints
        constraints.register(layer, name, spec["constraint"])
    return weight


def _auto_weight_name(layer: Any) -> str:
    taken = set(layer._trainable_names + layer._non_trainable_names)
    taken |= {getattr(t, "name", None) for _, t in layer._own_weights()}
    name, i = "variable", 0
    while name in taken or name in layer.__dict__ or name in layer._modules:
        i += 1
        name = f"variable_{i}"
    return name


def track_variable(layer: Any, name: str, value: Variable) -> bool:
    """``layer.<name> = value`` for a :class:`Variable`: a weight made by ``add_weight`` is registered again
    under the attribute's name (so torch and shape inference see one name); a new one becomes a weight, as
    in Keras. Returns whether the assignment was handled here."""
    for registry in (layer._parameters, layer._buffers):
        for key, registered in registry.items():
            if registered is value:
                if key != name:
                    _rename_weight(layer, registry, key, name)
                return True
    if name in layer._trainable_names or name in layer._non_trainable_names:
        return False
    if value.requires_grad:
        layer.register_parameter(name, value)
        layer._trainable_names.append(name)
    else:
        layer.register_buffer(name, value)
        layer._non_trainable_names.append(name)
    return True


def _rename_weight(layer: Any, registry: dict, old: str, new: str) -> None:
    """Register weight ``old`` as ``new`` in place (same order); its Keras ``name`` does not change."""
    if new in layer._trainable_names or new in layer._non_trainable_names or new in registry:
        raise ConfigError(f"Layer '{layer.name}' already has a weight named {new!r}.")
    items = [(new if k == old else k, v) for k, v in registry.items()]
    registry.clear()
    registry.update(items)
    for names in (layer._trainable_names, layer._non_trainable_names):
        if old in names:
            names[names.index(old)] = new
    for table in (layer._regularizers, layer.__dict__.get("_constraints", {})):
        if old in table:
            table[new] = table.pop(old)


_KERAS_WEIGHT_ARGS = ("shape", "initializer", "dtype", "trainable", "autocast", "regularizer", "constraint",
                      "aggregation", "overwrite_with_gradient", "name")
_KERAS2_WEIGHT_ARGS = ("name", "shape", "initializer", "regularizer", "trainable", "dtype", "constraint")


def _weight_arguments(args: tuple, kwargs: dict, owner: str) -> dict:
    """``add_weight``'s arguments by name, from Keras 3's order or (a string first) Keras 2's."""
    order = _KERAS2_WEIGHT_ARGS if args and isinstance(args[0], str) else _KERAS_WEIGHT_ARGS
    if len(args) > len(order):
        raise ConfigError(f"{owner}.add_weight() takes at most {len(order)} positional arguments ({order}); "
                          f"got {len(args)}.")
    spec = dict(zip(order, args))
    for key, value in kwargs.items():
        if key not in _KERAS_WEIGHT_ARGS:
            raise ConfigError(f"{owner}.add_weight(): unexpected argument {key!r}. Valid: {list(_KERAS_WEIGHT_ARGS)}.")
        if key in spec:
            raise ConfigError(f"{owner}.add_weight(): argument {key!r} given twice.")
        spec[key] = value
    defaults = {"shape": None, "initializer": None, "dtype": None, "trainable": True, "regularizer": None,
                "constraint": None, "name": None}
    return {**defaults, **spec}


def track_metric(layer: Any, value: Any) -> None:
    """Metrics assigned as attributes are listed by ``Model.metrics`` (as Keras tracks them)."""
    from loom.metrics.metric import Metric
    if isinstance(value, Metric):
        tracked = layer.__dict__.setdefault("_tracked_metrics", [])
        if not any(m is value for m in tracked):
            tracked.append(value)

"""Model configs: a functional or sequential model as plain JSON data, and back, in Keras 3's layout.

A functional config lists every layer (Keras order) with the calls that connect it::

    {"name": "functional", "trainable": true,
     "layers": [{"module", "class_name", "registered_name", "config", "name",
                 "inbound_nodes": [{"args": [...], "kwargs": {...}}, ...]}, ...],
     "input_layers": ["a", 0, 0]  |  [[...], ...]  |  {"key": [...], ...},
     "output_layers": same forms}

Each inbound node is one call of the layer. A tensor argument is written
``{"class_name": "__keras_tensor__", "config": {"shape", "dtype", "keras_history": [layer, node, index]}}``:
the ``index``-th output of the ``node``-th call (counted within this model) of ``layer``. Tuples are
``{"class_name": "__tuple__", "config": {"value": [...]}}``, slices (keys of ``x[1:3]``) ``{"class_name":
"__slice__", "config": {"start", "stop", "step"}}``, ``...`` ``{"class_name": "__ellipsis__", "config": {}}`` and
constant arrays (``x * np.array([...])``) ``{"class_name": "__numpy__"`` (or ``"__tensor__"``) ``, "config":
{"value": [...], "dtype"}}``, as Keras writes them; other arguments are plain JSON. A shared layer
has one node per call; a nested model is a layer whose ``config`` is its own model config.

A sequential config is ``{"name", "trainable", "layers": [InputLayer entry, layer entries...],
"build_input_shape"}``.

Example:
    >>> import loom
    >>> x = loom.Input((4,), name="x")
    >>> model = loom.Model(x, loom.layers.Dense(2, name="out")(x))
    >>> config = model.get_config()
    >>> [layer["name"] for layer in config["layers"]], config["output_layers"]
    (['x', 'out'], ['out', 0, 0])
    >>> loom.Model.from_config(config).output_shape
    (None, 2)
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
import torch

from loom import backend, structure
from loom.errors import ConfigError
from loom.layers.input_layer import InputLayer
from loom.saving import deserialize_loom_object, serialize_loom_object, to_json_value
from loom.symbolic import SymbolicTensor

TENSOR_TAG = "__keras_tensor__"
TUPLE_TAG = "__tuple__"
SLICE_TAG = "__slice__"
ELLIPSIS_TAG = "__ellipsis__"
ARRAY_TAGS = ("__numpy__", "__tensor__")
_MAX_DEPTH = 64


# --------------------------------------------------------------------------------------- functional: write
def functional_config(model) -> dict:
    """The config of a functional ``Model`` (see the module docstring).

    Raises:
        ConfigError: the model has no graph (a subclassed model must override ``get_config``), or a layer
            or call argument cannot be written as JSON.
    """
    if not model.is_graph_network:
        raise ConfigError(f"Model '{model.name}' is a subclassed model without a functional graph, so it has no "
                          f"automatic config: override get_config()/from_config() and register the class with "
                          f"@loom.saving.register_loom_serializable(), or save only its weights (save_weights).")
    own_nodes = set(model._nodes)
    node_index = _reindex_nodes(model.layers, own_nodes)
    layers = []
    for layer in model.layers:
        entry = serialize_loom_object(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = [] if isinstance(layer, InputLayer) else [
            _serialize_node(node, node_index) for node in layer._inbound_nodes if node in own_nodes]
        layers.append(entry)
    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "input_layers": _io_config(model._inputs, model._input_kind, model._input_keys, node_index),
            "output_layers": _io_config(model._outputs, model._output_kind, model._output_keys, node_index)}


def _reindex_nodes(layers: list, own_nodes: set) -> dict:
    """Each node's position among its layer's calls that belong to this model."""
    index = {}
    for layer in layers:
        kept = 0
        for node in layer._inbound_nodes:
            if node in own_nodes:
                index[node] = kept
                kept += 1
    return index


def _tensor_history(t: SymbolicTensor, node_index: dict) -> list:
    if t.node not in node_index:
        raise ConfigError(f"{t} comes from outside the model's graph and cannot be saved.")
    return [t.node.layer.name, node_index[t.node], t.index]


def _serialize_node(node, node_index: dict) -> dict:
    where = f"a call of layer '{node.layer.name}'"

    def encode(value: Any, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise ConfigError(f"{where}: arguments nested more than {_MAX_DEPTH} levels deep.")
        if isinstance(value, SymbolicTensor):
            return {"class_name": TENSOR_TAG, "config": {"shape": list(value.shape), "dtype": value.dtype,
                                                        "keras_history": _tensor_history(value, node_index)}}
        if isinstance(value, slice):
            return {"class_name": SLICE_TAG, "config": {k: to_json_value(getattr(value, k), f"{where}: a slice")
                                                       for k in ("start", "stop", "step")}}
        if value is Ellipsis:
            return {"class_name": ELLIPSIS_TAG, "config": {}}
        if isinstance(value, np.ndarray) or isinstance(value, torch.Tensor) and not value.requires_grad:
            return _encode_array(value, where)  # a constant (a weight would be saved frozen, so it is refused)
        if isinstance(value, tuple):
            return {"class_name": TUPLE_TAG, "config": {"value": [encode(v, depth + 1) for v in value]}}
        if isinstance(value, list):
            return [encode(v, depth + 1) for v in value]
        if isinstance(value, dict):
            return {k: encode(v, depth + 1) for k, v in _check_str_keys(value, where).items()}
        return to_json_value(value, f"{where}: argument")

    kwargs = dict(node.call_kwargs)
    if node.training is not None:  # an explicit `training=` of the call (base_model(x, training=False)), as Keras
        kwargs["training"] = node.training
    return {"args": [encode(a) for a in node.call_args], "kwargs": encode(kwargs)}


def _encode_array(value: np.ndarray | torch.Tensor, where: str) -> Any:
    if value.ndim == 0 and isinstance(value, np.ndarray):  # Keras writes a 0-d array as a number, a tensor tagged
        return to_json_value(value.item(), f"{where}: argument")
    return {"class_name": ARRAY_TAGS[isinstance(value, torch.Tensor)],
            "config": {"value": to_json_value(value.tolist(), f"{where}: an array argument"),
                       "dtype": backend.dtype_name(backend.torch_dtype(value.dtype))}}


def _check_str_keys(value: dict, where: str) -> dict:
    bad = [k for k in value if not isinstance(k, str)]
    if bad:
        raise ConfigError(f"{where}: dictionary keys must be strings to be saved, got {bad[:3]}.")
    return value


def _io_config(tensors: list, kind: str, keys: list | None, node_index: dict) -> Any:
    refs = [_tensor_history(t, node_index) for t in tensors]
    if kind == "single":
        return refs[0]
    if kind == "dict":
        return dict(zip(keys, refs))
    return refs


# ---------------------------------------------------------------------------------------- functional: read
def functional_from_config(cls: type, config: dict, custom_objects: dict | None = None, safe_mode: bool = True):
    """Rebuild a functional model of class ``cls`` from :func:`functional_config`'s output.

    Layer classes are resolved through the registry only (``custom_objects`` first).

    Raises:
        UnsafeLoadError: a class is not registered (or is a ``Lambda``) while ``safe_mode`` is on.
        ConfigError: the config is malformed (wrong types, unknown layer references, unreachable calls).
    """
    import loom.models.keras_ops  # noqa: F401 - registers Keras's recorded operations (keras_ops>Add...)
    _expect(config, dict, "the model config")
    entries = _expect(config.get("layers"), list, "the model config's 'layers'")
    layers: dict[str, Any] = {}
    pending: dict[str, deque] = {}
    produced: dict[tuple, list] = {}
    for i, entry in enumerate(entries):
        _expect(entry, dict, f"layers[{i}]")
        if isinstance(entry.get("config"), dict) and "name" not in entry["config"] and "name" in entry:
            entry = {**entry, "config": {**entry["config"], "name": entry["name"]}}  # Keras's ExtractPatches
        layer = deserialize_loom_object(entry, custom_objects, safe_mode)
        if entry.get("name", layer.name) != layer.name:
            raise ConfigError(f"layers[{i}] is named {entry.get('name')!r} but its config says {layer.name!r}.")
        if layer.name in layers:
            raise ConfigError(f"Two layers are named {layer.name!r} in the model config.")
        layers[layer.name] = layer
        nodes = _expect(entry.get("inbound_nodes", []), list, f"layer '{layer.name}' inbound_nodes")
        if isinstance(layer, InputLayer):
            produced[(layer.name, 0)] = [layer.output_tensor]
            nodes = []
        pending[layer.name] = deque(nodes)
    _connect(layers, pending, produced)
    inputs = _resolve_io(config.get("input_layers"), layers, produced, "input_layers")
    outputs = _resolve_io(config.get("output_layers"), layers, produced, "output_layers")
    name = config.get("name")
    if name is not None and not isinstance(name, str):
        raise ConfigError(f"The model name must be a string, got {type(name).__name__}.")
    return cls(inputs=inputs, outputs=outputs, name=name, trainable=bool(config.get("trainable", True)))


def _connect(layers: dict, pending: dict, produced: dict) -> None:
    """Replay every recorded call, each as soon as the tensors it needs exist (Keras's node queue)."""
    calls_made = {name: 1 if isinstance(layer, InputLayer) else 0 for name, layer in layers.items()}
    remaining = sum(len(q) for q in pending.values())
    while remaining:
        progress = False
        for name, queue in pending.items():
            while queue and _is_ready(queue[0], name, layers, produced):
                args, kwargs = _decode_node(queue.popleft(), name, layers, produced)
                outputs = layers[name](*args, **kwargs)
                produced[(name, calls_made[name])] = structure.flatten(outputs)
                calls_made[name] += 1
                remaining -= 1
                progress = True
        if not progress:
            stuck = {name: len(q) for name, q in pending.items() if q}
            raise ConfigError(f"The model config cannot be connected: calls of layers {stuck} need tensors that "
                              f"no call produces (wrong keras_history references or a cycle).")


def _tensor_refs(value: Any, depth: int = 0):
    """Every ``keras_history`` in a node's arguments."""
    if depth > _MAX_DEPTH:
        raise ConfigError(f"Call arguments nested more than {_MAX_DEPTH} levels deep.")
    if isinstance(value, dict):
        if value.get("class_name") == TENSOR_TAG:
            yield _history(value)
            return
        for v in value.values():
            yield from _tensor_refs(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            yield from _tensor_refs(v, depth + 1)


def _history(tagged: dict) -> tuple:
    cfg = tagged.get("config")
    history = cfg.get("keras_history") if isinstance(cfg, dict) else None
    if not _is_ref(history):
        raise ConfigError(f"A tensor argument needs keras_history [layer name, node index, tensor index], got "
                          f"{history!r:.100}.")
    return tuple(history)


def _is_ref(value: Any) -> bool:
    return (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value[1:]))


def _is_ready(node_data: Any, name: str, layers: dict, produced: dict) -> bool:
    _expect(node_data, dict, f"a call of layer '{name}'")
    for layer_name, _, _ in _tensor_refs([node_data.get("args"), node_data.get("kwargs")]):
        if layer_name not in layers:
            raise ConfigError(f"A call of layer '{name}' uses the output of layer {layer_name!r}, which is not in "
                              f"the model. Layers: {list(layers)[:20]}")
    return all(ref[:2] in produced for ref in _tensor_refs([node_data.get("args"), node_data.get("kwargs")]))


def _lookup(ref: tuple, produced: dict, where: str) -> SymbolicTensor:
    outputs = produced.get(ref[:2])
    if outputs is None or ref[2] >= len(outputs):
        raise ConfigError(f"{where} refers to output {ref[2]} of call {ref[1]} of layer '{ref[0]}', which "
                          f"does not exist.")
    return outputs[ref[2]]


def _decode_node(node_data: dict, name: str, layers: dict, produced: dict) -> tuple[list, dict]:
    where = f"A call of layer '{name}'"

    def decode(value: Any) -> Any:
        if isinstance(value, dict):
            tag = value.get("class_name")
            if tag == TENSOR_TAG:
                return _lookup(_history(value), produced, where)
            if tag == TUPLE_TAG:
                inner = value.get("config")
                items = inner.get("value") if isinstance(inner, dict) else None
                return tuple(decode(v) for v in _expect(items, list, f"{where}: a tuple argument"))
            if tag == SLICE_TAG:
                return _slice(value.get("config"), where)
            if tag == ELLIPSIS_TAG:
                return Ellipsis
            if tag in ARRAY_TAGS:
                return _array(tag, value.get("config"), where)
            return {k: decode(v) for k, v in value.items()}
        if isinstance(value, list):
            return [decode(v) for v in value]
        return value

    args = _expect(node_data.get("args", []), list, f"{where}: 'args'")
    kwargs = _expect(node_data.get("kwargs", {}), dict, f"{where}: 'kwargs'")
    if not args:
        raise ConfigError(f"{where} has no positional arguments.")
    return [decode(a) for a in args], {k: decode(v) for k, v in kwargs.items()}


def _slice(config: Any, where: str) -> slice:
    parts = [config.get(k) for k in ("start", "stop", "step")] if isinstance(config, dict) else None
    if parts is None or not all(p is None or isinstance(p, int) and not isinstance(p, bool) for p in parts):
        raise ConfigError(f"{where}: a slice argument needs a config of integer or null start, stop and step, got "
                          f"{config!r:.100}.")
    return slice(*parts)


def _array(tag: str, config: Any, where: str) -> Any:
    """A constant array argument (``np.ndarray`` for ``__numpy__``, a tensor for ``__tensor__``)."""
    try:
        dtype = backend.torch_dtype(config["dtype"])
        value = torch.tensor(config["value"], dtype=dtype)
    except Exception as e:  # noqa: BLE001 - any malformed value is one config error
        raise ConfigError(f"{where}: an array argument needs a config of a nested list 'value' and a 'dtype', "
                          f"got {config!r:.100} ({e}).") from None
    return value.numpy() if tag == ARRAY_TAGS[0] and dtype is not torch.bfloat16 else value


def _resolve_io(spec: Any, layers: dict, produced: dict, what: str) -> Any:
    def one(ref: Any) -> SymbolicTensor:
        if not _is_ref(ref):
            raise ConfigError(f"{what}: expected [layer name, node index, tensor index], got {ref!r:.100}.")
        if ref[0] not in layers:
            raise ConfigError(f"{what} names layer {ref[0]!r}, which is not in the model.")
        return _lookup(tuple(ref), produced, what)

    if _is_ref(spec):
        return one(spec)
    if isinstance(spec, dict) and spec:
        return {k: one(v) for k, v in spec.items()}
    if isinstance(spec, list) and spec:
        return [one(v) for v in spec]
    raise ConfigError(f"The model config's {what} must be a reference, a non-empty list or a dict of them; got "
                      f"{spec!r:.100}.")


def _expect(value: Any, kind: type, what: str) -> Any:
    if not isinstance(value, kind):
        raise ConfigError(f"{what} must be a JSON {'object' if kind is dict else 'array'}, got "
                          f"{type(value).__name__}.")
    return value


# ------------------------------------------------------------------------------------------------ sequential
def sequential_config(model) -> dict:
    """The config of a ``Sequential``: its ``InputLayer`` (when known) then its layers, as Keras 3."""
    entries = [serialize_loom_object(model._input_layer)] if model._input_layer is not None else []
    entries += [serialize_loom_object(layer) for layer in model.layers]
    config = {"name": model.name, "trainable": model.trainable, "layers": entries}
    if model._input_layer is not None:
        config["build_input_shape"] = list(model._input_layer.batch_shape)
    return config


def sequential_from_config(cls: type, config: dict, custom_objects: dict | None = None, safe_mode: bool = True):
    """Rebuild a ``Sequential`` (of class ``cls``) from :func:`sequential_config`'s output.

    Raises:
        UnsafeLoadError: a class is not registered (or is a ``Lambda``) while ``safe_mode`` is on.
        ConfigError: the config is malformed.
    """
    _expect(config, dict, "the Sequential config")
    entries = _expect(config.get("layers", []), list, "the Sequential config's 'layers'")
    name = config.get("name")
    if name is not None and not isinstance(name, str):
        raise ConfigError(f"The model name must be a string, got {type(name).__name__}.")
    model = cls(name=name, trainable=bool(config.get("trainable", True)))
    for i, entry in enumerate(entries):
        _expect(entry, dict, f"layers[{i}]")
        model.add(deserialize_loom_object(entry, custom_objects, safe_mode))
    shape = config.get("build_input_shape")
    if model._input_layer is None and shape is not None:
        _expect(shape, list, "build_input_shape")
        if not all(d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 0) for d in shape):
            raise ConfigError(f"build_input_shape must hold non-negative ints or null, got {shape!r:.100}.")
        model.build(tuple(shape))
    return model

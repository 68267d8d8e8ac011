"""Legacy ``.h5`` full models (Keras 2, tf.keras 2, and Keras 3's ``model.save("m.h5")``): read them.

Such a file keeps the architecture in the root attribute ``model_config`` (JSON), the compile arguments in
``training_config`` and the weights under ``model_weights/<layer name>``, listed in order by each group's
``weight_names`` attribute. The Keras 2 config is first brought to Keras 3's schema (:func:`upgrade_config`:
``batch_input_shape``, ``input_length``, node lists, ``lr``, ``Model``...), then built like a ``.keras``
archive (:mod:`loom.models.keras_archive`), so the same safe rules hold: nothing is imported or run, and
declared array sizes are checked before any array is read. Optimizer state is not restored (Keras 2's
slot variables do not map one to one); training restarts the optimizer.

Example:
    >>> config = {"class_name": "Sequential", "config": {"name": "s", "layers": [{"class_name": "Dense",
    ...           "config": {"units": 2, "batch_input_shape": [None, 3], "name": "d"}}]}}
    >>> upgraded = upgrade_config(config)
    >>> [layer["class_name"] for layer in upgraded["config"]["layers"]]
    ['InputLayer', 'Dense']
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import torch

from loom.errors import ConfigError, ModelFileError

MAX_JSON_BYTES = 64 * 1024 * 1024
_MAX_DEPTH = 64
_VARIANCE_DISTRIBUTIONS = {"normal": "truncated_normal"}  # Keras 2's "normal" was truncated
_DROPPED_KEYS = {"implementation", "time_major", "input_length", "sample_weight_mode"}
_OPTIMIZER_RENAMES = {"lr": "learning_rate"}


# ------------------------------------------------------------------------------------------ config upgrade
def upgrade_config(config: Any, depth: int = 0) -> Any:
    """A Keras 2 ``model_config`` object in Keras 3's schema (Keras 3 configs pass through unchanged)."""
    if depth > _MAX_DEPTH:
        raise ConfigError(f"The model config is nested more than {_MAX_DEPTH} levels deep.")
    if isinstance(config, list):
        return [upgrade_config(v, depth + 1) for v in config]
    if not isinstance(config, dict):
        return config
    out = {k: upgrade_config(v, depth + 1) for k, v in config.items()}
    class_name = out.get("class_name")
    inner = out.get("config")
    if class_name == "Model":
        out["class_name"] = "Functional"
    if class_name == "Sequential" and isinstance(inner, list):  # Keras 2.0-2.2: the layer list itself
        out["config"] = inner = {"name": "sequential", "layers": inner}
    if class_name == "Sequential" and isinstance(inner, dict):
        inner["layers"] = _sequential_layers(inner.get("layers"))
    if class_name == "VarianceScaling" and isinstance(inner, dict):
        inner["distribution"] = _VARIANCE_DISTRIBUTIONS.get(inner.get("distribution"), inner.get("distribution"))
    if class_name == "InputLayer" and isinstance(inner, dict) and "batch_input_shape" in inner:
        inner["batch_shape"] = inner.pop("batch_input_shape")
    if isinstance(inner, dict):
        _upgrade_layer_config(inner)
    if isinstance(out.get("inbound_nodes"), list):
        out["inbound_nodes"] = [_upgrade_node(n) for n in out["inbound_nodes"]]
    return out


def _upgrade_layer_config(config: dict) -> None:
    length = config.get("input_length")
    if isinstance(length, int) and config.get("batch_input_shape") is None and "input_dim" in config:
        config["batch_input_shape"] = [None, length]
    for key in _DROPPED_KEYS & set(config):
        del config[key]
    if isinstance(config.get("axis"), list) and len(config["axis"]) == 1 and "momentum" in config:
        config["axis"] = config["axis"][0]  # tf.keras 2 wrote BatchNormalization's axis as a list


def _sequential_layers(layers: Any) -> Any:
    """Keras 2 Sequential layers: the first one's ``batch_input_shape`` becomes an ``InputLayer``."""
    if not isinstance(layers, list) or not layers or not isinstance(layers[0], dict):
        return layers
    first = layers[0]
    shape = first.get("config", {}).get("batch_input_shape") if isinstance(first.get("config"), dict) else None
    if first.get("class_name") == "InputLayer" or shape is None:
        return layers
    config = dict(first["config"])
    del config["batch_input_shape"]
    dtype = config.get("dtype") if isinstance(config.get("dtype"), str) else "float32"
    if first.get("class_name") == "Embedding":
        dtype = "int32"
    entry = {"class_name": "InputLayer", "config": {"batch_shape": shape, "dtype": dtype}}
    return [entry, {**first, "config": config}] + layers[1:]


def _upgrade_node(node: Any) -> Any:
    """A Keras 2 node (``[[layer, node, tensor, kwargs], ...]``) as Keras 3's ``{"args", "kwargs"}``."""
    if isinstance(node, dict):
        return node
    if not isinstance(node, list) or not node:
        raise ConfigError(f"A Keras 2 inbound node must be a non-empty list, got {node!r:.100}.")
    tensors, kwargs = [], {}
    for ref in node:
        if not (isinstance(ref, list) and len(ref) in (3, 4)):
            raise ConfigError(f"A Keras 2 inbound tensor must be [layer, node, tensor(, kwargs)], got {ref!r:.100}.")
        tensors.append({"class_name": "__keras_tensor__", "config": {"keras_history": list(ref[:3])}})
        if len(ref) == 4 and isinstance(ref[3], dict):
            kwargs.update({k: v for k, v in ref[3].items() if isinstance(v, (bool, int, float, str))})
    return {"args": [tensors[0] if len(tensors) == 1 else tensors], "kwargs": kwargs}


def upgrade_training_config(config: Any) -> dict | None:
    """A Keras 2 ``training_config`` as Keras 3's ``compile_config``."""
    if not isinstance(config, dict):
        return None
    out = {k: v for k, v in config.items() if k not in ("optimizer_config", "sample_weight_mode")}
    optimizer = config.get("optimizer_config")
    if isinstance(optimizer, dict) and isinstance(optimizer.get("config"), dict):
        settings = {_OPTIMIZER_RENAMES.get(k, k): v for k, v in optimizer["config"].items()}
        if not settings.get("decay"):
            settings.pop("decay", None)
        settings.pop("schedule_decay", None)
        if settings.get("epsilon") is None:
            settings.pop("epsilon", None)
        optimizer = {"class_name": optimizer.get("class_name"), "config": settings}
    out["optimizer"] = optimizer
    for key in ("metrics", "weighted_metrics"):
        out[key] = _upgrade_metrics(out.get(key))
    return out


def _upgrade_metrics(value: Any, depth: int = 0) -> Any:
    """tf.keras 2 wrote ``'accuracy'`` as a ``MeanMetricWrapper`` object; its name is what compile takes."""
    if depth > _MAX_DEPTH:
        raise ConfigError(f"The training config is nested more than {_MAX_DEPTH} levels deep.")
    if isinstance(value, list):
        return [_upgrade_metrics(v, depth + 1) for v in value]
    if isinstance(value, dict) and value.get("class_name") == "MeanMetricWrapper":
        config = value.get("config") or {}
        return config.get("name") or config.get("fn")
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _upgrade_metrics(v, depth + 1) for k, v in value.items()}
    return value


# -------------------------------------------------------------------------------------------------- saving
def save_legacy_h5(model: Any, filepath: str, overwrite: bool = True, include_optimizer: bool = True) -> None:
    """Write ``model`` as a legacy ``.h5`` full model (Keras 3's ``model.save("m.h5")`` layout), atomically.

    Keras 3 (``keras.models.load_model``) and loom read it back. Optimizer state is not written.

    Raises:
        ConfigError: the model cannot be described in Keras's schema; nothing is written.
    """
    from loom.io_utils import atomic_write
    from loom.models.keras_archive import KERAS_VERSION, keras_document
    document = keras_document(model, include_optimizer)
    model_config = json.dumps({"class_name": document["class_name"], "config": document["config"]})
    training = document.get("compile_config")
    if training is not None:
        training = {**{k: v for k, v in training.items() if k != "optimizer"},
                    "optimizer_config": {k: training["optimizer"][k] for k in ("class_name", "config")}}

    def write(f: Any) -> None:
        from loom.models.keras_h5 import _h5py, _to_numpy
        from loom.models.weight_map import weight_slots
        with _h5py().File(f, "w") as h5:
            h5.attrs["keras_version"] = KERAS_VERSION
            h5.attrs["backend"] = "torch"
            h5.attrs["model_config"] = model_config
            if training is not None:
                h5.attrs["training_config"] = json.dumps(training)
            group = h5.create_group("model_weights")
            group.attrs["layer_names"] = [layer.name.encode("utf-8") for layer in model.layers]
            for layer in model.layers:
                slots = weight_slots(layer)
                names = [f"{layer.name}/{slot.key}" for slot in slots]
                layer_group = group.create_group(layer.name)
                layer_group.attrs["weight_names"] = [n.encode("utf-8") for n in names]
                for name, slot in zip(names, slots):
                    layer_group.create_dataset(name, data=_to_numpy(slot.to_keras()))

    atomic_write(filepath, write, overwrite=overwrite)


# ------------------------------------------------------------------------------------------------- loading
def load_legacy_h5(filepath: str, custom_objects: dict | None = None, compile: bool = True, safe_mode: bool = True):
    """Rebuild a model from a legacy ``.h5`` full-model file.

    Args:
        filepath: the file.
        custom_objects: ``{name: class}`` for custom classes that are not registered (default ``None``).
        compile: compile the model from its ``training_config`` when there is one (default ``True``).
        safe_mode: refuse ``Lambda`` layers and unregistered classes (default ``True``).

    Raises:
        UnsafeLoadError: a ``Lambda`` or an unregistered class while ``safe_mode`` is on.
        ModelFileError: not a full-model file (e.g. weights only), damaged, hostile or inconsistent.
    """
    from loom.models.keras_h5 import _h5py
    h5py = _h5py()
    try:
        with h5py.File(filepath, "r") as f:
            model_config = _json_attr(f, "model_config", filepath)
            training_config = _json_attr(f, "training_config", filepath) if "training_config" in f.attrs else None
            if model_config is None:
                raise ModelFileError(f"{filepath} is an HDF5 file without a model_config (a weights-only file?); "
                                     f"build the model and call model.load_weights(path).")
            model = _build(model_config, filepath, custom_objects, safe_mode)
            _load_weights(model, f["model_weights"] if "model_weights" in f else f, filepath,
                          os.path.getsize(filepath))
    except (ModelFileError, ConfigError):
        raise
    except Exception as e:  # noqa: BLE001 - h5py raises many types for damaged files
        raise ModelFileError(f"{filepath}: cannot read as a Keras .h5 model: {type(e).__name__}: {e}") from e
    if compile and training_config is not None:
        from loom.models.keras_archive import _compile
        compile_config = upgrade_training_config(training_config)
        if compile_config is not None:
            _compile(model, compile_config, [], filepath, custom_objects)
    return model


def _json_attr(f: Any, name: str, path: str) -> Any:
    if name not in f.attrs:
        return None
    raw = f.attrs[name]
    if isinstance(raw, np.ndarray):
        raw = raw.tobytes()
    if len(raw) > MAX_JSON_BYTES:
        raise ModelFileError(f"{path}: the {name} attribute holds {len(raw)} bytes: refused.")
    try:
        return json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ModelFileError(f"{path}: the {name} attribute is not valid JSON: {e}") from e


def _build(model_config: Any, path: str, custom_objects: dict | None, safe_mode: bool):
    from loom.models.keras_archive import build_model
    from loom.models.saving import _guarded
    return _guarded(path, "cannot rebuild the model from model_config",
                    lambda: build_model(upgrade_config(model_config), custom_objects, safe_mode))


def _names(group: Any, attr: str) -> list[str]:
    values = group.attrs.get(attr, [])
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in np.asarray(values).ravel()]


def _load_weights(model: Any, root: Any, path: str, file_size: int) -> None:
    """Every layer's arrays (listed by ``weight_names``) into the layer's weights, in order; all checked
    before any is copied."""
    from loom.models.keras_h5 import MAX_H5_RATIO
    from loom.models.weight_map import weight_slots
    layers = {layer.name: layer for layer in model.layers}
    updates, declared = [], 0
    names = [n for n in _names(root, "layer_names") if n != "top_level_model_weights"]
    for name in names:
        group = root[name]
        weight_names = _names(group, "weight_names")
        slots = weight_slots(layers[name]) if name in layers else None
        if slots is None:
            if weight_names:
                raise ModelFileError(f"{path}: the file has weights for layer {name!r}, which the model does not have.")
            continue
        if len(weight_names) != len(slots):
            raise ModelFileError(f"{path}: layer {name!r} has {len(weight_names)} weights in the file but "
                                 f"{len(slots)} in the model.")
        for slot, weight_name in zip(slots, weight_names):
            dataset = group[weight_name]
            if dataset.dtype.kind not in "fiub":
                raise ModelFileError(f"{path}: weight {weight_name!r} has dtype {dataset.dtype}, not a number.")
            if tuple(dataset.shape) != slot.keras_shape():
                raise ModelFileError(f"{path}: weight {weight_name!r} of layer {name!r} has shape "
                                     f"{tuple(dataset.shape)}, the model expects {slot.keras_shape()}.")
            declared += int(np.prod(dataset.shape, dtype=np.float64)) * dataset.dtype.itemsize
            if declared > MAX_H5_RATIO * file_size + (16 << 20):
                raise ModelFileError(f"{path}: its arrays declare more bytes than the file could hold: refused.")
            updates.append((slot, dataset))
    missing = [n for n, layer in layers.items() if n not in names and weight_slots(layer)]
    if missing:
        raise ModelFileError(f"{path}: no weights in the file for layers {missing[:20]}.")
    values = [(slot, slot.from_keras(torch.from_numpy(np.ascontiguousarray(d[()])))) for slot, d in updates]
    with torch.no_grad():
        for slot, value in values:
            slot.tensor.copy_(value.to(dtype=slot.tensor.dtype, device=slot.tensor.device))

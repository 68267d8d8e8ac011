"""Keras 3 ``.keras`` archives, read and written: a model moves whole between Keras and loom.

A ``.keras`` file is a zip holding ``metadata.json``, ``config.json`` (the model object in Keras's schema
with its ``compile_config`` and ``build_config``) and ``model.weights.h5`` (weights under
``layers/<name>/vars/<i>``, optimizer state under ``optimizer/vars/<i>``). Config translation lives in
:mod:`loom.models.keras_config`, weight names in :mod:`loom.models.weight_map`, optimizer order in
:mod:`loom.models.keras_optimizer_state`.

Loading follows loom's safe rules: nothing is imported or executed from the file (classes come from loom's
registry and ``custom_objects``; ``Lambda`` and unknown classes need ``safe_mode=False``), entry names and
sizes are checked before anything is decompressed, and HDF5 arrays are size-checked before they are read.

Example:
    >>> import os, tempfile, numpy as np, loom
    >>> model = loom.Sequential([loom.layers.Dense(2, input_shape=(3,))])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.keras")
    >>> save_keras_archive(model, path)
    >>> restored = load_keras_archive(path)
    >>> x = np.ones((1, 3), "float32")
    >>> bool(np.allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0)))
    True
"""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from typing import Any

import torch

from loom.errors import ConfigError, ModelFileError
from loom.io_utils import atomic_write, parse_json_object, read_zip_entries
from loom.models import keras_config
from loom.models.keras_h5 import match_h5_weights, read_h5_arrays, write_h5_weights
from loom.models.keras_optimizer_state import optimizer_arrays, restore_optimizer_arrays
from loom.models.weight_map import layer_groups, weight_slots
from loom.symbolic import SymbolicTensor
from loom.training.saved_functions import compile_saved

CONFIG_NAME = "config.json"
METADATA_NAME = "metadata.json"
WEIGHTS_NAME = "model.weights.h5"
ENTRIES = frozenset({CONFIG_NAME, METADATA_NAME, WEIGHTS_NAME})
ASSETS_PREFIX = "assets/"
KERAS_VERSION = "3.15.1"
MAX_JSON_BYTES = 64 * 1024 * 1024
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)
_OPTIMIZER_GROUP = "optimizer/vars/"


# -------------------------------------------------------------------------------------------------- saving
def keras_document(model: Any, include_optimizer: bool = True) -> dict:
    """The ``config.json`` object Keras writes for ``model``.

    Raises:
        ConfigError: a layer cannot be described in Keras's schema (e.g. a ``TorchModuleWrapper``).
    """
    from loom.saving import serialize_loom_object
    document = keras_config.to_keras(serialize_loom_object(model), "layer")
    document["build_config"] = _build_config(model)
    compile_config = getattr(model, "_compile_config", None) if getattr(model, "compiled", False) else None
    document["compile_config"] = keras_config.compile_config_to_keras(compile_config) if include_optimizer else None
    return document


def _build_config(model: Any) -> dict:
    from loom.models.sequential import Sequential
    layer = getattr(model, "_input_layer", None)
    if isinstance(model, Sequential) and layer is not None:
        return {"input_shape": list(layer.batch_shape)}
    built_on = getattr(model, "_build_inputs", None)
    if not model.is_graph_network and isinstance(built_on, SymbolicTensor):  # a subclassed model, called once
        return {"input_shape": [None, *built_on.shape[1:]]}
    return {"input_shape": None}


def _build_from_config(model: Any, build_config: Any) -> None:
    """Create a subclassed model's weights as Keras's ``build_from_config`` does: one call on zeros of the
    saved input shape (batch 1), before the weights are loaded; other models are built by their config."""
    if model.is_graph_network or model.built or not isinstance(build_config, dict):
        return
    shape = build_config.get("input_shape")
    if not isinstance(shape, list) or not shape or not all(d is None or isinstance(d, int) and d >= 0
                                                           for d in shape):
        return
    with torch.no_grad():
        model(torch.zeros([1 if d is None else d for d in shape]), training=False)


def save_keras_archive(model: Any, filepath: str, overwrite: bool = True, include_optimizer: bool = True) -> None:
    """Write ``model`` as a Keras 3 ``.keras`` archive that ``keras.models.load_model`` opens, atomically.

    Args:
        model: a functional or ``Sequential`` model (custom classes need a Keras-side registration).
        filepath: where to write.
        overwrite: replace an existing file (default ``True``); else raise ``FileExistsError``.
        include_optimizer: also write the compile config and optimizer state (default ``True``).

    Raises:
        ConfigError: the model cannot be described in Keras's schema; nothing is written.
    """
    from loom import __version__
    document = keras_document(model, include_optimizer)
    config_bytes = json.dumps(document, allow_nan=True).encode("utf-8")
    metadata = {"keras_version": KERAS_VERSION, "date_saved": "1980-01-01@00:00:00", "loom_version": __version__}
    optimizer = None
    if include_optimizer and document["compile_config"] is not None:
        arrays = optimizer_arrays(model)
        optimizer = (model.optimizer.name, arrays) if arrays else None
    weights = io.BytesIO()
    write_h5_weights(weights, model, optimizer)
    entries = ((METADATA_NAME, json.dumps(metadata).encode("utf-8")), (CONFIG_NAME, config_bytes),
               (WEIGHTS_NAME, weights.getvalue()))
    atomic_write(filepath, lambda f: _write_zip(f, entries), overwrite=overwrite)


def _write_zip(f, entries) -> None:
    with zipfile.ZipFile(f, "w") as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
            info.compress_type = zipfile.ZIP_STORED if name == WEIGHTS_NAME else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)


# ------------------------------------------------------------------------------------------------- loading
def read_keras_entries(path: str) -> dict[str, bytes]:
    """The entries of a ``.keras`` archive, names and sizes checked before decompression.

    Raises:
        ModelFileError: other entries (assets, traversal paths...), or damaged / out-of-proportion entries.
    """
    def check(names: list[str]) -> None:
        if len(set(names)) != len(names) or not is_keras_archive(names):
            raise ModelFileError(f"{path}: unexpected archive entries {sorted(names)[:10]}; a .keras model file "
                                 f"holds {sorted(ENTRIES)} and lookup vocabularies under assets/layers/<name>/.")
    return read_zip_entries(path, check, lambda name: MAX_JSON_BYTES if name.endswith((".json", ".txt")) else None)


def is_keras_archive(names: list[str]) -> bool:
    main = {n for n in names if not n.startswith(ASSETS_PREFIX)}
    return {CONFIG_NAME, WEIGHTS_NAME} <= main <= ENTRIES and all(_is_asset(n) for n in set(names) - main)


def _is_asset(name: str) -> bool:
    """An asset entry loom reads: ``assets/layers/<layer>/<file>.txt`` (Keras's lookup vocabularies), or a folder."""
    parts = name.split("/")
    if name.endswith("/"):
        return all(p and p not in (".", "..") for p in parts[:-1])
    return (len(parts) >= 4 and parts[1] == "layers" and parts[-1].endswith(".txt")
            and all(p and p not in (".", "..") and "\\" not in p for p in parts))


def _load_assets(model: Any, entries: dict[str, bytes]) -> None:
    """Hand each layer the files Keras saved for it under ``assets/<its weight path>/`` (lookup vocabularies)."""
    by_group: dict[str, dict[str, bytes]] = {}
    for name, data in entries.items():
        if name.startswith(ASSETS_PREFIX) and not name.endswith("/"):
            group, _, file_name = name[len(ASSETS_PREFIX):].rpartition("/")
            by_group.setdefault(group, {})[file_name] = data
    for group in layer_groups(model):
        files = by_group.get(group.h5_group)
        if files and callable(getattr(group.layer, "load_assets", None)):
            group.layer.load_assets(files)


def load_keras_archive(filepath: str, custom_objects: dict | None = None, compile: bool = True,
                       safe_mode: bool = True):
    """Rebuild a model from a Keras 3 ``.keras`` archive (architecture, weights, compile state).

    Args:
        filepath: the archive.
        custom_objects: ``{name: class}`` for custom classes that are not registered (default ``None``).
        compile: compile the model as it was saved and restore the optimizer state (default ``True``).
        safe_mode: refuse ``Lambda`` layers and unregistered classes (default ``True``).

    Raises:
        UnsafeLoadError: a ``Lambda`` or an unregistered class while ``safe_mode`` is on.
        ModelFileError: the file is damaged, hostile, or describes something loom cannot build.
    """
    entries = read_keras_entries(filepath)
    document = parse_json_object(entries[CONFIG_NAME], filepath, CONFIG_NAME)
    return load_keras_document(document, entries[WEIGHTS_NAME], filepath, custom_objects, compile, safe_mode,
                               assets=entries, keep_training=_written_by_loom(entries))


def _written_by_loom(entries: dict[str, bytes]) -> bool:
    """Whether ``metadata.json`` names a loom version (Keras's files and unreadable metadata: no)."""
    try:
        return "loom_version" in json.loads(entries.get(METADATA_NAME, b"{}").decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError, TypeError):
        return False


def load_keras_document(document: dict, weights: bytes | str, path: str, custom_objects: dict | None,
                        compile: bool, safe_mode: bool, assets: dict[str, bytes] | None = None,
                        keep_training: bool = False):
    """The model a Keras ``config.json`` object describes, with the weights of a Keras-layout HDF5 file (and
    the lookup vocabularies among ``assets``, the archive's entries). ``keep_training``: the file is loom's,
    whose recorded ``training=`` arguments are the explicit ones (see :func:`keras_config.from_keras`)."""
    from loom.models.saving import _assign, _guarded
    model = _guarded(path, "cannot rebuild the model from config.json",
                     lambda: build_model(document, custom_objects, safe_mode, keep_training))
    _guarded(path, "cannot build the model from its build_config",
             lambda: _build_from_config(model, document.get("build_config")))
    if assets:
        _guarded(path, "cannot read the vocabularies under assets/", lambda: _load_assets(model, assets))
    arrays = read_h5_arrays(weights)
    optimizer = [arrays.pop(p) for p in _optimizer_paths(arrays)]
    arrays = {p: a for p, a in arrays.items() if not p.startswith("optimizer/")}
    tensors, unused = match_h5_weights(arrays, weight_slots(model, with_shared=True))
    _assign(model, tensors, path, False, extra=unused)
    compile_config = document.get("compile_config")
    if compile and isinstance(compile_config, dict):
        _compile(model, compile_config, optimizer, path, custom_objects)
    return model


def build_model(document: Any, custom_objects: dict | None, safe_mode: bool, keep_training: bool = False):
    """The (uncompiled) loom model of a Keras ``config.json`` object (``keep_training``: written by loom)."""
    import loom.models.keras_ops  # noqa: F401 - registers Keras's recorded operations
    from loom.models.functional import Model
    from loom.saving import deserialize_loom_object
    if not isinstance(document, dict):
        raise ConfigError(f"config.json must hold a JSON object, got {type(document).__name__}.")
    entry = keras_config.from_keras({k: v for k, v in document.items() if k not in ("compile_config",)},
                                    custom_objects, keep_training=keep_training)
    model = deserialize_loom_object(entry, custom_objects, safe_mode)
    if not isinstance(model, Model):
        raise ConfigError(f"config.json describes a {type(model).__name__}, not a model.")
    return model


def _optimizer_paths(arrays: dict) -> list[str]:
    paths = [p for p in arrays if p.startswith(_OPTIMIZER_GROUP) and p[len(_OPTIMIZER_GROUP):].isdigit()]
    return sorted(paths, key=lambda p: int(p[len(_OPTIMIZER_GROUP):]))


def _compile(model: Any, compile_config: dict, optimizer: list, path: str, custom_objects: dict | None) -> None:
    """Compile as Keras saved it, then restore the optimizer state.

    A loss or metric function that cannot be found raises :class:`UnknownObjectError`, as Keras raises there;
    other problems only warn (the weights are loaded; an uncompiled model is still usable).
    """
    if not compile_saved(path, custom_objects, lambda: model.compile_from_config(
            keras_config.compile_config_from_keras(compile_config, custom_objects))):
        return
    if optimizer and not restore_optimizer_arrays(model, optimizer):
        warnings.warn(f"{path}: the optimizer state ({len(optimizer)} variables) does not match the optimizer "
                      f"{type(model.optimizer).__name__}; it starts fresh.", stacklevel=3)

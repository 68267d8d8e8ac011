"""The whole state of a ``fit`` between two epochs, as one file: what :class:`BackupAndRestore` writes.

A state file is a zip archive with two entries:

* ``state.json``: the format version, the next epoch to run, ``stop_training``, the learning rate (when it
  is a plain number), the Python and NumPy random states, and each callback's ``state_dict()`` with its
  tensors replaced by ``{"__tensor__": key}`` (``{"__ndarray__": key}`` for NumPy arrays);
* ``state.safetensors``: the model's ``state_dict()`` under ``model/``, the optimizer's
  ``get_state_tensors()`` under ``optimizer/``, the torch CPU and CUDA generator states and those of
  layers with their own generators (seeded ``Dropout``...) under ``rng/``, and the callbacks' tensors
  under ``callbacks/``.

Nothing is pickled. :func:`write_state` writes the file atomically (:func:`loom.io_utils.atomic_write`), so
a process killed at any moment leaves either the previous file or the new one.

Example:
    >>> import os, tempfile, torch, loom
    >>> model = loom.Sequential([loom.layers.Dense(1, input_shape=(2,), name="dense")])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> path = os.path.join(tempfile.mkdtemp(), "state.zip")
    >>> write_state(path, *capture(model, [], next_epoch=3))
    >>> document, tensors = read_state(path)
    >>> document["epoch"], sorted(k for k in tensors if k.startswith("model/"))
    (3, ['model/dense.bias', 'model/dense.kernel'])
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from typing import Any, Iterable

import numpy as np
import torch

from loom.errors import ConfigError, LoomError, ModelFileError
from loom.io_utils import atomic_write, read_bounded
from loom.models import safetensors_io

FORMAT_VERSION = 1
JSON_NAME = "state.json"
TENSORS_NAME = "state.safetensors"
_DATE = (1980, 1, 1, 0, 0, 0)


# ------------------------------------------------------------------------------------------------ capture
def capture(model: Any, callbacks: Iterable[Any], next_epoch: int) -> tuple[dict, dict[str, torch.Tensor]]:
    """``(document, tensors)``: everything needed to continue ``fit`` at ``next_epoch``."""
    tensors: dict[str, torch.Tensor] = {f"model/{k}": v for k, v in model.state_dict().items()}
    document: dict[str, Any] = {"format": "loom-training-state", "format_version": FORMAT_VERSION,
                                "epoch": int(next_epoch), "stop_training": bool(getattr(model, "stop_training", 0))}
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and callable(getattr(optimizer, "get_state_tensors", None)):
        tensors.update({f"optimizer/{k}": v for k, v in optimizer.get_state_tensors().items()})
        if not callable(getattr(optimizer, "_learning_rate", None)):
            document["learning_rate"] = float(optimizer.learning_rate)
    document["rng"] = _capture_rng(model, tensors)
    document["callbacks"] = {key: _split(cb.state_dict(), f"callbacks/{key}", tensors)
                             for key, cb in keyed_callbacks(callbacks)}
    return document, tensors


def keyed_callbacks(callbacks: Iterable[Any]) -> list[tuple[str, Any]]:
    """``[(key, callback)]`` with keys ``'ClassName'``, ``'ClassName_1'``... stable across runs."""
    counts: dict[str, int] = {}
    out = []
    for cb in callbacks:
        name = type(cb).__name__
        n = counts.get(name, 0)
        counts[name] = n + 1
        out.append((name if n == 0 else f"{name}_{n}", cb))
    return out


def _capture_rng(model: Any, tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    tensors["rng/numpy"] = torch.from_numpy(keys.astype(np.int64))
    tensors["rng/torch"] = torch.get_rng_state()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng/cuda/{i}"] = state
    for key, generator in _module_generators(model):
        tensors[f"rng/module/{key}"] = generator.get_state()
    return {"python": [version, list(internal), gauss], "numpy": [kind, int(pos), int(has_gauss), float(cached)]}


def _module_generators(model: Any) -> list[tuple[str, torch.Generator]]:
    """Every ``torch.Generator`` a layer keeps (as an attribute or in a dict by device), with a stable key."""
    out = []
    for module_name, module in model.named_modules():
        for attr, value in vars(module).items():
            if isinstance(value, torch.Generator):
                out.append((f"{module_name}/{attr}", value))
            elif isinstance(value, dict):
                out += [(f"{module_name}/{attr}/{k}", g) for k, g in value.items() if isinstance(g, torch.Generator)]
    return out


def _split(value: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """``value`` as JSON, its tensors and arrays moved into ``tensors`` under keys starting with ``prefix``."""
    if isinstance(value, torch.Tensor):
        tensors[prefix] = value.detach()
        return {"__tensor__": prefix}
    if isinstance(value, np.ndarray):
        tensors[prefix] = torch.from_numpy(np.ascontiguousarray(value))
        return {"__ndarray__": prefix}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ConfigError(f"{prefix}: state_dict() keys must be strings; got {list(value)[:5]}.")
        return {k: _split(v, f"{prefix}/{k}", tensors) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_split(v, f"{prefix}/{i}", tensors) for i, v in enumerate(value)]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ConfigError(f"{prefix}: a callback's state_dict() may hold only JSON values, tensors and NumPy arrays; "
                      f"got a {type(value).__name__}.")


# ------------------------------------------------------------------------------------------------ restore
def restore(model: Any, callbacks: Iterable[Any], document: dict, tensors: dict[str, torch.Tensor],
            source: str) -> None:
    """Put back what :func:`capture` took (weights, optimizer, random states, callback states).

    Raises:
        ModelFileError: the state does not fit this model (other layers or shapes); nothing is changed then.
    """
    weights = {k[len("model/"):]: v for k, v in tensors.items() if k.startswith("model/")}
    expected = model.state_dict()
    mismatch = sorted(set(weights) ^ set(expected)) or [k for k in weights if weights[k].shape != expected[k].shape]
    if mismatch:
        raise ModelFileError(f"{source}: the saved training state does not match this model (first differences: "
                             f"{mismatch[:5]}). Delete the backup directory to start afresh.")
    model.load_state_dict(weights)
    optimizer = getattr(model, "optimizer", None)
    state = {k[len("optimizer/"):]: v for k, v in tensors.items() if k.startswith("optimizer/")}
    if optimizer is not None and state:
        optimizer.set_state_tensors(state)
    if optimizer is not None and "learning_rate" in document:
        optimizer.learning_rate = document["learning_rate"]
    _restore_rng(model, document.get("rng") or {}, tensors)
    saved = document.get("callbacks") or {}
    for key, cb in keyed_callbacks(callbacks):
        if key in saved:
            cb.load_state_dict(_join(saved[key], tensors))


def _restore_rng(model: Any, rng: dict, tensors: dict[str, torch.Tensor]) -> None:
    if "python" in rng:
        version, internal, gauss = rng["python"]
        random.setstate((version, tuple(internal), gauss))
    if "numpy" in rng and "rng/numpy" in tensors:
        kind, pos, has_gauss, cached = rng["numpy"]
        np.random.set_state((kind, tensors["rng/numpy"].numpy().astype(np.uint32), pos, has_gauss, cached))
    if "rng/torch" in tensors:
        torch.set_rng_state(tensors["rng/torch"])
    cuda = [tensors[f"rng/cuda/{i}"] for i in range(len(tensors)) if f"rng/cuda/{i}" in tensors]
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
    _restore_module_generators(model, tensors)


def _restore_module_generators(model: Any, tensors: dict[str, torch.Tensor]) -> None:
    modules = dict(model.named_modules())
    for key, state in tensors.items():
        if not key.startswith("rng/module/"):
            continue
        module_name, attr, *device = key[len("rng/module/"):].split("/")
        module = modules.get(module_name)
        holder = getattr(module, attr, None) if module is not None else None
        if isinstance(holder, torch.Generator):
            holder.set_state(state)
        elif isinstance(holder, dict) and device:
            generator = next((g for k, g in holder.items() if str(k) == device[0]), None)
            if generator is None:
                dev = torch.device(device[0])
                generator = holder[dev] = torch.Generator(device=dev)
            generator.set_state(state)


def _join(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__tensor__"}:
            return tensors[value["__tensor__"]]
        if set(value) == {"__ndarray__"}:
            return tensors[value["__ndarray__"]].numpy()
        return {k: _join(v, tensors) for k, v in value.items()}
    if isinstance(value, list):
        return [_join(v, tensors) for v in value]
    return value


# ------------------------------------------------------------------------------------------------- files
def write_state(path: str, document: dict, tensors: dict[str, torch.Tensor]) -> None:
    """Write one state file atomically (see the module docstring)."""
    json_bytes = json.dumps(document, allow_nan=True).encode("utf-8")
    tensor_bytes = safetensors_io.encode(tensors, {"format": "pt", "producer": "loom"})

    def write(f) -> None:
        with zipfile.ZipFile(f, "w") as archive:
            for name, data in ((JSON_NAME, json_bytes), (TENSORS_NAME, tensor_bytes)):
                info = zipfile.ZipInfo(name, date_time=_DATE)
                info.compress_type = zipfile.ZIP_STORED
                archive.writestr(info, data)

    atomic_write(path, write)


def read_state(path: str) -> tuple[dict, dict[str, torch.Tensor]]:
    """``(document, tensors)`` from a file of :func:`write_state`.

    Raises:
        ModelFileError: missing, truncated or foreign file.
    """
    data = read_bounded(path, limit=1 << 40, what="training state file")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = sorted(archive.namelist())
            if names != sorted([JSON_NAME, TENSORS_NAME]):
                raise ModelFileError(f"{path}: not a loom training state (entries {names[:5]}).")
            document = json.loads(archive.read(JSON_NAME).decode("utf-8"))
            tensor_bytes = archive.read(TENSORS_NAME)
    except LoomError:
        raise
    except Exception as e:  # noqa: BLE001 - zipfile and json raise many types for damaged files
        raise ModelFileError(f"{path}: damaged training state file: {type(e).__name__}: {e}") from e
    if not isinstance(document, dict) or document.get("format") != "loom-training-state":
        raise ModelFileError(f"{path}: not a loom training state (no \"format\": \"loom-training-state\").")
    if document.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{path}: training state format_version {document.get('format_version')!r}; this loom "
                             f"reads version {FORMAT_VERSION}.")
    tensors, _ = safetensors_io.decode(tensor_bytes, f"{path} ({TENSORS_NAME})")
    return document, tensors

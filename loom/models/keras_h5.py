"""Keras 3 ``.weights.h5`` files: read them into loom models, and write them so Keras can read them.

Keras 3 stores each layer's variables as ``layers/<name>/vars/0, 1, ...`` where ``<name>`` is the
layer's class name counted in model order (see :mod:`loom.models.weight_map`), and sublayers of a layer
under their attribute name (an LSTM's ``cell``). When a loom layer keeps weights that Keras keeps in a
sublayer, reading falls back to every array under the layer's group, in Keras order (own variables
first, then sublayers), and matches them to the layer's weights by position.

HDF5 is parsed by the HDF5 C library: only read ``.h5`` files you trust.

Example:
    >>> import os, tempfile, loom
    >>> model = loom.Sequential([loom.layers.Dense(2, input_shape=(3,))])
    >>> path = os.path.join(tempfile.mkdtemp(), "m.weights.h5")
    >>> model.save_weights(path)
    >>> sorted(read_h5_weights(path, weight_slots(model))[0])
    ['dense/bias', 'dense/kernel']
"""

from __future__ import annotations

import io
import os
from typing import Any, BinaryIO

import numpy as np
import torch

from loom.errors import ConfigError, ModelFileError
from loom.models.weight_map import WeightSlot, layer_groups, weight_slots

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
MAX_H5_RATIO = 4
# Sublayer groups in Keras's weight order where it differs from alphabetical order.
_GROUP_ORDER = {"vars": 0, "cell": 1, "forward_layer": 2, "backward_layer": 3}

__all__ = ["read_h5_weights", "read_h5_arrays", "match_h5_weights", "write_h5_weights", "HDF5_SIGNATURE",
           "weight_slots"]


def read_h5_weights(source: str | bytes, slots: list[WeightSlot]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Arrays of a Keras ``.weights.h5`` file keyed like ``slots``, and the file's unused array paths.

    Args:
        source: a path, or the file's bytes (e.g. ``model.weights.h5`` read from a ``.keras`` archive).
        slots: the model's weights (:func:`~loom.models.weight_map.weight_slots`).

    Raises:
        ModelFileError: the file cannot be read as HDF5, or declares arrays out of proportion to its size.
    """
    return match_h5_weights(read_h5_arrays(source), slots)


def read_h5_arrays(source: str | bytes, skip: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Every numeric array of an HDF5 file by path (groups starting with a ``skip`` prefix left out).

    Declared sizes are checked before anything is read: an array (or all of them) larger than
    ``MAX_H5_RATIO`` times the file (plus 16 MiB) is refused, so a forged header cannot make loom allocate.

    Raises:
        ModelFileError: the file cannot be read as HDF5, holds non-numeric data, or is out of proportion.
    """
    h5py = _h5py()
    name = source if isinstance(source, str) else "model.weights.h5"
    try:
        with h5py.File(io.BytesIO(source) if isinstance(source, bytes) else source, "r") as f:
            size = len(source) if isinstance(source, bytes) else os.path.getsize(source)
            return _collect(f, size, skip)
    except ModelFileError as e:
        raise ModelFileError(f"{name}: {e}") from e
    except Exception as e:  # noqa: BLE001 - h5py raises many types for damaged files
        raise ModelFileError(f"{name}: cannot read as an HDF5 weights file: {type(e).__name__}: {e}") from e


def match_h5_weights(arrays: dict[str, np.ndarray], slots: list[WeightSlot]) -> tuple[dict[str, torch.Tensor],
                                                                                       list[str]]:
    """:func:`read_h5_weights` on arrays already read by :func:`read_h5_arrays`."""
    found: dict[str, torch.Tensor] = {}
    used: set[str] = set()
    by_group: dict[int, list[WeightSlot]] = {}
    for slot in slots:
        by_group.setdefault(id(slot.group), []).append(slot)
    child_groups = {g.h5_group for g in {id(s.group): s.group for s in slots}.values()}
    for group_slots in by_group.values():
        paths = [s.h5_path for s in group_slots]
        if not all(p in arrays for p in paths):
            paths = _fallback_paths(arrays, group_slots[0].group.h5_group, child_groups) or paths
        for slot, path in zip(group_slots, paths):
            if path in arrays:
                found[slot.key] = torch.from_numpy(np.ascontiguousarray(arrays[path]).reshape(arrays[path].shape))
                used.add(path)
    return found, sorted(p for p in arrays if p not in used)


def _h5py():
    try:
        import h5py
    except ImportError as e:
        raise ConfigError("Reading or writing .h5 weight files needs the h5py package (pip install h5py); "
                          "loom's own weight files are .safetensors.") from e
    return h5py


def _collect(f: Any, file_size: int, skip: tuple[str, ...]) -> dict[str, np.ndarray]:
    h5py = _h5py()
    datasets: dict[str, Any] = {}

    def visit(path: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset) and not path.startswith(skip):
            if obj.dtype.kind not in "fiub":
                raise ModelFileError(f"HDF5 dataset {path!r} has dtype {obj.dtype}, not a numeric weight.")
            datasets[path] = obj

    f.visititems(visit)
    limit = MAX_H5_RATIO * file_size + (16 << 20)
    declared = sum(int(np.prod(d.shape, dtype=np.float64)) * d.dtype.itemsize for d in datasets.values())
    if declared > limit:
        raise ModelFileError(f"its arrays declare {declared} bytes in a {file_size}-byte file: refused (corrupt "
                             f"or forged header).")
    return {path: np.asarray(d[()]) for path, d in datasets.items()}


def _fallback_paths(arrays: dict, group: str, other_groups: set[str]) -> list[str]:
    """Every array under ``group`` in Keras order, skipping groups that belong to other loom layers."""
    prefix = f"{group}/" if group else ""
    mine = [p for p in arrays if p.startswith(prefix)
            and not any(o != group and o.startswith(prefix) and p.startswith(o + "/") for o in other_groups)]

    def order(path: str) -> list:
        return [(_GROUP_ORDER.get(part, 9), int(part) if part.isdigit() else 0, part)
                for part in path[len(prefix):].split("/")]
    return sorted(mine, key=order)


def write_h5_weights(f: BinaryIO, model: Any, optimizer: tuple[str, list[np.ndarray]] | None = None) -> None:
    """Write ``model``'s weights to the open binary file ``f`` in Keras 3's ``.weights.h5`` layout.

    Args:
        f: an open binary file.
        model: the model.
        optimizer: ``(optimizer name, arrays)`` written as Keras's ``optimizer/vars/<i>`` (default ``None``).
    """
    h5py = _h5py()
    with h5py.File(f, "w") as h5:
        if optimizer is not None:
            group = h5.require_group("optimizer/vars")
            group.attrs["name"] = optimizer[0]
            for i, array in enumerate(optimizer[1]):
                group.create_dataset(str(i), data=array)
        for group in layer_groups(model):
            path = f"{group.h5_group}/vars" if group.parts else "vars"
            h5.require_group(path).attrs["name"] = group.layer.name
        for slot in weight_slots(model, with_shared=True):
            h5.create_dataset(slot.h5_path, data=_to_numpy(slot.to_keras()))


def _to_numpy(t: torch.Tensor) -> np.ndarray:
    return (t.float() if t.dtype == torch.bfloat16 else t).numpy()

"""``KerasFileEditor``: inspect and edit the weights of a ``.keras`` or ``.weights.h5`` file, as Keras's.

The file's weights are read into :attr:`KerasFileEditor.weights_dict`, a nested dict that mirrors the
file's structure (``weights_dict["layers"]["dense"]["0"]`` is the first variable of the ``dense`` layer);
objects and weights can be renamed, deleted and added, the file compared with a model, and the result
written as a Keras ``.weights.h5`` file (atomically) that ``model.load_weights`` of loom or Keras reads.
Reading parses HDF5 data only; nothing in the file is executed.

Example:
    >>> import os, tempfile, loom
    >>> model = loom.Sequential([loom.Input((3,)), loom.layers.Dense(2)])
    >>> path = os.path.join(tempfile.mkdtemp(), "m.weights.h5")
    >>> model.save_weights(path)
    >>> editor = KerasFileEditor(path, verbose=False)
    >>> sorted(editor.weights_dict["layers"]["dense"])
    ['0', '1']
    >>> editor.compare(model, verbose=False)["status"]
    'success'
"""

from __future__ import annotations

import collections
import io
import json
import os
from typing import Any, Callable

import numpy as np

from loom.errors import ConfigError
from loom.io_utils import atomic_write

__all__ = ["KerasFileEditor"]


class KerasFileEditor:
    """Open ``filepath`` (``.keras`` or ``.weights.h5``) for inspection and editing (see the module docstring).

    Args:
        filepath: the file to open.
        verbose: print the file's description when opened (default ``True``, as Keras).

    Attributes:
        weights_dict: the nested weights. config / metadata: a ``.keras`` file's ``config.json`` /
            ``metadata.json`` (``None`` for a ``.weights.h5`` file).
    """

    def __init__(self, filepath: Any, verbose: bool = True) -> None:
        from loom.models.keras_archive import read_keras_entries
        from loom.models.keras_h5 import read_h5_arrays
        self.filepath = os.fspath(filepath)
        self.config, self.metadata = None, None
        if self.filepath.endswith(".keras"):
            entries = read_keras_entries(self.filepath)
            self.config = json.loads(entries["config.json"])
            self.metadata = json.loads(entries.get("metadata.json", b"{}"))
            arrays = read_h5_arrays(entries["model.weights.h5"])
        elif self.filepath.endswith(".weights.h5"):
            arrays = read_h5_arrays(self.filepath)
        else:
            raise ConfigError(f"KerasFileEditor: expected a .keras or .weights.h5 file, got {self.filepath!r}.")
        self.weights_dict = _nest(arrays)
        if verbose:
            print(f"Keras model file '{self.filepath}'")
            if self.metadata:
                print(f"Saved with Keras {self.metadata.get('keras_version')} - date: "
                      f"{self.metadata.get('date_saved')}")

    # ------------------------------------------------------------------------------------------- reading
    def summary(self) -> None:
        """Print the weight structure of the file."""
        print("Weights structure")
        for line in _tree_lines(self.weights_dict, "  "):
            print(line)

    def compare(self, reference_model: Any, verbose: bool = True) -> dict:
        """Compare the file's weights with ``reference_model``'s (names and shapes).

        Returns:
            ``{'status': 'success' | 'error', 'error_count': int, 'match_count': int}``.
        """
        from loom.models.weight_map import weight_slots
        reference = _nest({slot.h5_path: np.empty(slot.keras_shape(), np.float32)
                           for slot in weight_slots(reference_model)})
        errors: list[str] = []
        matches = _compare(self.weights_dict, reference, "", errors)
        if verbose:
            for line in errors:
                print(line)
            print(f"Comparison {'successful' if not errors else 'failed'}: {len(errors)} error(s), "
                  f"{matches} matching weight(s).")
        return {"status": "error" if errors else "success", "error_count": len(errors), "match_count": matches}

    # ------------------------------------------------------------------------------------------- editing
    def rename_object(self, object_name: str, new_name: str) -> None:
        """Rename an object (``"dense_2"`` or a path such as ``"layers/dense_2"``)."""
        if "/" in new_name:
            raise ConfigError(f"rename_object: new_name must be a leaf name, not a path; got {new_name!r}.")

        def rename(parent: dict, key: str) -> None:
            parent[new_name] = parent.pop(key)
        self._edit(object_name, rename)

    def delete_object(self, object_name: str) -> None:
        """Remove an object (a layer) and its weights."""
        self._edit(object_name, lambda parent, key: parent.pop(key))

    def add_object(self, object_path: str, weights: dict) -> None:
        """Add an object at ``object_path`` with ``weights`` (``{"0": kernel, "1": bias}``)."""
        weights = _checked_weights(weights)
        *parents, leaf = object_path.split("/")
        target = self.weights_dict
        for part in parents:
            if not isinstance(target.get(part), dict):
                raise ConfigError(f"add_object: path '{'/'.join(parents)}' not found in the file.")
            target = target[part]
        target[leaf] = weights

    def delete_weight(self, object_name: str, weight_name: str) -> None:
        """Remove weight ``weight_name`` (``"0"``) of an object."""
        def delete(parent: dict, key: str) -> None:
            if weight_name not in parent[key]:
                raise ConfigError(f"delete_weight: weight {weight_name!r} not found in object {object_name!r}; "
                                  f"it has {list(parent[key])}.")
            parent[key].pop(weight_name)
        self._edit(object_name, delete)

    def add_weights(self, object_name: str, weights: dict) -> None:
        """Add (or overwrite) weights of an existing object."""
        weights = _checked_weights(weights)
        self._edit(object_name, lambda parent, key: parent[key].update(weights))

    def save(self, filepath: Any) -> None:
        """Write the edited weights as a Keras ``.weights.h5`` file (atomically)."""
        path = os.fspath(filepath)
        if not path.endswith(".weights.h5"):
            raise ConfigError(f"KerasFileEditor.save: expected a .weights.h5 path, got {path!r}.")
        atomic_write(path, _h5_bytes(self.weights_dict))

    def resave_weights(self, filepath: Any) -> None:
        """Same as :meth:`save`."""
        self.save(filepath)

    def _edit(self, name: str, edit: Callable[[dict, str], Any]) -> None:
        if "/" in name:
            *parents, leaf = name.split("/")
            parent = self.weights_dict
            for part in parents:
                parent = parent.get(part) if isinstance(parent, dict) else None
            if not isinstance(parent, dict) or leaf not in parent:
                raise ConfigError(f"Path '{name}' not found in the file.")
            edit(parent, leaf)
            return
        found = list(_find(self.weights_dict, name))
        if not found:
            raise ConfigError(f"Name '{name}' not found in the file.")
        if len(found) > 1:
            raise ConfigError(f"Name '{name}' occurs {len(found)} times in the file; use its full path "
                              f"(e.g. 'layers/{name}').")
        edit(found[0], name)


def _nest(arrays: dict) -> dict:
    root: dict = collections.OrderedDict()
    for path, value in arrays.items():
        parts = [p for p in path.split("/") if p and p != "vars"]
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, collections.OrderedDict())
        node[parts[-1]] = value
    return root


def _find(tree: dict, name: str) -> Any:
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _find(value, name)
    if isinstance(tree.get(name), dict):
        yield tree


def _checked_weights(weights: Any) -> dict:
    if not isinstance(weights, dict) or not all(isinstance(k, str) for k in weights):
        raise ConfigError("weights must be a dict of weight names ('0', '1', ...) to arrays; got "
                          f"{type(weights).__name__}.")
    return {k: np.asarray(v) for k, v in weights.items()}


def _compare(target: dict, reference: dict, path: str, errors: list) -> int:
    matches = 0
    for key, ref in reference.items():
        where = f"{path}/{key}"
        if key not in target:
            errors.append(f"...{'Object' if isinstance(ref, dict) else 'Weight'} {where} present in the model, "
                          f"missing from the file")
        elif isinstance(ref, dict):
            matches += _compare(target[key], ref, where, errors) if isinstance(target[key], dict) else 0
        elif tuple(np.shape(target[key])) != tuple(ref.shape):
            errors.append(f"...Weight shape mismatch for {where}: model {tuple(ref.shape)}, file "
                          f"{tuple(np.shape(target[key]))}")
        else:
            matches += 1
    for key in target:
        if key not in reference:
            errors.append(f"...Object {path}/{key} present in the file, missing from the model")
    return matches


def _tree_lines(tree: dict, prefix: str) -> list[str]:
    lines = []
    items = list(tree.items())
    for i, (key, value) in enumerate(items):
        last = i == len(items) - 1
        connector = "└─ " if last else "├─ "
        if isinstance(value, dict):
            lines.append(f"{prefix}{connector}{key}")
            lines.extend(_tree_lines(value, prefix + ("    " if last else "│   ")))
        else:
            lines.append(f"{prefix}{connector}{key}: shape={tuple(np.shape(value))}, dtype={np.asarray(value).dtype}")
    return lines


def _h5_bytes(tree: dict) -> bytes:
    import h5py
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        def write(node: dict, path: str) -> None:
            leaves = {k: v for k, v in node.items() if not isinstance(v, dict)}
            for key, value in node.items():
                if isinstance(value, dict) and value:
                    write(value, f"{path}/{key}")
            if leaves:
                group = f.require_group(f"{path}/vars".lstrip("/"))
                for key, value in leaves.items():
                    group.create_dataset(key, data=np.asarray(value))
        write(tree, "")
    return buffer.getvalue()



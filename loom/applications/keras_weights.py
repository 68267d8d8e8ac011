"""Keras's own weight files for loom models, and where the applications' ImageNet weights are found.

:func:`load_keras_weights` reads, by the file's content:

* **legacy Keras HDF5** (``.h5``): the files ``keras.applications`` downloads and Keras 2's
  ``model.save_weights('x.h5')`` / ``model.save('x.h5')`` write. The root (or its ``model_weights``
  group) lists ``layer_names``; each layer's group lists ``weight_names``. As Keras does, the layers that
  have weights are matched **by order** (the names of old files differ from today's automatic names);
  every count and shape is checked before anything is assigned.
* **Keras 3** ``.weights.h5`` (``model.save_weights``), ``.keras`` archives and loom's own files, through
  ``model.load_weights``.

loom never downloads. ``weights='imagenet'`` uses a copy of Keras's file in Keras's cache
(``$KERAS_HOME/models`` or ``~/.keras/models``, where ``keras.applications`` keeps it) when there is one,
with Keras's checksum; otherwise the error says which file to download on a machine with internet and how
to pass it (``weights='path/to/file.h5'``).

HDF5 files are parsed by the HDF5 C library (``h5py``, ``pip install h5py``): only read files you trust.

Example:
    >>> import os, tempfile, loom
    >>> model = loom.Sequential([loom.layers.Dense(2, input_shape=(3,))])
    >>> path = os.path.join(tempfile.mkdtemp(), "w.weights.h5")
    >>> model.save_weights(path)
    >>> load_keras_weights(model, path)
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from loom.errors import LoomError, ModelFileError

__all__ = ["PretrainedFileNotFoundError", "PretrainedWeights", "load_keras_weights", "read_legacy_h5",
           "is_legacy_h5", "keras_cache_dirs", "resolve_pretrained"]

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_BASE_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"


class PretrainedFileNotFoundError(LoomError, FileNotFoundError):
    """A pretrained file (ImageNet weights, the class index) is not on this machine; the message says how
    to get it (loom never downloads)."""


@dataclass(frozen=True)
class PretrainedWeights:
    """Where Keras publishes a network's ImageNet weights: ``folder`` under Keras's URL (or a full URL
    ending with ``/``), the file names with and without the classifier top as Keras caches them, and their
    checksums as ``keras.utils.get_file`` checks them (MD5, or SHA-256 when 64 hex digits; ``None``: Keras
    checks none). ``remote_top`` / ``remote_notop`` name the files on the server where that name differs."""

    folder: str
    file_top: str
    file_notop: str
    hash_top: str | None
    hash_notop: str | None
    remote_top: str | None = None
    remote_notop: str | None = None

    @classmethod
    def tf_kernels(cls, folder: str, model: str, hash_top: str | None, hash_notop: str | None) -> PretrainedWeights:
        """The weights of the older applications, named as Keras names them:
        ``{model}_weights_tf_dim_ordering_tf_kernels.h5`` and ``..._notop.h5``.

        Example:
            >>> PretrainedWeights.tf_kernels("vgg16", "vgg16", None, None).file(include_top=False)
            ('vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5', None)
        """
        stem = f"{model}_weights_tf_dim_ordering_tf_kernels"
        return cls(folder, f"{stem}.h5", f"{stem}_notop.h5", hash_top, hash_notop)

    @classmethod
    def named_after_model(cls, folder: str, model: str, hash_top: str | None,
                          hash_notop: str | None) -> PretrainedWeights:
        """The weights of the newer applications, named after the model: ``{model}.h5`` and
        ``{model}_notop.h5``.

        Example:
            >>> PretrainedWeights.named_after_model("convnext", "convnext_tiny", None, None).url(include_top=True)
            'https://storage.googleapis.com/tensorflow/keras-applications/convnext/convnext_tiny.h5'
        """
        return cls(folder, f"{model}.h5", f"{model}_notop.h5", hash_top, hash_notop)

    def file(self, include_top: bool) -> tuple[str, str | None]:
        """``(file name, checksum)`` of the variant with or without the top."""
        return (self.file_top, self.hash_top) if include_top else (self.file_notop, self.hash_notop)

    def url(self, include_top: bool) -> str:
        remote = self.remote_top if include_top else self.remote_notop
        name = remote or self.file(include_top)[0]
        base = self.folder if "://" in self.folder else f"{_BASE_URL}{self.folder}/"
        return f"{base}{name}"


def _h5py():
    try:
        import h5py
    except ImportError as e:
        raise ImportError("Reading Keras .h5 weight files needs the h5py package: pip install h5py") from e
    return h5py


# ------------------------------------------------------------------------------------------ pretrained files
def keras_cache_dirs() -> list[str]:
    """Where ``keras.utils.get_file`` keeps downloaded models: ``$KERAS_HOME/models``, ``~/.keras/models``
    and ``/tmp/.keras/models`` (its fallback), in that order."""
    homes = [os.environ.get("KERAS_HOME"), os.path.join(os.path.expanduser("~"), ".keras"), "/tmp/.keras"]
    dirs: list[str] = []
    for home in homes:
        if home and os.path.join(home, "models") not in dirs:
            dirs.append(os.path.join(home, "models"))
    return dirs


def _digest(path: str, expected: str) -> str:
    """The file's MD5, or its SHA-256 when ``expected`` has 64 hex digits (Keras's rule)."""
    digest = hashlib.sha256() if len(expected) == 64 else hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def resolve_pretrained(pretrained: PretrainedWeights, include_top: bool) -> str:
    """The path of the ImageNet weights file in Keras's cache.

    Raises:
        PretrainedFileNotFoundError: not in the cache; the message says what to download and how to pass it.
        ModelFileError: the cached file does not have Keras's checksum (damaged or partial download).
    """
    name, md5 = pretrained.file(include_top)
    candidates = [os.path.join(d, name) for d in keras_cache_dirs()]
    for path in candidates:
        if os.path.isfile(path):
            if md5 is not None and _digest(path, md5) != md5:
                raise ModelFileError(f"{path} does not have Keras's checksum ({md5}): the download is damaged "
                                     f"or partial. Delete it and download {pretrained.url(include_top)} again.")
            return path
    raise PretrainedFileNotFoundError(
        f"weights='imagenet' needs Keras's pretrained file {name}, and loom does not download files. On a "
        f"machine with internet, download {pretrained.url(include_top)} (or run the Keras application with "
        f"weights='imagenet', which saves it in ~/.keras/models/), copy the file here, and pass "
        f"weights='path/to/{name}' (or put it in one of {keras_cache_dirs()}). Looked for: {candidates}.")


# ------------------------------------------------------------------------------------------------ loading
def load_keras_weights(model: Any, path: Any, skip_mismatch: bool = False) -> None:
    """Load a Keras weights file (legacy ``.h5``, Keras 3 ``.weights.h5``, ``.keras``) or a loom weights
    file into ``model``; the format comes from the file's content (see the module docstring).

    Args:
        model: a built loom model with the file's architecture.
        path: the file.
        skip_mismatch: skip layers (legacy files) or weights whose count or shape does not match, with a
            warning, instead of raising (default ``False``).

    Raises:
        ModelFileError: missing or unreadable file, or weights that do not match the model; the model is
            then unchanged.
        ImportError: an HDF5 file and no ``h5py``.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as e:
        raise ModelFileError(f"Cannot read the weights file {path}: {e}") from e
    if head.startswith(_HDF5_SIGNATURE) and is_legacy_h5(path):
        _load_legacy(model, path, skip_mismatch)
    else:
        if head.startswith(_HDF5_SIGNATURE):
            _h5py()
        model.load_weights(path, skip_mismatch=skip_mismatch)


def _legacy_root(f: Any) -> Any:
    return f["model_weights"] if "model_weights" in f else f


def _attr_strings(group: Any, name: str) -> list[str]:
    """A string-list attribute, also when Keras split it into ``name0``, ``name1``... (large headers)."""
    if name in group.attrs:
        values = list(group.attrs[name])
    else:
        values, chunk = [], 0
        while f"{name}{chunk}" in group.attrs:
            values.extend(group.attrs[f"{name}{chunk}"])
            chunk += 1
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]


def is_legacy_h5(path: str) -> bool:
    """Whether ``path`` is a legacy (Keras 2 layout) HDF5 weights or model file."""
    h5py = _h5py()
    try:
        with h5py.File(path, "r") as f:
            attrs = _legacy_root(f).attrs
            return "layer_names" in attrs or "layer_names0" in attrs
    except (OSError, KeyError, ValueError) as e:
        raise ModelFileError(f"{path}: cannot read as an HDF5 file: {e}") from e


def read_legacy_h5(path: str) -> list[tuple[str, list[tuple[str, np.ndarray]]]]:
    """The ``(layer name, [(weight name, array), ...])`` of a legacy HDF5 file's layers that have weights,
    in the file's order.

    Raises:
        ModelFileError: not a legacy Keras HDF5 weights file, or a listed weight is missing.
    """
    h5py = _h5py()
    out = []
    try:
        with h5py.File(path, "r") as f:
            root = _legacy_root(f)
            for layer_name in _attr_strings(root, "layer_names"):
                if layer_name not in root:
                    raise ModelFileError(f"{path}: layer '{layer_name}' is listed in layer_names but has no group.")
                group = root[layer_name]
                names = _attr_strings(group, "weight_names")
                if names:
                    out.append((layer_name, [(n, _dataset(group, n, path)) for n in names]))
    except (OSError, KeyError, ValueError) as e:
        if isinstance(e, ModelFileError):
            raise
        raise ModelFileError(f"{path}: cannot read as a Keras HDF5 weights file: {e}") from e
    return out


def _dataset(group: Any, name: str, path: str) -> np.ndarray:
    if name not in group:
        raise ModelFileError(f"{path}: weight '{name}' is listed in weight_names of '{group.name}' but missing.")
    array = np.asarray(group[name][()])
    if array.dtype.kind not in "fiub":
        raise ModelFileError(f"{path}: weight '{name}' has dtype {array.dtype}, not a numeric weight.")
    return array


def _legacy_entries(layer: Any) -> list[tuple[Any, str, torch.Tensor]]:
    """A layer's weights in the order legacy files store them: trainable first, then non-trainable."""
    entries = layer._weight_entries()
    trainable = [e for e in entries if isinstance(e[2], nn.Parameter) and e[2].requires_grad]
    return trainable + [e for e in entries if not (isinstance(e[2], nn.Parameter) and e[2].requires_grad)]


def _load_legacy(model: Any, path: str, skip_mismatch: bool) -> None:
    file_layers = read_legacy_h5(path)
    model_layers = [(layer, entries) for layer in model.layers if (entries := _legacy_entries(layer))]
    if len(file_layers) != len(model_layers):
        raise ModelFileError(
            f"{path} holds weights for {len(file_layers)} layers, but model '{model.name}' has {len(model_layers)} "
            f"layers with weights. Keras HDF5 files load layer by layer in order, so the model must have the "
            f"architecture the file was saved from (same include_top?). File layers end with "
            f"{[n for n, _ in file_layers[-3:]]}; model layers end with {[l.name for l, _ in model_layers[-3:]]}.")
    updates, problems = [], []
    for (file_name, arrays), (layer, entries) in zip(file_layers, model_layers):
        layer_updates, problem = _match_layer(file_name, arrays, layer, entries)
        if problem:
            problems.append(problem)
        else:
            updates.extend(layer_updates)
    if problems:
        message = (f"{path}: {len(problems)} layer(s) do not match model '{model.name}': " + "; ".join(problems[:10])
                   + ("..." if len(problems) > 10 else ""))
        if not skip_mismatch:
            raise ModelFileError(message + ". Nothing was loaded; pass skip_mismatch=True to load the rest.")
        warnings.warn(message + ". Those layers are skipped.", stacklevel=3)
    with torch.no_grad():
        for tensor, value in updates:
            tensor.copy_(value.to(dtype=tensor.dtype, device=tensor.device))


def _match_layer(file_name: str, arrays: list, layer: Any, entries: list) -> tuple[list, str | None]:
    """The ``(tensor, value)`` copies for one layer, or a description of why the file's layer does not fit."""
    where = f"file layer '{file_name}' -> model layer '{layer.name}' ({type(layer).__name__})"
    if len(arrays) != len(entries):
        return [], f"{where}: {len(arrays)} weights in the file, {len(entries)} in the layer"
    updates = []
    for (weight_name, array), (owner, name, tensor) in zip(arrays, entries):
        value = owner.weight_from_keras(name, torch.from_numpy(np.ascontiguousarray(array)))
        if tuple(value.shape) != tuple(tensor.shape):
            expected = tuple(owner.weight_to_keras(name, tensor.detach()).shape)
            return [], f"{where}: '{weight_name}' has shape {array.shape}, the layer's '{name}' {expected}"
        updates.append((tensor, value))
    return updates, None

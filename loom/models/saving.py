"""Model files: ``model.save`` / ``load_model`` (one ``.loom`` file) and ``save_weights`` / ``load_weights``.

A ``.loom`` file is a zip archive holding exactly two entries:

* ``config.json``: ``{"format": "loom", "format_version", "loom_version", "module", "class_name",
  "registered_name", "config", "build_config", "compile_config"}``: the model's class and config
  (see :mod:`loom.models.config`) and, when it was compiled, its compile config;
* ``model.safetensors``: the weights in Keras's layouts keyed by stable names such as
  ``dense/kernel`` (see :mod:`loom.models.weight_map`), plus the optimizer state under ``optimizer/``.

Nothing is ever unpickled: classes come from the registry (``safe_mode``), tensors from safetensors.
Reading checks entry names, declared and actual sizes (no zip bombs), the safetensors header, the JSON
types, and every weight's presence and shape; any problem raises :class:`~loom.errors.ModelFileError`
naming the file. Every write is atomic (:func:`loom.io_utils.atomic_write`).

Weights-only files are safetensors (any name, ``.weights.safetensors`` suggested) or, for names ending
in ``.h5``, Keras 3's ``.weights.h5`` layout; ``load_weights`` also reads Keras ``.weights.h5`` files,
the weights of Keras ``.keras`` archives, and ``.loom`` files.

Example:
    >>> import os, tempfile, numpy as np, loom
    >>> model = loom.Sequential([loom.layers.Dense(2, input_shape=(3,))])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.loom")
    >>> model.save(path)
    >>> restored = loom.models.load_model(path)
    >>> x = np.ones((1, 3), "float32")
    >>> bool((restored(x) == model(x)).all())
    True
"""

from __future__ import annotations

import io
import json
import os
import warnings
import zipfile
from typing import Any

import torch

from loom.errors import ConfigError, ModelFileError, UnsafeLoadError
from loom.io_utils import allocation_limit, atomic_write, bounded_allocations, parse_json_object, read_zip_entries
from loom.models import safetensors_io
from loom.models.keras_h5 import HDF5_SIGNATURE, read_h5_weights, write_h5_weights
from loom.models.weight_map import weight_slots
from loom.training.saved_functions import compile_saved

FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
OPTIMIZER_PREFIX = "optimizer/"
MAX_CONFIG_BYTES = 64 * 1024 * 1024
_ZIP_SIGNATURE = b"PK\x03\x04"
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)


# -------------------------------------------------------------------------------------------------- saving
def save_model(model: Any, filepath: Any, overwrite: bool = True, include_optimizer: bool = True) -> None:
    """Write ``model`` to one ``.loom`` file, atomically; names ending in ``.keras`` get a Keras 3 archive and
    names ending in ``.h5`` a legacy Keras ``.h5`` full model, as Keras does.

    Args:
        model: a functional or ``Sequential`` model (or a registered class with its own ``get_config``).
        filepath: where to write.
        overwrite: replace an existing file (default ``True``); else raise ``FileExistsError``.
        include_optimizer: also save the compile config and optimizer state when present (default ``True``).

    Raises:
        ConfigError: a layer cannot be described as JSON (the message names it); nothing is written.
    """
    from loom import __version__
    from loom.saving import serialize_loom_object, to_json_value
    path = _fspath(filepath)
    if path.endswith(".keras"):
        from loom.models.keras_archive import save_keras_archive
        save_keras_archive(model, path, overwrite=overwrite, include_optimizer=include_optimizer)
        return
    if path.endswith(".h5"):
        from loom.models.keras_legacy_h5 import save_legacy_h5
        save_legacy_h5(model, path, overwrite=overwrite, include_optimizer=include_optimizer)
        return
    document = {"format": "loom", "format_version": FORMAT_VERSION, "loom_version": __version__,
                **serialize_loom_object(model), "build_config": None, "compile_config": None}
    if callable(getattr(model, "get_build_config", None)):
        document["build_config"] = to_json_value(model.get_build_config(), "build_config")
    tensors = {slot.key: slot.to_keras() for slot in weight_slots(model)}
    if include_optimizer:
        document["compile_config"] = _compile_config(model)
        tensors.update(_optimizer_tensors(model))
    config_bytes = json.dumps(document, allow_nan=True).encode("utf-8")
    weights_bytes = safetensors_io.encode(tensors, {"format": "pt", "producer": "loom"})
    atomic_write(path, lambda f: _write_archive(f, config_bytes, weights_bytes), overwrite=overwrite)


def _write_archive(f, config_bytes: bytes, weights_bytes: bytes) -> None:
    with zipfile.ZipFile(f, "w") as archive:
        for name, data, method in ((CONFIG_NAME, config_bytes, zipfile.ZIP_DEFLATED),
                                   (WEIGHTS_NAME, weights_bytes, zipfile.ZIP_STORED)):
            info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
            info.compress_type = method
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)


def _compile_config(model: Any) -> Any:
    config = getattr(model, "_compile_config", None)
    if config is None:
        return None
    from loom.saving import to_json_value
    try:
        return to_json_value(config, "compile config")
    except ConfigError as e:
        warnings.warn(f"The compile config of model '{model.name}' is not saved: {e}", stacklevel=3)
        return None


def _optimizer_tensors(model: Any) -> dict[str, torch.Tensor]:
    get_state = getattr(getattr(model, "optimizer", None), "get_state_tensors", None)
    if not callable(get_state):
        return {}
    state = get_state() or {}
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in state.items()):
        warnings.warn(f"The optimizer state of model '{model.name}' is not saved: get_state_tensors() must "
                      f"return a dict of name -> tensor.", stacklevel=3)
        return {}
    return {OPTIMIZER_PREFIX + k: v for k, v in state.items()}


def save_weights(model: Any, filepath: Any, overwrite: bool = True) -> None:
    """Write ``model``'s weights, atomically: Keras's ``.weights.h5`` layout for names ending in ``.h5``,
    else safetensors (``.weights.safetensors`` suggested).

    Args:
        model: any loom layer or model.
        filepath: where to write.
        overwrite: replace an existing file (default ``True``); else raise ``FileExistsError``.
    """
    path = _fspath(filepath)
    if path.endswith(".h5"):
        atomic_write(path, lambda f: write_h5_weights(f, model), overwrite=overwrite)
        return
    tensors = {slot.key: slot.to_keras() for slot in weight_slots(model)}
    atomic_write(path, safetensors_io.encode(tensors, {"format": "pt", "producer": "loom"}), overwrite=overwrite)


# ------------------------------------------------------------------------------------------------- loading
def load_model(filepath: Any, custom_objects: dict | None = None, compile: bool = True, safe_mode: bool = True):
    """Read a model written by :func:`save_model`, a Keras 3 ``.keras`` archive or a Keras 2 ``.h5`` model.

    The format is read from the file's content, not its name.

    Args:
        filepath: the ``.loom``, ``.keras`` or legacy ``.h5`` file.
        custom_objects: ``{name: class}`` for custom layers that are not registered (default ``None``).
        compile: re-compile the model from its saved compile config, when there is one and the model can
            be compiled (default ``True``).
        safe_mode: refuse ``Lambda`` layers and unregistered classes (default ``True``). Pass ``False``
            only for files you trust: it may import modules and run code.

    Raises:
        UnsafeLoadError: the file needs a ``Lambda`` or an unregistered class and ``safe_mode`` is on.
        ModelFileError: the file is missing, truncated, corrupt, hostile or inconsistent.
    """
    path = _fspath(filepath)
    head = _read_head(path)
    if head.startswith(HDF5_SIGNATURE):
        from loom.models.keras_legacy_h5 import load_legacy_h5
        return load_legacy_h5(path, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)
    if head.startswith(_ZIP_SIGNATURE) and _is_keras_zip(path):
        from loom.models.keras_archive import load_keras_archive
        return load_keras_archive(path, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)
    config_bytes, weights_bytes = _read_archive(path)
    document = _parse_config(config_bytes, path)
    tensors, _ = safetensors_io.decode(weights_bytes, f"{path} ({WEIGHTS_NAME})")
    limit = allocation_limit(sum(t.numel() * t.element_size() for t in tensors.values()))
    with bounded_allocations(limit, path):  # layer sizes in config.json are bounded by the weights it holds
        model = _guarded(path, "cannot rebuild the model from config.json",
                         lambda: _build(document, custom_objects, safe_mode))
    _assign(model, {k: v for k, v in tensors.items() if not k.startswith(OPTIMIZER_PREFIX)}, path, False)
    if compile and document.get("compile_config") is not None:
        _recompile(model, document["compile_config"], tensors, path, custom_objects)
    return model


def _is_keras_zip(path: str) -> bool:
    from loom.models.keras_archive import is_keras_archive
    try:
        with zipfile.ZipFile(path) as archive:
            return is_keras_archive(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError):
        return False  # not a readable zip: the .loom reader names what is wrong with it


def _guarded(path: str, what: str, fn):
    """Run ``fn``; any failure becomes a ModelFileError naming ``path`` (UnsafeLoadError stays itself)."""
    try:
        return fn()
    except UnsafeLoadError as e:
        raise UnsafeLoadError(f"{path}: {e}") from e
    except ModelFileError:
        raise
    except Exception as e:  # noqa: BLE001 - a hostile file must never surface as another exception type
        cause = e.__cause__
        while cause is not None and not isinstance(cause, ModelFileError):
            cause = cause.__cause__
        if cause is not None:  # e.g. the allocation bound, wrapped by a layer's build error
            raise cause from e
        raise ModelFileError(f"{path}: {what}: {type(e).__name__}: {e}") from e


def _build(document: dict, custom_objects: dict | None, safe_mode: bool):
    from loom.models.functional import Model
    from loom.saving import deserialize_loom_object
    model = deserialize_loom_object(document, custom_objects, safe_mode)
    if not isinstance(model, Model):
        raise ConfigError(f"config.json describes a {type(model).__name__}, not a model.")
    build_config = document.get("build_config")
    if build_config is not None and callable(getattr(model, "build_from_config", None)):
        model.build_from_config(build_config)
    return model


def _recompile(model: Any, compile_config: Any, tensors: dict, path: str, custom_objects: dict | None = None) -> None:
    """Compile as the saved model was, then restore the optimizer state. A loss or metric function that cannot
    be found raises :class:`UnknownObjectError` (as Keras); other problems only warn."""
    def compile_and_restore() -> None:
        if callable(getattr(model, "compile_from_config", None)):
            model.compile_from_config(compile_config)
        elif callable(getattr(model, "compile", None)) and isinstance(compile_config, dict):
            model.compile(**_compile_kwargs(compile_config))
        else:
            return
        state = {k[len(OPTIMIZER_PREFIX):]: v for k, v in tensors.items() if k.startswith(OPTIMIZER_PREFIX)}
        set_state = getattr(getattr(model, "optimizer", None), "set_state_tensors", None)
        if state and callable(set_state):
            set_state(state)

    compile_saved(path, custom_objects, compile_and_restore)


def _compile_kwargs(compile_config: dict) -> dict:
    """``compile``'s arguments from the saved config (objects rebuilt by the training engine's helper)."""
    try:
        from loom.training.compile_utils import deserialize_compile_config
    except ImportError:
        return dict(compile_config)
    return deserialize_compile_config(compile_config)


def load_weights(model: Any, filepath: Any, skip_mismatch: bool = False) -> None:
    """Load weights into ``model`` from a file of :func:`save_weights`, a ``.loom`` file, a Keras 3
    ``.weights.h5`` file or a Keras ``.keras`` archive. The format is read from the file's content.

    Args:
        model: the model (already built) to load into.
        filepath: the file.
        skip_mismatch: skip weights missing from the file, of the wrong shape, or extra in the file,
            with a warning, instead of raising (default ``False``).

    Raises:
        ModelFileError: unreadable file, or (unless ``skip_mismatch``) missing, extra or mis-shaped weights;
            the model is then left unchanged.
    """
    path = _fspath(filepath)
    head = _read_head(path)
    unused: list[str] = []
    if head.startswith(HDF5_SIGNATURE):
        tensors, unused = read_h5_weights(path, weight_slots(model, with_shared=True))
    elif head.startswith(_ZIP_SIGNATURE):
        tensors, unused = _archive_weights(path, model)
    else:
        from loom.io_utils import read_bounded
        data = read_bounded(path, limit=1 << 40, what="weights file")
        tensors, _ = safetensors_io.decode(data, path)
    tensors = {k: v for k, v in tensors.items() if not k.startswith(OPTIMIZER_PREFIX)}
    _assign(model, tensors, path, skip_mismatch, extra=unused)


def _archive_weights(path: str, model: Any) -> tuple[dict, list[str]]:
    entries = _read_zip(path, allowed=({CONFIG_NAME, WEIGHTS_NAME}, {"config.json", "metadata.json",
                                                                     "model.weights.h5"}))
    if "model.weights.h5" in entries:
        from loom.models.keras_h5 import match_h5_weights, read_h5_arrays
        return match_h5_weights(read_h5_arrays(entries["model.weights.h5"], skip=("optimizer",)),
                                weight_slots(model, with_shared=True))
    tensors, _ = safetensors_io.decode(entries[WEIGHTS_NAME], f"{path} ({WEIGHTS_NAME})")
    return tensors, []


def _assign(model: Any, tensors: dict[str, torch.Tensor], path: str, skip_mismatch: bool,
            extra: list[str] | None = None) -> None:
    """Check every weight first, then copy them all (so a failed load changes nothing)."""
    slots = weight_slots(model)
    expected = {s.key for s in slots}
    missing = [s.key for s in slots if s.key not in tensors]
    unexpected = sorted(k for k in tensors if k not in expected) + list(extra or [])
    updates, wrong = [], []
    for slot in slots:
        if slot.key not in tensors:
            continue
        value = _guarded(path, f"weight {slot.key!r} cannot be converted", lambda: slot.from_keras(tensors[slot.key]))
        if tuple(value.shape) != tuple(slot.tensor.shape):
            wrong.append(f"{slot.key}: file {tuple(tensors[slot.key].shape)}, model {slot.keras_shape()}")
        else:
            updates.append((slot, value))
    problems = ([f"missing from the file: {missing[:20]}"] if missing else []) + (
        [f"in the file but not in the model: {unexpected[:20]}"] if unexpected else []) + (
        [f"wrong shapes: {wrong[:20]}"] if wrong else [])
    if problems:
        message = (f"{path}: the weights do not match model '{getattr(model, 'name', '?')}' "
                   f"({len(slots)} weights): " + "; ".join(problems) + ".")
        if not skip_mismatch:
            raise ModelFileError(message + " Pass skip_mismatch=True to load the rest.")
        warnings.warn(message + " Those are skipped.", stacklevel=3)
    with torch.no_grad():
        for slot, value in updates:
            slot.tensor.copy_(value.to(dtype=slot.tensor.dtype, device=slot.tensor.device))


# ------------------------------------------------------------------------------------------- archive reading
def _read_archive(path: str) -> tuple[bytes, bytes]:
    entries = _read_zip(path, allowed=({CONFIG_NAME, WEIGHTS_NAME},))
    return entries[CONFIG_NAME], entries[WEIGHTS_NAME]


def _read_head(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(8)
    except FileNotFoundError as e:
        raise ModelFileError(f"{path}: no such file.") from e
    except OSError as e:
        raise ModelFileError(f"{path}: cannot read: {e}") from e


def _read_zip(path: str, allowed: tuple[set[str], ...]) -> dict[str, bytes]:
    """The entries of a zip whose names are exactly one of the ``allowed`` sets, size-checked."""
    head = _read_head(path)
    if not head.startswith(_ZIP_SIGNATURE):
        raise ModelFileError(f"{path} is not a .loom file (not a zip archive){_format_hint(head)}.")

    def check(names: list[str]) -> None:
        if len(set(names)) != len(names) or set(names) not in allowed:
            raise ModelFileError(f"{path}: unexpected archive entries {sorted(names)[:10]}; a .loom file "
                                 f"holds exactly {[CONFIG_NAME, WEIGHTS_NAME]}{_keras_hint(names)}.")
    return read_zip_entries(path, check, lambda name: MAX_CONFIG_BYTES if name.endswith(".json") else None)


def _parse_config(data: bytes, path: str) -> dict:
    document = parse_json_object(data, path, CONFIG_NAME)
    if document.get("format") != "loom":
        raise ModelFileError(f"{path} ({CONFIG_NAME}) is not a loom model config (no \"format\": \"loom\").")
    version = document.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= FORMAT_VERSION:
        raise ModelFileError(f"{path} has format_version {version!r:.40}; this loom reads versions 1 to "
                             f"{FORMAT_VERSION} (a newer loom wrote it?).")
    return document


def _format_hint(head: bytes) -> str:
    if head.startswith(HDF5_SIGNATURE):
        return ": it is an HDF5 file; weights-only files load with model.load_weights(path)"
    if len(head) == 8 and int.from_bytes(head, "little") < (1 << 30):
        return ": it may be a weights-only safetensors file; build the model and call model.load_weights(path)"
    return ""


def _keras_hint(names: list[str]) -> str:
    if "model.weights.h5" in names:
        return ("; this is a Keras .keras archive: build the same model in loom and call "
                "model.load_weights(path) to load its weights")
    return ""


def _fspath(filepath: Any) -> str:
    try:
        path = os.fspath(filepath)
    except TypeError as e:
        raise ConfigError(f"Expected a file path, got {type(filepath).__name__}.") from e
    if not isinstance(path, str):
        path = os.fsdecode(path)
    return path

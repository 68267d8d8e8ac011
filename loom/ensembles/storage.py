"""Saving and loading ensembles: one zip file, written atomically, read without pickle.

The archive holds ``ensemble.json`` (method, task, weights, fit details, and one entry per member) and one
file per member under ``members/``:

* loom models: ``members/<i>.loom``, the model's own ``.loom`` file (``model.save``, without optimizer);
* ``torch.nn.Module``s: ``members/<i>.safetensors`` (the ``state_dict``) plus, in the JSON, the class's
  registered name and ``get_config()`` (``{}`` when it has none). The class must be registered with
  ``@loom.saving.register_loom_serializable()`` (or be given in ``custom_objects`` when loading); it is
  rebuilt with ``from_config(config)`` or ``cls(**config)``. Unregistered classes are refused both ways;
* scikit-learn estimators: ``members/<i>.skops`` (``skops.io``), plus a stacking meta-learner in
  ``stacker.skops``. Reading first lists the file's types with ``skops.io.get_untrusted_types`` and refuses
  any that is not in the allow-list: scikit-learn estimator classes (subclasses of ``BaseEstimator``
  defined under ``sklearn.``, never from test modules), scikit-learn's tree internals (``Tree``,
  ``TreePredictor``, ``KDTree``, ``BallTree``), NumPy scalar/dtype/array types, or a name the caller passes
  in ``trusted=``. Functions (e.g. a ``FunctionTransformer``'s ``func``) are never in the allow-list.

Callable members and custom ``features`` functions cannot be saved (there is no safe way to store code).
A missing, truncated, garbled or hostile file raises :class:`~loom.errors.ModelFileError` (its subclass
:class:`~loom.errors.UnsafeLoadError` for classes or types that are not allowed).

Example:
    >>> import os, tempfile, numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from loom.ensembles import Ensemble, load
    >>> x, y = np.random.RandomState(0).rand(30, 3), np.arange(30) % 2
    >>> ens = Ensemble([LogisticRegression().fit(x, y), LogisticRegression(C=0.1).fit(x, y)])
    >>> path = os.path.join(tempfile.mkdtemp(), "ensemble.zip")
    >>> ens.save(path)
    >>> bool(np.array_equal(load(path).predict(x), ens.predict(x)))
    True
"""

from __future__ import annotations

import importlib
import json
import os
import re
import tempfile
import zipfile
from typing import Any, Iterable

import numpy as np
import torch

from loom.errors import ConfigError, ModelFileError, UnsafeLoadError
from loom.io_utils import allocation_limit, atomic_write, bounded_allocations, read_zip_entries
from loom.ensembles.ensemble import METHODS, Ensemble, check_weights
from loom.ensembles.members import OUTPUT_KINDS, LoomMember, Member, SklearnMember, TorchMember
from loom.ensembles.stacking import Stacker

FORMAT = "loom-ensemble"
FORMAT_VERSION = 1
MANIFEST = "ensemble.json"
STACKER = "stacker.skops"
MAX_MEMBERS = 1000
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
_ENTRY = re.compile(r"^(ensemble\.json|stacker\.skops|members/\d{1,4}\.(loom|safetensors|skops))$")
_EXTENSIONS = {"loom": "loom", "torch": "safetensors", "sklearn": "skops"}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)
_SKLEARN_INTERNALS = frozenset({
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
})
_TEST_MODULES = ("tests", "testing", "conftest")


# -------------------------------------------------------------------------------------------------- saving
def save_ensemble(ensemble: Ensemble, path: Any, overwrite: bool = True) -> None:
    """Write ``ensemble`` to one zip file at ``path`` (any name; ``.zip`` suggested), atomically.

    Raises:
        ConfigError: a member cannot be saved (a callable, a custom features function, an unregistered torch
            class); nothing is written.
    """
    from loom import __version__
    from loom.saving import to_json_value
    path = _fspath(path)
    entries: dict[str, bytes] = {}
    described = []
    for index, member in enumerate(ensemble.members):
        entry, data = _member_entry(index, member)
        entries[entry["file"]] = data
        described.append(entry)
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "loom_version": __version__,
                "method": ensemble.method, "task": ensemble.task, "num_classes": ensemble.num_classes,
                "batch_size": ensemble.batch_size,
                "weights": None if ensemble.weights is None else [float(w) for w in ensemble.weights],
                "fit_info": to_json_value(ensemble.fit_info, "fit_info"), "members": described, "stacker": None}
    if ensemble.stacker is not None:
        entries[STACKER] = _skops_bytes(ensemble.stacker.estimator)
        manifest["stacker"] = {"file": STACKER, "task": ensemble.stacker.task,
                               "strength": ensemble.stacker.strength, "oof_score": ensemble.stacker.oof_score}
    entries = {MANIFEST: json.dumps(manifest, indent=1).encode("utf-8"), **entries}
    atomic_write(path, lambda f: _write_zip(f, entries), overwrite=overwrite)


def _member_entry(index: int, member: Member) -> tuple[dict, bytes]:
    kind = member.kind
    if kind not in _EXTENSIONS:
        raise ConfigError(f"Member '{member.name}' ({type(member).__name__}) cannot be saved: only loom models, "
                          f"registered torch modules and scikit-learn estimators can (no safe way to store code).")
    entry = {"name": member.name, "kind": kind, "file": f"members/{index}.{_EXTENSIONS[kind]}",
             "outputs": member.outputs}
    if isinstance(member, LoomMember):
        return entry, _loom_bytes(member.model)
    if isinstance(member, TorchMember):
        entry.update(_torch_description(member))
        from loom.models.safetensors_io import encode
        return entry, encode(dict(member.module.state_dict()), {"format": "pt", "producer": "loom"})
    if member.features is not None:
        raise ConfigError(f"Member '{member.name}' uses a custom features function, which cannot be saved. "
                          f"Save members that flatten their inputs (features=None).")
    entry["n_threads"] = member.n_threads
    return entry, _skops_bytes(member.estimator)


def _loom_bytes(model: Any) -> bytes:
    with tempfile.TemporaryDirectory() as directory:
        file = os.path.join(directory, "member.loom")
        model.save(file, include_optimizer=False)
        with open(file, "rb") as f:
            return f.read()


def _torch_description(member: TorchMember) -> dict:
    from loom.saving import get_registered_name, get_registered_object, to_json_value
    cls = type(member.module)
    name = get_registered_name(cls)
    if get_registered_object(name) is not cls:
        raise ConfigError(f"Member '{member.name}': torch class {cls.__qualname__} is not registered, so it could "
                          f"not be loaded safely. Decorate it with @loom.saving.register_loom_serializable().")
    get_config = getattr(member.module, "get_config", None)
    config = get_config() if callable(get_config) else {}
    return {"class": name, "config": to_json_value(config, f"config of member '{member.name}'")}


def _skops_bytes(estimator: Any) -> bytes:
    import skops.io
    return skops.io.dumps(estimator)


def _write_zip(f, entries: dict[str, bytes]) -> None:
    with zipfile.ZipFile(f, "w") as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED if name == MANIFEST else zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)


# ------------------------------------------------------------------------------------------------- loading
def load(path: Any, trusted: Iterable[str] | None = None, custom_objects: dict | None = None,
         safe_mode: bool = True) -> Ensemble:
    """Read an ensemble written by :meth:`Ensemble.save`.

    Args:
        path: the file.
        trusted: extra type names (as ``skops.io.get_untrusted_types`` lists them) to allow in scikit-learn
            members, beyond the built-in allow-list (default ``None``). Only for files you trust.
        custom_objects: ``{name: class}`` for custom loom layers and torch member classes (default ``None``).
        safe_mode: passed to :func:`loom.models.load_model` for loom members (default ``True``).

    Raises:
        UnsafeLoadError: a member needs a class or type that is not registered or allowed.
        ModelFileError: the file is missing, truncated, corrupt or inconsistent.
    """
    path = _fspath(path)
    entries = _read_zip(path)
    manifest = _parse_manifest(entries, path)
    members = [_guard(path, f"member {i}", lambda e=e: _load_member(e, entries, trusted, custom_objects, safe_mode))
               for i, e in enumerate(manifest["members"])]
    return _guard(path, "inconsistent ensemble.json", lambda: _assemble(manifest, members, entries, trusted))


def _guard(path: str, what: str, fn):
    try:
        return fn()
    except UnsafeLoadError as e:
        raise UnsafeLoadError(f"{path}: {what}: {e}") from e
    except ModelFileError as e:
        raise ModelFileError(f"{path}: {what}: {e}") from e
    except Exception as e:  # noqa: BLE001 - a hostile file must surface only as ModelFileError
        raise ModelFileError(f"{path}: {what}: {type(e).__name__}: {e}") from e


def _assemble(manifest: dict, members: list[Member], entries: dict, trusted: Any) -> Ensemble:
    ensemble = Ensemble(members, method="mean", task=manifest["task"], batch_size=manifest["batch_size"])
    ensemble.method = manifest["method"]
    weights = manifest["weights"]
    ensemble.weights = None if weights is None else check_weights(weights, len(members))
    ensemble.num_classes = manifest["num_classes"]
    ensemble.fit_info = manifest["fit_info"]
    stacker = manifest["stacker"]
    if stacker is not None:
        estimator = _load_skops(entries[STACKER], trusted)
        ensemble.stacker = Stacker(estimator, _choice(stacker, "task", ("classification", "regression")),
                                   _number(stacker, "strength"), _number(stacker, "oof_score"))
    if ensemble.method == "stack" and ensemble.stacker is None:
        raise ModelFileError("method 'stack' without a stacker entry.")
    if ensemble.method in ("weighted", "caruana") and ensemble.weights is None:
        raise ModelFileError(f"method {ensemble.method!r} without weights.")
    return ensemble


def _load_member(entry: dict, entries: dict, trusted: Any, custom_objects: dict | None, safe_mode: bool) -> Member:
    data = entries[entry["file"]]
    if entry["kind"] == "loom":
        return LoomMember(_load_loom(data, custom_objects, safe_mode), entry["name"], entry["outputs"])
    if entry["kind"] == "torch":
        return TorchMember(_load_torch(entry, data, custom_objects), entry["name"], entry["outputs"])
    return SklearnMember(_load_skops(data, trusted), entry["name"], n_threads=entry.get("n_threads"))


def _load_loom(data: bytes, custom_objects: dict | None, safe_mode: bool) -> Any:
    from loom.models import load_model
    with tempfile.TemporaryDirectory() as directory:
        file = os.path.join(directory, "member.loom")
        with open(file, "wb") as f:
            f.write(data)
        return load_model(file, custom_objects=custom_objects, compile=False, safe_mode=safe_mode)


def _load_torch(entry: dict, data: bytes, custom_objects: dict | None) -> torch.nn.Module:
    from loom.models.safetensors_io import decode
    from loom.saving import get_registered_object
    name = entry.get("class")
    config = entry.get("config")
    if not isinstance(name, str) or not isinstance(config, dict):
        raise ModelFileError("a torch member needs a string 'class' and a 'config' object.")
    cls = get_registered_object(name, custom_objects)
    if cls is None:
        raise UnsafeLoadError(f"torch class '{name}' is not registered; register it with "
                              f"@loom.saving.register_loom_serializable() or pass it in custom_objects.")
    if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
        raise UnsafeLoadError(f"'{name}' resolves to {cls!r}, which is not a torch.nn.Module class.")
    from_config = getattr(cls, "from_config", None)
    tensors, _ = decode(data, entry["file"])
    with bounded_allocations(allocation_limit(sum(t.numel() * t.element_size() for t in tensors.values())),
                             entry["file"]):  # sizes in the config are bounded by the weights the file holds
        module = from_config(dict(config)) if callable(from_config) else cls(**config)
    expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in tensors.items()}
    if expected != found:
        missing, extra = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
        wrong = sorted(k for k in set(expected) & set(found) if expected[k] != found[k])
        raise ModelFileError(f"the weights do not fit {cls.__name__}: missing {missing[:10]}, unexpected "
                             f"{extra[:10]}, wrong shapes {wrong[:10]}.")
    module.load_state_dict(tensors, strict=True)
    return module


def _load_skops(data: bytes, trusted: Iterable[str] | None) -> Any:
    import skops.io
    extra = set(trusted or ())
    types = skops.io.get_untrusted_types(data=data)
    refused = [t for t in types if not (t in extra or allowed_type(t))]
    if refused:
        raise UnsafeLoadError(f"the scikit-learn member holds types outside the allow-list: {refused[:10]}. "
                              f"If you trust this file, pass them in trusted=[...].")
    return skops.io.loads(data, trusted=list(types))


def allowed_type(name: str) -> bool:
    """Whether a type named by ``skops.io.get_untrusted_types`` is in the built-in allow-list: scikit-learn
    estimator classes, scikit-learn's tree internals, and NumPy scalar, dtype and array types."""
    if name in _SKLEARN_INTERNALS:
        return True
    parts = name.split(".")
    if parts[0] not in ("sklearn", "numpy") or any(p in _TEST_MODULES or p.startswith("test_") for p in parts):
        return False
    cls = _resolve(name)
    if not isinstance(cls, type):
        return False
    if parts[0] == "numpy":
        return issubclass(cls, (np.generic, np.dtype, np.ndarray))
    from sklearn.base import BaseEstimator
    return issubclass(cls, BaseEstimator) and cls.__module__.split(".")[0] == "sklearn"


def _resolve(name: str) -> Any:
    """The object ``module.attr`` names, importing only within scikit-learn or NumPy; ``None`` if absent."""
    module, _, attr = name.rpartition(".")
    if not module or not all(_IDENTIFIER.match(p) for p in name.split(".")):
        return None
    try:
        return getattr(importlib.import_module(module), attr, None)
    except ImportError:
        return None


# --------------------------------------------------------------------------------------------- archive checks
def _read_zip(path: str) -> dict[str, bytes]:
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except FileNotFoundError as e:
        raise ModelFileError(f"{path}: no such file.") from e
    except OSError as e:
        raise ModelFileError(f"{path}: cannot read: {e}") from e
    if head != b"PK\x03\x04":
        raise ModelFileError(f"{path} is not a loom ensemble file (not a zip archive).")

    def check(names: list[str]) -> None:
        bad = [n for n in names if not _ENTRY.match(n)]
        if bad or len(set(names)) != len(names) or len(names) > MAX_MEMBERS + 2 or MANIFEST not in names:
            raise ModelFileError(f"{path}: unexpected archive entries {sorted(set(bad or names))[:10]}; an "
                                 f"ensemble file holds {MANIFEST}, members/<i>.(loom|safetensors|skops) and "
                                 f"optionally {STACKER}, each once.")
    return read_zip_entries(path, check, lambda name: MAX_MANIFEST_BYTES if name == MANIFEST else None)


def _parse_manifest(entries: dict[str, bytes], path: str) -> dict:
    try:
        doc = json.loads(entries[MANIFEST].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ModelFileError(f"{path} ({MANIFEST}) is not valid JSON: {e}") from e
    try:
        return _check_manifest(doc, entries)
    except ModelFileError as e:
        raise ModelFileError(f"{path} ({MANIFEST}): {e}") from e


def _check_manifest(doc: Any, entries: dict[str, bytes]) -> dict:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelFileError(f"not a loom ensemble manifest (no \"format\": \"{FORMAT}\").")
    version = doc.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= FORMAT_VERSION:
        raise ModelFileError(f"format_version {version!r:.40}; this loom reads 1 to {FORMAT_VERSION}.")
    _choice(doc, "method", METHODS)
    _choice(doc, "task", ("auto", "classification", "regression"))
    for key in ("num_classes", "batch_size"):
        if doc.get(key) is not None and not _is_count(doc[key]):
            raise ModelFileError(f"'{key}' must be a positive integer or null, got {doc[key]!r:.40}.")
    weights = doc.get("weights")
    if weights is not None and not (isinstance(weights, list) and all(_is_real(w) for w in weights)):
        raise ModelFileError("'weights' must be a list of numbers or null.")
    if not isinstance(doc.get("fit_info", {}), dict):
        raise ModelFileError("'fit_info' must be an object.")
    doc.setdefault("fit_info", {})
    members = doc.get("members")
    if not isinstance(members, list) or not 1 <= len(members) <= MAX_MEMBERS:
        raise ModelFileError(f"'members' must be a list of 1 to {MAX_MEMBERS} entries.")
    for i, entry in enumerate(members):
        _check_member_entry(i, entry, entries)
    stacker = doc.get("stacker")
    if stacker is not None and (not isinstance(stacker, dict) or stacker.get("file") != STACKER):
        raise ModelFileError(f"'stacker' must be null or an object with \"file\": \"{STACKER}\".")
    used = {e["file"] for e in members} | ({STACKER} if stacker is not None else set()) | {MANIFEST}
    if used != set(entries):
        raise ModelFileError(f"the archive entries {sorted(set(entries) - used)[:5]} are not used, or "
                             f"{sorted(used - set(entries))[:5]} are missing.")
    return doc


def _check_member_entry(index: int, entry: Any, entries: dict[str, bytes]) -> None:
    if not isinstance(entry, dict):
        raise ModelFileError(f"member {index} must be an object.")
    kind = _choice(entry, "kind", tuple(_EXTENSIONS))
    if entry.get("file") != f"members/{index}.{_EXTENSIONS[kind]}":
        raise ModelFileError(f"member {index} ({kind}) must be stored as members/{index}.{_EXTENSIONS[kind]}.")
    if not isinstance(entry.get("name"), str) or not entry["name"]:
        raise ModelFileError(f"member {index} needs a non-empty string 'name'.")
    _choice(entry, "outputs", OUTPUT_KINDS)
    if entry.get("n_threads") is not None and not _is_count(entry["n_threads"]):
        raise ModelFileError(f"member {index}: 'n_threads' must be a positive integer or null.")


def _choice(doc: dict, key: str, valid: tuple) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or value not in valid:
        raise ModelFileError(f"'{key}' must be one of {list(valid)}, got {value!r:.40}.")
    return value


def _number(doc: dict, key: str) -> float:
    value = doc.get(key)
    if not _is_real(value):
        raise ModelFileError(f"'{key}' must be a number, got {value!r:.40}.")
    return float(value)


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2 ** 31


def _fspath(path: Any) -> str:
    try:
        return os.fsdecode(os.fspath(path))
    except TypeError as e:
        raise ConfigError(f"Expected a file path, got {type(path).__name__}.") from e

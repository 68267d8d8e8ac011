"""``ExportArchive``: several serving endpoints of tracked models, written as ``torch.export`` programs.

Keras's archive writes a TensorFlow SavedModel, which needs TensorFlow; loom writes the same content in
torch's own format (``format="torch"``): a directory with one ``torch.export`` program (``<endpoint>.pt2``)
per endpoint, the variable collections in ``variables.safetensors`` and a ``manifest.json`` naming the
endpoints and their input shapes. A server loads an endpoint with
``torch.export.load(path / "serve.pt2").module()``, without loom. ``None`` dimensions of an input signature
are dynamic. The directory is written beside its target and renamed into place when complete.

Example:
    >>> import os, tempfile, torch, loom
    >>> model = loom.Sequential([loom.Input((3,)), loom.layers.Dense(2)])
    >>> archive = loom.export.ExportArchive(format="torch")
    >>> archive.track(model)
    >>> archive.add_endpoint("serve", model.call, input_signature=[loom.InputSpec(shape=(None, 3))])
    >>> path = os.path.join(tempfile.mkdtemp(), "served")
    >>> archive.write_out(path, verbose=False)
    >>> program = torch.export.load(os.path.join(path, "serve.pt2")).module()
    >>> tuple(program(torch.ones(5, 3)).shape)
    (5, 2)
"""

from __future__ import annotations

import io
import json
import os
from typing import Any, Callable

import torch

from loom import backend, structure
from loom.errors import ConfigError, InputError
from loom.io_utils import atomic_directory

__all__ = ["ExportArchive"]

FORMATS = ("torch",)


class _Endpoint(torch.nn.Module):
    """A function of tensors over the tracked modules (registered so their weights go into the program)."""

    def __init__(self, fn: Callable, resources: list) -> None:
        super().__init__()
        self.fn = fn
        self.resources = torch.nn.ModuleList(r for r in resources if isinstance(r, torch.nn.Module))

    def forward(self, *xs: torch.Tensor) -> Any:
        return self.fn(*xs)


class ExportArchive:
    """Collect tracked models, endpoints and variables; write them with :meth:`write_out`.

    Args:
        format: ``"torch"`` (Keras's default ``"saved_model"`` is a TensorFlow format, refused with this
            choice named).

    Example:
        >>> import loom
        >>> archive = ExportArchive(format="torch")
        >>> archive.add_variable_collection("counts", [loom.Variable([1.0, 2.0])])
        >>> sorted(archive._collections)
        ['counts']
    """

    def __init__(self, format: str = "saved_model", **kwargs: Any) -> None:
        if format not in FORMATS:
            raise ConfigError(f"ExportArchive(format={format!r}): loom writes {list(FORMATS)} archives "
                              f"(torch.export programs); '{format}' needs TensorFlow, which loom does not use.")
        self.format = format
        self._resources: list = []
        self._endpoints: dict[str, tuple[Callable, list]] = {}
        self._collections: dict[str, list] = {}

    def track(self, resource: Any) -> None:
        """Make ``resource`` (a built layer or model, or any ``nn.Module``) available to the endpoints."""
        if not isinstance(resource, torch.nn.Module):
            raise ConfigError(f"ExportArchive.track: expected a loom layer, model or torch module; got "
                              f"{type(resource).__name__}.")
        if getattr(resource, "built", True) is False:
            raise ConfigError(f"ExportArchive.track: '{getattr(resource, 'name', resource)}' is not built yet; "
                              f"call it on data (or build it) first.")
        if all(r is not resource for r in self._resources):
            self._resources.append(resource)

    def add_endpoint(self, name: str, fn: Callable, input_signature: Any = None, **kwargs: Any) -> None:
        """Add an endpoint ``name`` computing ``fn`` on inputs of ``input_signature`` (a list of
        ``loom.InputSpec`` / ``loom.Input`` placeholders / ``(shape, dtype)`` pairs, one per argument)."""
        if not isinstance(name, str) or not name.isidentifier():
            raise ConfigError(f"ExportArchive.add_endpoint: the name must be an identifier, got {name!r}.")
        if name in self._endpoints:
            raise ConfigError(f"ExportArchive.add_endpoint: endpoint name '{name}' is already taken.")
        if not callable(fn):
            raise ConfigError(f"ExportArchive.add_endpoint: fn of '{name}' is not callable.")
        if input_signature is None:
            raise ConfigError(f"ExportArchive.add_endpoint('{name}'): pass input_signature (one spec per argument).")
        specs = [_spec(s, name) for s in structure.flatten(input_signature)]
        self._endpoints[name] = (fn, specs)

    def track_and_add_endpoint(self, name: str, resource: Any, input_signature: Any, **kwargs: Any) -> None:
        """Track ``resource`` and add an endpoint calling it."""
        self.track(resource)
        self.add_endpoint(name, resource, input_signature)

    def add_variable_collection(self, name: str, variables: Any) -> None:
        """Save ``variables`` (a list of tensors / loom Variables) under ``name`` in the archive."""
        values = structure.flatten(variables)
        if not values or not all(isinstance(v, torch.Tensor) for v in values):
            raise ConfigError(f"ExportArchive.add_variable_collection('{name}'): expected a non-empty list of "
                              f"variables.")
        self._collections[name] = values

    def write_out(self, filepath: Any, options: Any = None, verbose: bool = True) -> None:
        """Write the archive directory at ``filepath`` (replaced atomically when it exists)."""
        if not self._endpoints:
            raise ConfigError("ExportArchive.write_out: add at least one endpoint first.")
        path = os.path.abspath(os.fspath(filepath))
        with atomic_directory(path, prefix=".export-") as staging:
            manifest = {"format": self.format, "endpoints": {}, "variable_collections": {}}
            for name, (fn, specs) in self._endpoints.items():
                with open(os.path.join(staging, f"{name}.pt2"), "wb") as f:
                    f.write(_program(fn, specs, self._resources))
                manifest["endpoints"][name] = {"file": f"{name}.pt2", "inputs": [
                    {"shape": list(shape), "dtype": backend.dtype_name(dtype)} for shape, dtype in specs]}
            if self._collections:
                from safetensors.torch import save_file
                tensors = {f"{name}/{i}": v.detach().cpu().contiguous().clone()
                           for name, values in self._collections.items() for i, v in enumerate(values)}
                save_file(tensors, os.path.join(staging, "variables.safetensors"))
                manifest["variable_collections"] = {n: len(v) for n, v in self._collections.items()}
            with open(os.path.join(staging, "manifest.json"), "w") as f:
                json.dump(manifest, f, indent=2)
        if verbose:
            print(f"Saved artifact at '{path}'. Endpoints: {', '.join(self._endpoints)}")


def _spec(spec: Any, endpoint: str) -> tuple[tuple, torch.dtype]:
    shape = getattr(spec, "shape", None)
    dtype = getattr(spec, "dtype", None)
    if isinstance(spec, (tuple, list)) and len(spec) == 2 and isinstance(spec[0], (tuple, list)):
        shape, dtype = spec
    if shape is None:
        raise InputError(f"ExportArchive endpoint '{endpoint}': each input spec needs a shape; got {spec!r}.")
    return tuple(shape), backend.torch_dtype(dtype or backend.floatx())


def _program(fn: Callable, specs: list, resources: list) -> bytes:
    module = _Endpoint(fn, resources).eval()
    examples = tuple(torch.zeros([2 if d is None else d for d in shape], dtype=dtype) for shape, dtype in specs)
    dynamic = tuple({i: torch.export.Dim.AUTO for i, d in enumerate(shape) if d is None} or None
                    for shape, _ in specs)
    with torch.no_grad():
        program = torch.export.export(module, examples, dynamic_shapes=(dynamic,))
    buffer = io.BytesIO()
    torch.export.save(program, buffer)
    return buffer.getvalue()

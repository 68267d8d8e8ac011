"""``model.export``: a trained model as a file a server runs without loom (ONNX, or a ``torch.export`` program).

* ``format="onnx"``: through ``torch.onnx`` (the TorchScript exporter, which needs no extra package), every
  ``None`` dimension of the inputs (the batch at least) dynamic; run it with ``onnxruntime``.
* ``format="torch"``: a ``torch.export`` program (``.pt2``), loaded with ``torch.export.load(path).module()``
  and called with the same tensors as the model; the batch dimension is dynamic.

Inputs and outputs are flat: one tensor per model input, in ``model.inputs`` order, named after the
``Input`` layers; one per output, named after the output layers. The file is written atomically.

Example:
    >>> import os, tempfile, numpy as np, torch, loom
    >>> model = loom.Sequential([loom.Input((3,)), loom.layers.Dense(2)])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.pt2")
    >>> model.export(path, format="torch", verbose=False)
    >>> program = torch.export.load(path).module()
    >>> x = np.ones((4, 3), "float32")
    >>> bool(np.allclose(program(torch.from_numpy(x))[0].detach().numpy(), model.predict(x, verbose=0)))
    True
"""

from __future__ import annotations

import io
import warnings
from typing import Any

import torch

from loom import structure
from loom.errors import ConfigError
from loom.io_utils import atomic_write

FORMATS = ("onnx", "torch")
ONNX_OPSET = 17


class _FlatModel(torch.nn.Module):
    """The model with flat positional tensor inputs and a tuple of tensor outputs."""

    def __init__(self, model: Any):
        super().__init__()
        self.model = model
        self.kind = getattr(model, "_input_kind", "single")
        self.keys = getattr(model, "_input_keys", None)

    def forward(self, *xs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if self.kind == "dict":
            inputs: Any = dict(zip(self.keys, xs))
        elif self.kind == "single":
            inputs = xs[0]
        else:
            inputs = list(xs)
        return tuple(structure.flatten(self.model(inputs)))


def _specs(model: Any) -> list:
    inputs = getattr(model, "inputs", None)
    if not inputs:
        raise ConfigError(f"Model '{getattr(model, 'name', '?')}' has no known inputs to export: build it on "
                          f"loom.Input(...) (or give Sequential an Input) first.")
    return list(inputs)


def _examples(specs: list) -> tuple[torch.Tensor, ...]:
    out = []
    for spec in specs:
        shape = [2 if d is None else d for d in spec.shape]
        dtype = spec.torch_dtype
        out.append(torch.zeros(shape, dtype=dtype) if dtype.is_floating_point or dtype == torch.bool
                   else torch.ones(shape, dtype=dtype))
    return tuple(out)


def _names(model: Any, specs: list) -> tuple[list[str], list[str]]:
    inputs = [spec.node.layer.name if spec.node is not None else f"input_{i}" for i, spec in enumerate(specs)]
    outputs = [t.node.layer.name if getattr(t, "node", None) is not None else f"output_{i}"
               for i, t in enumerate(structure.flatten(model.outputs))]
    return inputs, _unique(outputs)


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, -1) + 1
        out.append(name if not seen[name] else f"{name}_{seen[name]}")
    return out


def export_model(model: Any, filepath: Any, format: str = "tf_saved_model", verbose: bool | None = None,
                 input_signature: Any = None, **kwargs: Any) -> None:
    """Write ``model`` for serving; see the module docstring.

    Args:
        model: a functional or ``Sequential`` model with known inputs.
        filepath: where to write (``.onnx`` / ``.pt2`` suggested).
        format: ``"onnx"`` or ``"torch"`` (Keras's default ``"tf_saved_model"`` needs TensorFlow, which
            loom does not use, so it is refused with the valid choices).
        verbose: print where the file went (default ``None``: yes, as Keras).
        input_signature: unused; the inputs come from ``model.inputs`` (default ``None``).
        **kwargs: ``opset_version`` for ONNX (default 17).

    Raises:
        ConfigError: unknown format, or a model without known inputs.
    """
    import os
    if format not in FORMATS:
        raise ConfigError(f"model.export(format={format!r}): loom exports {list(FORMATS)} ('tf_saved_model' and "
                          f"'openvino' need TensorFlow / OpenVINO runtimes that loom does not use).")
    if input_signature is not None:
        raise ConfigError("model.export(input_signature=...): loom exports the model's own Input shapes; build "
                          "the model on loom.Input(...) with the shapes to serve.")
    path = os.fspath(filepath)
    specs = _specs(model)
    flat = _FlatModel(model)
    was_training = model.training
    model.eval()
    try:  # gradients stay on, so inference-only shortcuts (in-place ops, chunking) are not recorded
        data = (_onnx_bytes if format == "onnx" else _program_bytes)(flat, model, specs, **kwargs)
    finally:
        model.train(was_training)
    atomic_write(path, data)
    if verbose is None or verbose:
        print(f"Saved {format} export of model '{model.name}' to {path}")


def _onnx_bytes(flat: _FlatModel, model: Any, specs: list, opset_version: int = ONNX_OPSET) -> bytes:
    input_names, output_names = _names(model, specs)
    dynamic = {name: {i: f"{name}_dim{i}" for i, d in enumerate(spec.shape) if d is None}
               for name, spec in zip(input_names, specs)}
    dynamic.update({name: {0: "batch"} for name in output_names})
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export.*")
        warnings.filterwarnings("ignore", message="The feature will be removed.*", category=DeprecationWarning)
        torch.onnx.export(flat, _examples(specs), buffer, dynamo=False, input_names=input_names,
                          output_names=output_names, dynamic_axes=dynamic, opset_version=opset_version)
    return buffer.getvalue()


def _program_bytes(flat: _FlatModel, model: Any, specs: list) -> bytes:
    batch = torch.export.Dim.AUTO
    dynamic = tuple({0: batch} if spec.shape and spec.shape[0] is None else None for spec in specs)
    program = torch.export.export(flat, _examples(specs), dynamic_shapes=(dynamic,))  # one entry: *xs
    buffer = io.BytesIO()
    torch.export.save(program, buffer)
    return buffer.getvalue()

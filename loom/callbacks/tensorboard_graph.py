"""The model's op graph for TensorBoard's Graphs dashboard, every op under its layer's name scope.

The model is traced once with ``torch.jit.trace`` in inference mode and without the re-trace check (a
recurrent layer's trace differs between two runs only in names, which the check reports as "Graphs differed
across invocations"). Each traced op becomes a ``NodeDef`` named ``<model>/<layer>/<op>_<n>``: TensorBoard
draws the model as one box named after it, holding one box per layer (nested models open into their own
layers). The model's inputs are ``<model>/input_<i>`` nodes and its outputs ``<model>/output_<i>``.

Example:
    >>> import loom
    >>> model = loom.Sequential([loom.Input((3,)), loom.layers.Dense(2, name="dense")], name="tiny")
    >>> graph = model_graph_def(model, sample_args(model))
    >>> sorted({node.name.rsplit("/", 1)[0] for node in graph.node})
    ['tiny', 'tiny/dense']
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

from loom import structure

_SKIPPED = {"prim::Constant", "prim::GetAttr", "prim::ListConstruct", "prim::TupleConstruct",
            "prim::TupleUnpack", "prim::ListUnpack"}


class _Traceable(torch.nn.Module):
    """Calls the model on its (single or list) input and returns a tuple, which tracing needs."""

    def __init__(self, model: Any):
        super().__init__()
        self.model = model

    def forward(self, inputs):
        return tuple(structure.flatten(self.model(inputs)))


def sample_args(model: Any, validation_x: Any = None) -> tuple | None:
    """Arguments for tracing ``model``: one sample of ``validation_x``, else zeros of the input shapes."""
    if validation_x is not None:
        sample = structure.map_structure(lambda a: torch.as_tensor(np.asarray(a[:1])), validation_x)
    else:
        inputs = getattr(model, "inputs", None)
        if not inputs:
            return None
        zeros = [torch.zeros((1,) + tuple(1 if d is None else d for d in t.shape[1:]), dtype=_dtype(t.dtype))
                 for t in inputs]
        sample = zeros[0] if len(zeros) == 1 else zeros
    if isinstance(sample, dict):
        sample = [sample[k] for k in sorted(sample)]
    return (sample,)


def _dtype(dtype: Any) -> torch.dtype:
    return dtype if isinstance(dtype, torch.dtype) else getattr(torch, str(dtype), torch.float32)


def _scope_names(wrapper: torch.nn.Module) -> dict[str, str]:
    """``{module path in the trace: 'model/layer/...'}`` built from loom's layer names."""
    names = {"": ""}
    for path, module in wrapper.named_modules():
        if not path:
            continue
        parent = names[path.rsplit(".", 1)[0] if "." in path else ""]
        own = getattr(module, "name", None) or path.rsplit(".", 1)[-1]
        names[path] = f"{parent}/{own}" if parent else str(own)
    return names


def _scope_of(node: Any, scopes: dict[str, str], root: str) -> str:
    """The layer scope of a traced node (its innermost module), or the model's own scope."""
    scope = node.scopeName()
    if not scope:
        return root
    path = scope.rsplit("/", 1)[-1].removeprefix("__module.")
    return scopes.get(path, root)


def _node_def(name: str, op: str, inputs: list[str], value: Any) -> Any:
    from tensorboard.compat.proto.attr_value_pb2 import AttrValue
    from tensorboard.compat.proto.node_def_pb2 import NodeDef
    return NodeDef(name=name, op=op, input=inputs, attr={"type": AttrValue(s=str(value).encode())})


def model_graph_def(model: Any, args: tuple) -> Any:
    """Trace ``model`` on ``args`` and return a TensorBoard ``GraphDef`` with one name scope per layer.

    Args:
        model: a loom model (any ``torch.nn.Module`` with a ``name``).
        args: the positional arguments of one call, as :func:`sample_args` makes them.

    Returns:
        A ``tensorboard.compat.proto.graph_pb2.GraphDef``.
    """
    from tensorboard.compat.proto.graph_pb2 import GraphDef
    from tensorboard.compat.proto.versions_pb2 import VersionDef
    wrapper = _Traceable(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(wrapper, args, check_trace=False, strict=False)
    graph = traced.inlined_graph
    scopes = _scope_names(wrapper)
    root = scopes.get("model") or str(getattr(model, "name", "model"))
    producer: dict[str, str] = {}
    nodes, counts = [], {}
    for i, value in enumerate(list(graph.inputs())[1:]):
        name = f"{root}/input_{i}"
        producer[value.debugName()] = name
        nodes.append(_node_def(name, "Input", [], value.type()))
    for node in graph.nodes():
        kind = node.kind()
        if kind in _SKIPPED:
            if kind in ("prim::TupleConstruct", "prim::ListConstruct", "prim::TupleUnpack", "prim::ListUnpack"):
                sources = [producer[v.debugName()] for v in node.inputs() if v.debugName() in producer]
                for out in node.outputs():
                    if sources:
                        producer[out.debugName()] = sources[0] if len(sources) == 1 else sources[-1]
            continue
        op = kind.split("::", 1)[-1]
        scope = _scope_of(node, scopes, root)
        counts[(scope, op)] = counts.get((scope, op), -1) + 1
        name = f"{scope}/{op}_{counts[(scope, op)]}"
        inputs = [producer[v.debugName()] for v in node.inputs() if v.debugName() in producer]
        nodes.append(_node_def(name, kind, inputs, ", ".join(str(o.type()) for o in node.outputs())))
        for out in node.outputs():
            producer[out.debugName()] = name
    outputs = list(graph.outputs())[0].node()
    finals = list(outputs.inputs()) if outputs.kind() == "prim::TupleConstruct" else list(graph.outputs())
    for i, value in enumerate(finals):
        if value.debugName() in producer:
            nodes.append(_node_def(f"{root}/output_{i}", "Output", [producer[value.debugName()]], value.type()))
    return GraphDef(node=nodes, versions=VersionDef(producer=22))


def write_graph(writer: Any, model: Any, validation_x: Any = None) -> bool:
    """Write ``model``'s graph into ``writer``'s run (traced in inference mode); warn and skip on failure.

    Args:
        writer: a ``torch.utils.tensorboard.SummaryWriter``.
        model: the loom model.
        validation_x: inputs to take one sample from (default ``None``: zeros of the model's input shapes).

    Returns:
        Whether the graph was written.
    """
    from tensorboard.compat.proto.event_pb2 import Event
    args = sample_args(model, validation_x)
    if args is None:
        warnings.warn("TensorBoard: the model graph is not written: the model has no symbolic inputs and no "
                      "validation data to trace it with.", stacklevel=3)
        return False
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    args = structure.map_structure(lambda t: t.to(device), args)
    was_training = model.training
    model.eval()
    try:
        graph = model_graph_def(model, args)
        writer.file_writer.add_event(Event(graph_def=graph.SerializeToString()))
        return True
    except Exception as e:  # noqa: BLE001 - tracing can fail in many ways; the graph is optional
        warnings.warn(f"TensorBoard: the model graph is not written: torch.jit.trace failed "
                      f"({type(e).__name__}: {str(e)[:200]}).", stacklevel=3)
        return False
    finally:
        model.train(was_training)

"""The functional graph: nodes, ordering, and running it on real tensors.

A :class:`Node` is one call of a layer on symbolic tensors: its inputs are the symbolic tensors the call
received (anywhere in its arguments), its outputs the symbolic tensors it returned. Symbolic tensors are
the edges. Calling one layer twice makes two nodes that share the layer's weights.

:func:`map_graph` walks back from a model's outputs to its inputs and orders layers exactly as Keras does
(by depth from the outputs, ties broken by traversal order), so ``model.layers`` and ``get_weights()`` line
up with a Keras model of the same architecture. :class:`GraphRunner` compiles the ordered nodes into a flat
list of steps over integer slots, so a forward pass is one Python loop with no dictionary look-ups.

Example:
    >>> import loom
    >>> a = loom.Input((4,), name="a")
    >>> h = loom.layers.Dense(3, name="h")(a)
    >>> nodes, layers = map_graph([a], [h])
    >>> [l.name for l in layers]
    ['a', 'h']
"""

from __future__ import annotations

import collections
from typing import Any, Sequence

import torch

from loom import structure
from loom.errors import GraphError
from loom.symbolic import SymbolicTensor


class Node:
    """One call of ``layer`` on symbolic ``call_args`` / ``call_kwargs`` producing ``outputs``."""

    def __init__(self, layer, call_args: tuple = (), call_kwargs: dict | None = None, outputs: Any = None):
        self.layer = layer
        self.call_args = call_args
        self.call_kwargs = call_kwargs or {}
        self.input_tensors: list[SymbolicTensor] = [
            t for t in structure.flatten([list(call_args), self.call_kwargs]) if isinstance(t, SymbolicTensor)]
        self.outputs = outputs
        self.output_tensors: list[SymbolicTensor] = [t for t in structure.flatten(outputs)
                                                     if isinstance(t, SymbolicTensor)]
        layer._inbound_nodes.append(self)

    @property
    def is_input(self) -> bool:
        return not self.input_tensors and not self.call_args

    @property
    def parent_nodes(self) -> list["Node"]:
        return [t.node for t in self.input_tensors if t.node is not None]

    @property
    def index(self) -> int:
        return self.layer._inbound_nodes.index(self)

    def __repr__(self) -> str:
        return f"<Node {self.layer.name}[{self.index}]>"


def _build_map(inputs: Sequence[SymbolicTensor], outputs: Sequence[SymbolicTensor]):
    finished: set = set()
    in_progress: set = set()
    ordered: list[Node] = []
    layer_indices: dict = {}
    input_ids = {id(t) for t in inputs}

    def visit(tensor: SymbolicTensor):
        node = tensor.node
        if node is None or node in finished:
            return
        if node in in_progress:
            raise GraphError(f"The graph has a cycle at layer '{node.layer.name}'.")
        layer_indices.setdefault(node.layer, len(layer_indices))
        in_progress.add(node)
        if not node.is_input and id(tensor) not in input_ids:
            for parent in node.input_tensors:
                visit(parent)
        finished.add(node)
        in_progress.discard(node)
        ordered.append(node)

    for out in outputs:
        visit(out)
    return ordered, layer_indices


def map_graph(inputs: Sequence[SymbolicTensor], outputs: Sequence[SymbolicTensor]):
    """Order the graph between ``inputs`` and ``outputs``.

    Returns:
        ``(nodes, layers)``: nodes in execution order (inputs first) and the distinct layers in Keras order.

    Raises:
        GraphError: an output needs an Input that is not among ``inputs`` (the message names it), or two
            layers share a name.
    """
    ordered, layer_indices = _build_map(inputs, outputs)
    node_depth: dict = {}
    layer_depth: dict = {}
    for node in reversed(ordered):
        depth = node_depth.setdefault(node, 0)
        depth = max(depth, layer_depth.get(node.layer, 0))
        layer_depth[node.layer] = depth
        node_depth[node] = depth
        for parent in node.parent_nodes:
            node_depth[parent] = max(depth + 1, node_depth.get(parent, 0))
    for t in inputs:
        if t.node is not None and t.node.layer not in layer_depth:
            layer_depth[t.node.layer] = 0
            layer_indices[t.node.layer] = -1
            node_depth[t.node] = 0

    layers_by_depth = collections.defaultdict(list)
    for layer, depth in layer_depth.items():
        layers_by_depth[depth].append(layer)
    layers = []
    for depth in sorted(layers_by_depth, reverse=True):
        layers.extend(sorted(layers_by_depth[depth], key=lambda l: layer_indices[l]))

    nodes_by_depth = collections.defaultdict(list)
    for node, depth in node_depth.items():
        nodes_by_depth[depth].append(node)
    nodes = [n for depth in sorted(nodes_by_depth, reverse=True) for n in nodes_by_depth[depth]]

    _check_computable(inputs, nodes)
    names = [l.name for l in layers]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise GraphError(f"Layer names must be unique in a model; these appear more than once: {dupes}. "
                         f"Give each layer its own name=.")
    return nodes, layers


def _check_computable(inputs: Sequence[SymbolicTensor], nodes: list[Node]) -> None:
    known = {id(t) for t in inputs}
    given = [getattr(t.node.layer, "name", "?") if t.node else repr(t) for t in inputs]
    for node in nodes:
        if node.is_input and not any(id(t) in known for t in node.output_tensors):
            raise GraphError(
                f"Graph disconnected: the outputs depend on Input '{node.layer.name}' "
                f"(shape {node.output_tensors[0].shape}), which is not among the model's inputs {given}. "
                f"Add it to Model(inputs=...).")
        for t in node.input_tensors:
            if id(t) not in known:
                raise GraphError(
                    f"Graph disconnected: layer '{node.layer.name}' needs {t}, which cannot be computed from "
                    f"the model's inputs {given}.")
        if not node.is_input or any(id(t) in known for t in node.output_tensors):
            known.update(id(t) for t in node.output_tensors)


class GraphRunner:
    """Runs ordered nodes on real tensors through integer slots.

    Each step is ``(layer, simple, arg_slots, rebuild, out_slots, mask_slot)``; the common case of one
    positional tensor in and one tensor out (``simple``) costs one list read and one call.
    """

    def __init__(self, inputs: Sequence[SymbolicTensor], outputs: Sequence[SymbolicTensor], nodes: list[Node]):
        slot_of: dict[int, int] = {}

        def slot(t: SymbolicTensor) -> int:
            return slot_of.setdefault(id(t), len(slot_of))

        self.input_slots = [slot(t) for t in inputs]
        self.has_masks = any(t.has_mask for n in nodes for t in n.output_tensors)
        self.steps = []
        input_ids = {id(t) for t in inputs}
        for node in nodes:
            if node.is_input or all(id(t) in input_ids for t in node.output_tensors):
                continue
            arg_slots = [slot(t) for t in node.input_tensors]
            simple = (len(node.call_args) == 1 and isinstance(node.call_args[0], SymbolicTensor)
                      and not node.call_kwargs and isinstance(node.outputs, SymbolicTensor))
            out_slots = [slot(t) for t in node.output_tensors]
            takes_mask = getattr(node.layer, "_call_takes_mask", False)
            mask_in = [slot(t) if t.has_mask else None for t in structure.flatten(node.call_args[:1])]
            needs_mask = takes_mask and any(m is not None for m in mask_in)
            emits_mask = any(t.has_mask for t in node.output_tensors)
            self.steps.append((node, simple and not needs_mask and not emits_mask, arg_slots, out_slots,
                               mask_in if (needs_mask or emits_mask) else None))
        self.output_slots = [slot(t) for t in outputs]
        self.num_slots = len(slot_of)
        self.slot_of = slot_of

    def run(self, values: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        slots: list[Any] = [None] * self.num_slots
        for s, v in zip(self.input_slots, values):
            slots[s] = v
        masks: list[Any] | None = [None] * self.num_slots if self.has_masks else None
        call = torch.nn.Module.__call__
        for node, simple, arg_slots, out_slots, mask_in in self.steps:
            if simple:
                slots[out_slots[0]] = call(node.layer, slots[arg_slots[0]])
                continue
            out = self._run_node(node, slots, masks, mask_in)
            for s, v in zip(out_slots, structure.flatten(out)):
                slots[s] = v
        return [slots[s] for s in self.output_slots]

    def _run_node(self, node: Node, slots: list, masks: list | None, mask_in: list | None):
        slot_of = self.slot_of

        def real(v):
            return slots[slot_of[id(v)]] if isinstance(v, SymbolicTensor) else v
        args = structure.map_structure(real, node.call_args)
        kwargs = structure.map_structure(real, node.call_kwargs)
        in_mask = None
        if mask_in is not None:
            flat_masks = [masks[m] if m is not None else None for m in mask_in]
            in_mask = flat_masks[0] if isinstance(node.call_args[0], SymbolicTensor) else flat_masks
            if getattr(node.layer, "_call_takes_mask", False) and any(m is not None for m in flat_masks):
                kwargs["mask"] = in_mask
        out = torch.nn.Module.__call__(node.layer, *args, **kwargs)
        if mask_in is not None and masks is not None:
            out_mask = node.layer.compute_mask(args[0], in_mask)
            outs = node.output_tensors
            flat = list(out_mask) if isinstance(out_mask, (list, tuple)) else [out_mask] * len(outs)
            for t, m in zip(outs, flat):
                if t.has_mask:
                    masks[slot_of[id(t)]] = m
        return out

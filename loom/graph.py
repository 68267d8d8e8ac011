"""The functional graph: nodes, ordering, and running it on real tensors.

A :class:`Node` is one call of a layer on symbolic tensors: its inputs are the symbolic tensors the call
received (anywhere in its arguments), its outputs the symbolic tensors it returned. Symbolic tensors are
the edges. Calling one layer twice makes two nodes that share the layer's weights.

:func:`map_graph` walks back from a model's outputs to its inputs and orders layers exactly as Keras does
(by depth from the outputs, ties broken by traversal order), so ``model.layers`` and ``get_weights()`` line
up with a Keras model of the same architecture. :class:`GraphRunner` compiles the ordered nodes into a flat
list of steps over integer slots, so a forward pass is one Python loop with no dictionary look-ups. It calls
every layer as written, with or without gradients; the inference rewrites live in :mod:`loom.inference`.

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
from typing import Any, NamedTuple, Sequence

import torch

from loom import structure
from loom.errors import GraphError
from loom.symbolic import SymbolicTensor


class Node:
    """One call of ``layer`` on symbolic ``call_args`` / ``call_kwargs`` producing ``outputs``.

    Args:
        layer: the layer called.
        call_args: the positional arguments of the call (symbolic tensors anywhere inside; default ``()``).
        call_kwargs: the keyword arguments (default ``None``: none).
        outputs: the structure of symbolic tensors the call returned (default ``None``).
        training: an explicit ``training=`` given at the call, replayed whenever the graph runs
            (default ``None``: follow the model's mode).
    """

    def __init__(self, layer, call_args: tuple = (), call_kwargs: dict | None = None, outputs: Any = None,
                 training: bool | None = None):
        self.layer = layer
        self.call_args = call_args
        self.call_kwargs = call_kwargs or {}
        self.training = training
        self.input_tensors: list[SymbolicTensor] = [
            t for t in structure.flatten([list(call_args), self.call_kwargs]) if isinstance(t, SymbolicTensor)]
        self.outputs = outputs
        self.output_tensors: list[SymbolicTensor] = [t for t in structure.flatten(outputs)
                                                     if isinstance(t, SymbolicTensor)]
        self.is_input = not self.input_tensors and not call_args
        layer._inbound_nodes.append(self)

    @property
    def parent_nodes(self) -> list["Node"]:
        return [t.node for t in self.input_tensors if t.node is not None]

    @property
    def index(self) -> int:
        """Position of this node among its layer's calls (Keras's ``node_index``)."""
        return self.layer._inbound_nodes.index(self)

    def __repr__(self) -> str:
        return f"<Node {self.layer.name}[{self.index}]>"


class GraphMap(NamedTuple):
    """An ordered graph: ``nodes`` in execution order, ``layers`` in Keras order, ``nodes_by_depth``."""

    nodes: list
    layers: list
    nodes_by_depth: dict


def _build_map(inputs: Sequence[SymbolicTensor], outputs: Sequence[SymbolicTensor]):
    """Depth-first post-order of the nodes behind ``outputs`` (Keras's ``_build_map``, without recursion)."""
    finished: set = set()
    in_progress: set = set()
    ordered: list[Node] = []
    layer_indices: dict = {}
    input_ids = {id(t) for t in inputs}

    def enter(tensor: SymbolicTensor) -> Node | None:
        node = tensor.node
        if node is None or node in finished:
            return None
        if not node.is_input and id(tensor) in input_ids:
            finished.add(node)  # an intermediate tensor given as a model input: the graph starts here
            return None
        if node in in_progress:
            raise GraphError(f"The graph has a cycle at layer '{node.layer.name}'.")
        layer_indices.setdefault(node.layer, len(layer_indices))
        in_progress.add(node)
        return node

    for out in outputs:
        node = enter(out)
        if node is None:
            continue
        stack = [(node, iter(node.input_tensors))]
        while stack:
            node, parents = stack[-1]
            for tensor in parents:
                child = enter(tensor)
                if child is not None:
                    stack.append((child, iter(child.input_tensors)))
                    break
            else:
                stack.pop()
                finished.add(node)
                in_progress.discard(node)
                ordered.append(node)
    return ordered, layer_indices


def build_graph(inputs: Sequence[SymbolicTensor], outputs: Sequence[SymbolicTensor]) -> GraphMap:
    """Order the graph between ``inputs`` and ``outputs`` as Keras's ``map_graph`` does.

    Raises:
        GraphError: an output needs an Input that is not among ``inputs`` (the message names it), or two
            layers share a name.
    """
    ordered, layer_indices = _build_map(inputs, outputs)
    in_graph = set(ordered)
    node_depth: dict = {}
    layer_depth: dict = {}
    for node in reversed(ordered):
        depth = max(node_depth.setdefault(node, 0), layer_depth.get(node.layer, 0))
        layer_depth[node.layer] = depth
        node_depth[node] = depth
        for parent in node.parent_nodes:
            if parent in in_graph:
                node_depth[parent] = max(depth + 1, node_depth.get(parent, 0))
    for t in inputs:  # inputs that no output uses still belong to the model
        if t.node is not None and t.node.is_input and t.node.layer not in layer_depth:
            layer_depth[t.node.layer] = 0
            layer_indices[t.node.layer] = -1
            node_depth[t.node] = 0

    layers_by_depth = collections.defaultdict(list)
    for layer, depth in layer_depth.items():
        layers_by_depth[depth].append(layer)
    layers = []
    for depth in sorted(layers_by_depth, reverse=True):
        layers.extend(sorted(layers_by_depth[depth], key=lambda l: layer_indices[l]))

    nodes_by_depth: dict = collections.defaultdict(list)
    for node, depth in node_depth.items():
        nodes_by_depth[depth].append(node)
    nodes_by_depth = {d: nodes_by_depth[d] for d in sorted(nodes_by_depth, reverse=True)}
    nodes = [n for group in nodes_by_depth.values() for n in group]

    _check_computable(inputs, nodes)
    names = [l.name for l in layers]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise GraphError(f"Layer names must be unique in a model; these appear more than once: {dupes}. "
                         f"Give each layer its own name=.")
    return GraphMap(nodes, layers, nodes_by_depth)


def map_graph(inputs: Sequence[SymbolicTensor], outputs: Sequence[SymbolicTensor]):
    """Order the graph between ``inputs`` and ``outputs``.

    Returns:
        ``(nodes, layers)``: nodes in execution order (inputs first) and the distinct layers in Keras order.

    Raises:
        GraphError: an output needs an Input that is not among ``inputs`` (the message names it), or two
            layers share a name.
    """
    graph = build_graph(inputs, outputs)
    return graph.nodes, graph.layers


def _tensor_label(t: SymbolicTensor) -> str:
    if t.node is None:
        return repr(t)
    return f"'{t.node.layer.name}' output {t.index} (shape {t.shape})"


def _check_computable(inputs: Sequence[SymbolicTensor], nodes: list[Node]) -> None:
    known = {id(t) for t in inputs}
    given = [t.node.layer.name if t.node else repr(t) for t in inputs]
    for node in nodes:
        if node.is_input:
            if not any(id(t) in known for t in node.output_tensors):
                raise GraphError(
                    f"Graph disconnected: the outputs depend on Input '{node.layer.name}' "
                    f"(shape {node.output_tensors[0].shape}), which is not among the model's inputs {given}. "
                    f"Add it to Model(inputs=...).")
            continue
        for t in node.input_tensors:
            if id(t) not in known:
                raise GraphError(
                    f"Graph disconnected: layer '{node.layer.name}' needs {_tensor_label(t)}, which cannot be "
                    f"computed from the model's inputs {given}.")
        known.update(id(t) for t in node.output_tensors)


# Step kinds of a compiled graph (loom.inference adds its own rewritten kinds on top of these).
_ONE = 0      # layer(x): one positional tensor in, one tensor out
_LIST = 1     # layer([x1, x2, ...]): one list of tensors in (merge layers), one tensor out
_GENERAL = 2  # anything else: nested arguments, keyword tensors, several outputs, masks, training=


class GraphRunner:
    """Runs ordered nodes on real tensors through integer slots.

    Each step is ``(layer, kind, arg_slots, out_slots, node, mask_in, releases)``. The common cases (one tensor in and
    out, or a list of tensors in and one out) cost one call and no allocation beyond the call's own list.
    :class:`loom.inference.InferencePlan` reads these steps (and :meth:`readers`) to plan its rewrites.
    """

    def __init__(self, inputs: Sequence[SymbolicTensor], outputs: Sequence[SymbolicTensor], nodes: list[Node],
                 input_masks: bool = False):
        slot_of: dict[int, int] = {}

        def slot(t: SymbolicTensor) -> int:
            return slot_of.setdefault(id(t), len(slot_of))

        self.input_slots = [slot(t) for t in inputs]
        # With input_masks (a model called with a mask, e.g. nested in a model with Embedding(mask_zero)), the
        # inputs may carry masks the symbolic graph did not see: they flow on through every layer they reach.
        self.maybe_masked: set[int] = {id(t) for t in inputs} if input_masks else set()
        self.has_masks = input_masks or any(t.has_mask for n in nodes for t in n.output_tensors)
        self.steps = []
        input_ids = {id(t) for t in inputs}
        for node in nodes:
            if node.is_input or all(id(t) in input_ids for t in node.output_tensors):
                continue
            arg_slots = [slot(t) for t in node.input_tensors]
            out_slots = [slot(t) for t in node.output_tensors]
            mask_in = self._mask_inputs(node, slot, self.maybe_masked)
            if self.maybe_masked and mask_in is not None and any(m is not None for m in mask_in):
                self.maybe_masked.update(id(t) for t in node.output_tensors)
            self.steps.append((node.layer, self._kind(node, mask_in), arg_slots, out_slots, node, mask_in))
        self.output_slots = [slot(t) for t in outputs]
        self.num_slots = len(slot_of)
        self.slot_of = slot_of
        readers = self.readers()
        self.steps = [step + (releases,) for step, releases in zip(self.steps, self._releases(readers))]

    def readers(self) -> dict[int, list[int]]:
        """Per slot, the indices of the steps that read it."""
        readers: dict[int, list[int]] = {}
        for index, step in enumerate(self.steps):
            for s in step[2]:
                readers.setdefault(s, []).append(index)
        return readers

    def _releases(self, readers: dict[int, list[int]]) -> list[tuple[int, ...]]:
        """Per step, the slots whose last reader it is: dropped right after it, so intermediate tensors are
        freed as the graph runs (as in eager torch code) instead of all living until the end."""
        releases: list[list[int]] = [[] for _ in self.steps]
        outputs = set(self.output_slots)
        for s, indices in readers.items():
            if s not in outputs:
                releases[indices[-1]].append(s)
        return [tuple(r) for r in releases]

    @staticmethod
    def _mask_inputs(node: Node, slot, maybe_masked: set[int] = frozenset()) -> list | None:
        """Slots of the masks of the first argument's tensors, when masks matter at this node."""
        first = structure.flatten(node.call_args[:1])
        mask_in = [slot(t) if isinstance(t, SymbolicTensor) and (t.has_mask or id(t) in maybe_masked) else None
                   for t in first]
        fed = any(m is not None for m in mask_in)
        needs_mask = getattr(node.layer, "_call_takes_mask", False) and fed
        emits_mask = any(t.has_mask for t in node.output_tensors) or (fed and bool(maybe_masked))
        return mask_in if (needs_mask or emits_mask) else None

    @staticmethod
    def _kind(node: Node, mask_in: list | None) -> int:
        if mask_in is not None or node.training is not None or node.call_kwargs or len(node.call_args) != 1:
            return _GENERAL
        if not isinstance(node.outputs, SymbolicTensor):
            return _GENERAL
        arg = node.call_args[0]
        if isinstance(arg, SymbolicTensor):
            return _ONE
        if isinstance(arg, list) and arg and all(isinstance(t, SymbolicTensor) for t in arg):
            return _LIST
        return _GENERAL

    def run(self, values: Sequence[torch.Tensor], input_masks: Sequence[Any] | None = None) -> list[torch.Tensor]:
        """The outputs (in order) for input tensors ``values`` (in ``inputs`` order), every layer called as
        written (inference rewrites live in :mod:`loom.inference`). ``input_masks`` (one per input, or ``None``)
        needs a runner built with ``input_masks=True``."""
        slots: list[Any] = [None] * self.num_slots
        for s, v in zip(self.input_slots, values):
            slots[s] = v
        masks: list[Any] | None = [None] * self.num_slots if self.has_masks else None
        if input_masks is not None and masks is not None:
            for s, m in zip(self.input_slots, input_masks):
                masks[s] = m
        call = torch.nn.Module.__call__
        for layer, kind, arg_slots, out_slots, node, mask_in, releases in self.steps:
            if kind == _ONE:
                slots[out_slots[0]] = call(layer, slots[arg_slots[0]])
            elif kind == _LIST:
                slots[out_slots[0]] = call(layer, [slots[s] for s in arg_slots])
            else:
                self.run_general(node, slots, masks, mask_in, out_slots)
            for s in releases:
                slots[s] = None
        outs = [slots[s] for s in self.output_slots]
        if masks is not None:
            attach_output_masks(outs, [masks[s] for s in self.output_slots])
        return outs

    def run_general(self, node: Node, slots: list, masks: list | None, mask_in: list | None,
                    out_slots: list[int]) -> None:
        """Run a ``_GENERAL`` step: its outputs go to ``out_slots`` (and their masks to ``masks``)."""
        out = self._run_node(node, slots, masks, mask_in)
        for s, v in zip(out_slots, structure.flatten(out)):
            slots[s] = v

    def _run_node(self, node: Node, slots: list, masks: list | None, mask_in: list | None):
        slot_of = self.slot_of
        layer = node.layer

        def real(v):
            return slots[slot_of[id(v)]] if isinstance(v, SymbolicTensor) else v
        args = structure.map_structure(real, node.call_args)
        kwargs = structure.map_structure(real, node.call_kwargs)
        in_mask = None
        if mask_in is not None:
            flat_masks = [masks[m] if m is not None else None for m in mask_in]
            in_mask = flat_masks[0] if isinstance(node.call_args[0], SymbolicTensor) else flat_masks
            if getattr(layer, "_call_takes_mask", False) and any(m is not None for m in flat_masks):
                kwargs["mask"] = in_mask
        if masks is not None and getattr(layer, "_mask_arguments", ()):
            _fill_argument_masks(layer, node, kwargs, masks, slot_of)
        if node.training is not None:
            out = type(layer).__call__(layer, *args, training=node.training, **kwargs)
        else:
            out = torch.nn.Module.__call__(layer, *args, **kwargs)
        if mask_in is not None and masks is not None:
            out_mask = layer.compute_mask(args[0], in_mask)
            outs = node.output_tensors
            flat = list(out_mask) if isinstance(out_mask, (list, tuple)) else [out_mask] * len(outs)
            for t, m in zip(outs, flat):
                if t.has_mask or id(t) in self.maybe_masked:
                    masks[slot_of[id(t)]] = m
        return out


def attach_output_masks(outs: list, masks: list) -> None:
    """Set each output's mask as its ``_keras_mask`` attribute, where Keras's torch backend keeps it: ``fit``
    and ``evaluate`` read it to leave masked steps out of the loss and metrics (see
    :func:`loom.training.compile_utils.output_mask`)."""
    for out, mask in zip(outs, masks):
        if mask is not None and isinstance(out, torch.Tensor):
            out._keras_mask = mask


def _fill_argument_masks(layer, node: Node, kwargs: dict, masks: list, slot_of: dict) -> None:
    """Pass the masks of the tensors given for arguments ``x`` as ``x_mask`` (unless the caller gave one), as
    Keras does for layers called on several tensors (``MultiHeadAttention``'s ``query``/``value``/``key``)."""
    for position, name in layer._mask_arguments:
        t = node.call_args[position] if position < len(node.call_args) else node.call_kwargs.get(name)
        if isinstance(t, SymbolicTensor) and t.has_mask and kwargs.get(f"{name}_mask") is None:
            kwargs[f"{name}_mask"] = masks[slot_of[id(t)]]

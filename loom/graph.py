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
import math
import os
from typing import Any, NamedTuple, Sequence

import torch

from loom import backend, structure
from loom.errors import ConfigError, GraphError
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


# Step kinds of a compiled graph.
_ONE = 0      # layer(x): one positional tensor in, one tensor out
_LIST = 1     # layer([x1, x2, ...]): one list of tensors in (merge layers), one tensor out
_GENERAL = 2  # anything else: nested arguments, keyword tensors, several outputs, masks, training=
_ONE_IN_PLACE = 3   # _ONE whose input nothing else reads: without gradients, the layer may overwrite it
_LIST_IN_PLACE = 4  # _LIST likewise for the first tensor of the list
_FOLD = 5           # a convolution whose only reader is a BatchNormalization (and maybe then a ReLU): without
#                     gradients, one convolution with folded weights; ``node`` holds (bn, relu or None, the
#                     output slots of the folded steps)
_FOLDED = 6         # a step a _FOLD may have done already (its output is set): else as _ONE_IN_PLACE
_TIME_MAJOR = 7     # an Embedding whose only reader is a recurrent layer: its output laid out step-major


def _chunk_bytes() -> int:
    value = os.environ.get("LOOM_INFERENCE_CHUNK_BYTES", str(16 << 20))
    try:
        return int(value)
    except ValueError:
        raise ConfigError("LOOM_INFERENCE_CHUNK_BYTES must be a whole number of bytes (0 never splits a batch), "
                          f"got {value!r}.") from None


#: Largest activation of one piece when CPU inference splits a batch (``LOOM_INFERENCE_CHUNK_BYTES``; 0: never).
_CHUNK_BYTES = _chunk_bytes()


def runs_in_pieces(layer: torch.nn.Module) -> bool:
    """Whether ``layer``'s inference may run on pieces of a batch with the same results: loom's own layers say
    so (``_inference_in_pieces``), a nested graph model when all of its layers do; others are not assumed to."""
    runner = getattr(layer, "_runner", None)
    if runner is not None:
        return runner.runs_in_pieces
    return type(layer).__module__.startswith("loom.layers.") and getattr(layer, "_inference_in_pieces", False)


def _hooked(module: torch.nn.Module) -> bool:
    """Forward hooks make a layer's call observable: such layers always run through ``__call__``."""
    return bool(module._forward_hooks or module._forward_pre_hooks)


class GraphRunner:
    """Runs ordered nodes on real tensors through integer slots.

    Each step is ``(layer, kind, arg_slots, out_slots, node, mask_in, releases)``. The common cases (one tensor in and
    out, or a list of tensors in and one out) cost one call and no allocation beyond the call's own list.
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
            out_slots = [slot(t) for t in node.output_tensors]
            mask_in = self._mask_inputs(node, slot)
            self.steps.append((node.layer, self._kind(node, mask_in), arg_slots, out_slots, node, mask_in))
        self.output_slots = [slot(t) for t in outputs]
        self.num_slots = len(slot_of)
        self.slot_of = slot_of
        self.inference_chunk = self._inference_chunk()  # before folding replaces some steps' nodes
        readers = self._readers()
        self._allow_in_place(readers)
        self._fold_batchnorms(readers)
        self._feed_recurrent_layers_time_major(readers)
        self.steps = [step + (releases,) for step, releases in zip(self.steps, self._releases(readers))]
        self._layers = [step[0] for step in self.steps]

    def _readers(self) -> dict[int, list[int]]:
        """Per slot, the indices of the steps that read it."""
        readers: dict[int, list[int]] = {}
        for index, step in enumerate(self.steps):
            for s in step[2]:
                readers.setdefault(s, []).append(index)
        return readers

    def _allow_in_place(self, readers: dict[int, list[int]]) -> None:
        """Mark the steps whose layer may overwrite its (first) input in inference.

        Safe when that input is a fresh tensor (made by a layer whose output aliases nothing: ``_fresh_output``)
        that no other step and no model output reads: then no other live tensor can share its memory.
        """
        fresh = set()
        for layer, kind, arg_slots, out_slots, _, _ in self.steps:
            if kind == _ONE or (kind == _LIST and len(arg_slots) > 1):
                if getattr(layer, "_fresh_output", False):
                    fresh.add(out_slots[0])
        kept = set(self.output_slots) | set(self.input_slots)
        for index, (layer, kind, arg_slots, out_slots, node, mask_in) in enumerate(self.steps):
            if kind not in (_ONE, _LIST) or not getattr(layer, "_runs_in_place", False):
                continue
            first = arg_slots[0]
            if first in fresh and first not in kept and len(readers[first]) == 1:
                kind = _ONE_IN_PLACE if kind == _ONE else _LIST_IN_PLACE
                self.steps[index] = (layer, kind, arg_slots, out_slots, node, mask_in)

    def _fold_batchnorms(self, readers: dict[int, list[int]]) -> None:
        """Mark convolution -> BatchNormalization (-> ReLU) chains whose intermediate tensors nothing else reads
        (run after :meth:`_allow_in_place`: the folded steps must be in-place ones)."""
        def only_reader(s: int) -> int | None:
            indices = readers.get(s, [])
            return indices[0] if len(indices) == 1 else None
        for index, (layer, kind, arg_slots, out_slots, node, mask_in) in enumerate(self.steps):
            if kind != _ONE or not getattr(layer, "_folds_batchnorm", False):
                continue
            bn_index = only_reader(out_slots[0])
            if bn_index is None or self.steps[bn_index][1] != _ONE_IN_PLACE or \
                    not getattr(self.steps[bn_index][0], "_folds_into_convolution", False):
                continue
            bn = self.steps[bn_index]
            chain = [bn_index]
            relu_index = only_reader(bn[3][0])
            if relu_index is not None and self.steps[relu_index][1] == _ONE_IN_PLACE and \
                    getattr(self.steps[relu_index][0], "_is_relu", False):
                chain.append(relu_index)
            fold = (bn[0], self.steps[relu_index][0] if len(chain) == 2 else None,
                    tuple(self.steps[i][3][0] for i in chain))
            self.steps[index] = (layer, _FOLD, arg_slots, out_slots, fold, mask_in)
            for i in chain:
                self.steps[i] = self.steps[i][:1] + (_FOLDED,) + self.steps[i][2:]

    def _feed_recurrent_layers_time_major(self, readers: dict[int, list[int]]) -> None:
        """Mark the Embedding steps whose output only a recurrent layer reads (the book's text -> LSTM)."""
        outputs = set(self.output_slots)
        for index, (layer, kind, arg_slots, out_slots, node, mask_in) in enumerate(self.steps):
            if kind != _ONE or not hasattr(layer, "_call_time_major") or out_slots[0] in outputs:
                continue
            reading = readers.get(out_slots[0], [])
            if len(reading) == 1 and self.steps[reading[0]][1] == _ONE and \
                    getattr(self.steps[reading[0]][0], "_reads_time_major", False):
                self.steps[index] = (layer, _TIME_MAJOR, arg_slots, out_slots, node, mask_in)

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
    def _mask_inputs(node: Node, slot) -> list | None:
        """Slots of the masks of the first argument's tensors, when masks matter at this node."""
        first = structure.flatten(node.call_args[:1])
        mask_in = [slot(t) if isinstance(t, SymbolicTensor) and t.has_mask else None for t in first]
        needs_mask = getattr(node.layer, "_call_takes_mask", False) and any(m is not None for m in mask_in)
        emits_mask = any(t.has_mask for t in node.output_tensors)
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

    def _inference_chunk(self) -> int | None:
        """Samples per piece when CPU inference runs a large batch in pieces, or ``None`` (never).

        A convnet's activations for a whole batch outgrow the CPU's cache, so each layer reads its input back
        from memory; in pieces whose largest activation is a few MiB, the next layer finds it in cache (the
        book's separable convnet predicts ~1.1x faster). Only for graphs whose every layer is one of loom's
        own that computes each sample on its own (no Lambda, wrapped torch module, recurrent layer, or
        ``training=`` override) and whose activation sizes are all known.
        """
        self.runs_in_pieces = all(node.training is None and runs_in_pieces(layer)
                                  for layer, _, _, _, node, _ in self.steps)
        if not self.runs_in_pieces:
            return None
        largest = 0
        for node in (step[4] for step in self.steps):
            for t in node.output_tensors:
                if any(d is None for d in t.shape[1:]):
                    return None
                largest = max(largest, math.prod(t.shape[1:]) * backend.torch_dtype(t.dtype).itemsize)
        return max(1, _CHUNK_BYTES // largest) if largest and _CHUNK_BYTES > 0 else None

    def run(self, values: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """The outputs (in order) for input tensors ``values`` (in ``inputs`` order)."""
        chunk = self.inference_chunk
        if (chunk is not None and backend.inference_shortcuts() and values and values[0].dim()
                and values[0].shape[0] > chunk and values[0].device.type == "cpu"
                and not any(layer.training for layer in self._layers)):
            count = -(-values[0].shape[0] // chunk)  # as many pieces as needed, of (nearly) equal sizes
            pieces = [self._run(list(piece)) for piece in zip(*(v.tensor_split(count) for v in values))]
            return [torch.cat(parts) for parts in zip(*pieces)]
        return self._run(values)

    def _run(self, values: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        slots: list[Any] = [None] * self.num_slots
        for s, v in zip(self.input_slots, values):
            slots[s] = v
        masks: list[Any] | None = [None] * self.num_slots if self.has_masks else None
        call = torch.nn.Module.__call__
        in_place = backend.inference_shortcuts()
        for layer, kind, arg_slots, out_slots, node, mask_in, releases in self.steps:
            if kind == _ONE:
                slots[out_slots[0]] = call(layer, slots[arg_slots[0]])
            elif kind == _LIST:
                slots[out_slots[0]] = call(layer, [slots[s] for s in arg_slots])
            elif kind == _GENERAL:
                out = self._run_node(node, slots, masks, mask_in)
                for s, v in zip(out_slots, structure.flatten(out)):
                    slots[s] = v
            elif kind == _TIME_MAJOR:
                x = slots[arg_slots[0]]
                slots[out_slots[0]] = layer._call_time_major(x) if not _hooked(layer) else call(layer, x)
            elif kind == _FOLD:
                bn, relu, chain_slots = node
                out = None
                if in_place and not any(_hooked(m) for m in (layer, bn, relu) if m is not None):
                    out = layer._call_folded(slots[arg_slots[0]], bn, relu is not None)
                if out is not None:
                    for s in chain_slots:  # the folded steps see their outputs set and skip
                        slots[s] = out
                else:
                    slots[out_slots[0]] = call(layer, slots[arg_slots[0]])
            elif kind != _FOLDED or slots[out_slots[0]] is None:
                args = slots[arg_slots[0]] if kind != _LIST_IN_PLACE else [slots[s] for s in arg_slots]
                out = None
                if in_place and not _hooked(layer):
                    out = layer._call_in_place(args)
                slots[out_slots[0]] = out if out is not None else call(layer, args)
            for s in releases:
                slots[s] = None
        return [slots[s] for s in self.output_slots]

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
        if node.training is not None:
            out = type(layer).__call__(layer, *args, training=node.training, **kwargs)
        else:
            out = torch.nn.Module.__call__(layer, *args, **kwargs)
        if mask_in is not None and masks is not None:
            out_mask = layer.compute_mask(args[0], in_mask)
            outs = node.output_tensors
            flat = list(out_mask) if isinstance(out_mask, (list, tuple)) else [out_mask] * len(outs)
            for t, m in zip(outs, flat):
                if t.has_mask:
                    masks[slot_of[id(t)]] = m
        return out

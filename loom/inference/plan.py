"""An inference plan: a graph's steps rewritten for speed without gradients, falling back to the graph as
written whenever a rewrite could be observed.

The rewrites (each only where :mod:`loom.inference.eligibility` allows it):

* **In place.** A layer that can overwrite its (first) input (``_call_in_place``: activations,
  BatchNormalization, Add) does so when that input is a fresh tensor (its producer declares
  ``_fresh_output``) that no other step and no model input or output reads.
* **Folded.** A convolution whose only reader is a BatchNormalization (and that one's only reader a ReLU)
  runs as one convolution with the normalization folded into its weights.
* **Step-major.** An Embedding whose only reader is a recurrent layer lays its output out step-major (torch's
  fused RNN kernels would otherwise copy a batch-first input).
* **In pieces.** On the CPU a large batch runs in pieces whose largest activation is a few MiB (so the next
  layer finds its input in cache), when no layer mixes samples.

:meth:`InferencePlan.run` uses them only when gradients are off, no TorchScript trace records, and no forward
hook is registered on any module of the model (nor globally); pieces also need every layer in inference
mode. Otherwise it runs the graph as written, so results never depend on whether the plan was used.

Example:
    >>> import torch, loom
    >>> x = loom.Input((4,))
    >>> model = loom.Model(x, loom.layers.Activation("relu")(loom.layers.Dense(2)(x)))
    >>> plan = InferencePlan(model)
    >>> [kind_name(step[1]) for step in plan.steps]
    ['one', 'in place']
    >>> with torch.no_grad():
    ...     torch.equal(plan.run([torch.ones(3, 4)])[0], model(torch.ones(3, 4)))
    True
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch

from loom import backend
from loom.graph import _GENERAL, _LIST, _ONE, GraphRunner
from loom.inference import eligibility, settings

_ONE_IN_PLACE = 3   # _ONE whose input nothing else reads: the layer may overwrite it
_LIST_IN_PLACE = 4  # _LIST likewise for the first tensor of the list
_FOLD = 5           # a convolution -> BatchNormalization (-> ReLU) chain as one convolution; ``node`` holds
#                     (bn, relu or None, the output slots of the folded steps)
_FOLDED = 6         # a step a _FOLD may have done already (its output is set): else as _ONE_IN_PLACE
_TIME_MAJOR = 7     # an Embedding whose only reader is a recurrent layer: its output laid out step-major

_NAMES = {_ONE: "one", _LIST: "list", _GENERAL: "general", _ONE_IN_PLACE: "in place",
          _LIST_IN_PLACE: "list in place", _FOLD: "fold", _FOLDED: "folded", _TIME_MAJOR: "step-major"}


def kind_name(kind: int) -> str:
    """A readable name of a step kind (for tests and debugging)."""
    return _NAMES[kind]


class InferencePlan:
    """The rewritten steps of ``model``'s graph runner (see the module docstring).

    Args:
        model: a graph model (functional or built Sequential).
        chunk_bytes: the largest activation of one piece in bytes (default ``None``: from
            :func:`loom.inference.settings.chunk_bytes`; 0 never splits a batch).
    """

    def __init__(self, model: torch.nn.Module, chunk_bytes: int | None = None):
        runner: GraphRunner = model._runner
        self.runner = runner
        self.steps = list(runner.steps)
        self._layers = [step[0] for step in self.steps]
        self._watched = list({id(m): m for layer in [model, *self._layers] for m in layer.modules()}.values())
        self.sample_bytes = 0  # one sample's largest activation, where every size is known
        self.inference_chunk = self._inference_chunk(settings.chunk_bytes() if chunk_bytes is None else chunk_bytes)
        readers = runner.readers()
        self._allow_in_place(readers)
        self._fold_batchnorms(readers)
        self._feed_recurrent_layers_time_major(readers)

    # ------------------------------------------------------------------------------------ planning
    def _replace(self, index: int, kind: int, node: Any = None) -> None:
        layer, _, arg_slots, out_slots, old_node, mask_in, releases = self.steps[index]
        self.steps[index] = (layer, kind, arg_slots, out_slots, old_node if node is None else node, mask_in,
                             releases)

    def _allow_in_place(self, readers: dict[int, list[int]]) -> None:
        """In place where the (first) input is fresh and read by this step only, and no input or output."""
        fresh = set()
        for layer, kind, arg_slots, out_slots, *_ in self.steps:
            if (kind == _ONE or (kind == _LIST and len(arg_slots) > 1)) and eligibility.declares(layer,
                                                                                             "_fresh_output"):
                fresh.add(out_slots[0])
        kept = set(self.runner.output_slots) | set(self.runner.input_slots)
        for index, (layer, kind, arg_slots, *_) in enumerate(self.steps):
            if kind not in (_ONE, _LIST) or not eligibility.declares(layer, "_runs_in_place"):
                continue
            first = arg_slots[0]
            if first in fresh and first not in kept and len(readers[first]) == 1:
                self._replace(index, _ONE_IN_PLACE if kind == _ONE else _LIST_IN_PLACE)

    def _only_reader(self, readers: dict[int, list[int]], slot: int) -> int | None:
        indices = readers.get(slot, [])
        return indices[0] if len(indices) == 1 and slot not in self.runner.output_slots else None

    def _fold_batchnorms(self, readers: dict[int, list[int]]) -> None:
        """Convolution -> BatchNormalization (-> ReLU) chains whose inner tensors nothing else reads (after
        :meth:`_allow_in_place`: the folded steps must be in-place ones)."""
        for index, (layer, kind, arg_slots, out_slots, *_) in enumerate(self.steps):
            if kind != _ONE or not eligibility.declares(layer, "_folds_batchnorm"):
                continue
            bn_index = self._only_reader(readers, out_slots[0])
            if bn_index is None or self.steps[bn_index][1] != _ONE_IN_PLACE or \
                    not eligibility.declares(self.steps[bn_index][0], "_folds_into_convolution"):
                continue
            bn = self.steps[bn_index]
            chain = [bn_index]
            relu_index = self._only_reader(readers, bn[3][0])
            if relu_index is not None and self.steps[relu_index][1] == _ONE_IN_PLACE and \
                    eligibility.declares(self.steps[relu_index][0], "_is_relu"):
                chain.append(relu_index)
            fold = (bn[0], self.steps[relu_index][0] if len(chain) == 2 else None,
                    tuple(self.steps[i][3][0] for i in chain))
            self._replace(index, _FOLD, fold)
            for i in chain:
                self._replace(i, _FOLDED)

    def _feed_recurrent_layers_time_major(self, readers: dict[int, list[int]]) -> None:
        """Embedding steps whose output only a recurrent layer reads (the book's text -> LSTM)."""
        for index, (layer, kind, arg_slots, out_slots, *_) in enumerate(self.steps):
            if kind != _ONE or not eligibility.declares(layer, "_call_time_major"):
                continue
            reader = self._only_reader(readers, out_slots[0])
            if reader is not None and self.steps[reader][1] == _ONE and \
                    eligibility.declares(self.steps[reader][0], "_reads_time_major"):
                self._replace(index, _TIME_MAJOR)

    def _inference_chunk(self, budget: int) -> int | None:
        """Samples per piece when CPU inference runs a large batch in pieces, or ``None`` (never): only when
        no layer mixes samples and every activation's size is known."""
        if budget <= 0 or any(eligibility.mixes_samples(step[0], step[4]) for step in self.steps):
            return None
        largest = 0
        for node in (step[4] for step in self.steps):
            for t in node.output_tensors:
                if any(d is None for d in t.shape[1:]):
                    return None
                largest = max(largest, math.prod(t.shape[1:]) * backend.torch_dtype(t.dtype).itemsize)
        self.sample_bytes = largest
        return max(1, budget // largest) if largest else None

    # ------------------------------------------------------------------------------------- running
    def shortcuts_allowed(self) -> bool:
        """Whether the rewrites may run now: no gradients, no trace, no forward hook anywhere."""
        return backend.inference_shortcuts() and not eligibility.any_hooked(self._watched)

    def run(self, values: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """The model's outputs for flat ``values``: the same as the graph as written, faster when allowed."""
        if not self.shortcuts_allowed():
            return self.runner.run(values)
        chunk = self.inference_chunk
        if (chunk is not None and values and values[0].dim() and values[0].shape[0] > chunk
                and values[0].device.type == "cpu" and not any(layer.training for layer in self._layers)):
            count = -(-values[0].shape[0] // chunk)  # as many pieces as needed, of (nearly) equal sizes
            pieces = [self._run(list(piece)) for piece in zip(*(v.tensor_split(count) for v in values))]
            return [torch.cat(parts) for parts in zip(*pieces)]
        return self._run(values)

    def _run(self, values: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        runner = self.runner
        slots: list[Any] = [None] * runner.num_slots
        for s, v in zip(runner.input_slots, values):
            slots[s] = v
        masks: list[Any] | None = [None] * runner.num_slots if runner.has_masks else None
        call = torch.nn.Module.__call__
        for layer, kind, arg_slots, out_slots, node, mask_in, releases in self.steps:
            if kind == _ONE:
                slots[out_slots[0]] = call(layer, slots[arg_slots[0]])
            elif kind == _LIST:
                slots[out_slots[0]] = call(layer, [slots[s] for s in arg_slots])
            elif kind == _GENERAL:
                runner.run_general(node, slots, masks, mask_in, out_slots)
            elif kind == _TIME_MAJOR:
                slots[out_slots[0]] = layer._call_time_major(slots[arg_slots[0]])
            elif kind == _FOLD:
                bn, relu, chain_slots = node
                out = layer._call_folded(slots[arg_slots[0]], bn, relu is not None)
                if out is not None:
                    for s in chain_slots:  # the folded steps see their outputs set and skip
                        slots[s] = out
                else:
                    slots[out_slots[0]] = call(layer, slots[arg_slots[0]])
            elif kind != _FOLDED or slots[out_slots[0]] is None:
                args = slots[arg_slots[0]] if kind != _LIST_IN_PLACE else [slots[s] for s in arg_slots]
                out = layer._call_in_place(args)
                slots[out_slots[0]] = out if out is not None else call(layer, args)
            for s in releases:
                slots[s] = None
        return [slots[s] for s in runner.output_slots]

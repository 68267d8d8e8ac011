"""Which layers an inference rewrite may touch: loom's own classes as written, nothing observed, no mixing.

Three rules, checked here once for every rewrite in :mod:`loom.inference`:

* **Exact class.** A shortcut a layer declares (``_call_in_place``, ``_fresh_output``, a folded or step-major
  call) is a promise about loom's own ``call``. It is honoured only for instances of classes defined in
  loom itself with no ``call`` / ``forward`` replaced on the instance: a user's subclass runs as written.
* **Nothing observes.** Forward (pre-)hooks on any module of the model, or registered for all modules
  (``register_module_forward_hook``), see intermediate tensors: a hook's saved tensor must not be
  overwritten later, and it must see the whole batch. Any hook switches every rewrite off for that run.
* **Samples stay apart.** Running a batch in pieces is only right when no layer mixes samples. A layer
  declares it computes each sample on its own (``_inference_in_pieces``, loom's layers only) and layers
  with an ``axis`` / ``axes`` argument are checked against the batch axis at each node
  (``Concatenate(axis=0)``, ``Softmax(axis=0)`` mix); an activity regularizer penalises the whole batch's
  output. Unknown layers are assumed to mix.

Example:
    >>> import loom
    >>> x = loom.Input((3,))
    >>> node = loom.layers.Softmax(axis=0)(x).node
    >>> mixes_samples(node.layer, node), own_call(node.layer)
    (True, True)
"""

from __future__ import annotations

from typing import Any, Iterable

import torch

from loom import _torch_compat


def _in_loom(obj: Any) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return module == "loom" or module.startswith("loom.")


def own_call(layer: Any) -> bool:
    """Whether ``layer`` is an instance of one of loom's own classes, running the ``call`` loom wrote."""
    return (isinstance(layer, torch.nn.Module) and _in_loom(type(layer))
            and "call" not in vars(layer) and "forward" not in vars(layer))


def runs_graph_as_written(model: Any) -> bool:
    """Whether ``model`` is a graph model whose ``call`` / ``forward`` are loom's (a subclass may override
    either; then its own code, not the graph, defines the output)."""
    cls = type(model)
    return (getattr(model, "_runner", None) is not None and _in_loom(getattr(cls, "call", None))
            and _in_loom(getattr(cls, "forward", None)) and "call" not in vars(model)
            and "forward" not in vars(model))


def declares(layer: Any, attribute: str) -> bool:
    """``layer``'s declaration ``attribute`` (a shortcut it offers), honoured for loom's own classes only."""
    return own_call(layer) and bool(getattr(layer, attribute, False))


def hooked(module: torch.nn.Module) -> bool:
    """Forward hooks make a module's call observable."""
    return bool(module._forward_hooks or module._forward_pre_hooks)


def any_hooked(modules: Iterable[torch.nn.Module]) -> bool:
    """Whether a forward hook is registered on any of ``modules`` or for all modules."""
    return _torch_compat.global_forward_hooks_registered() or any(hooked(m) for m in modules)


def _batch_axis_in(axes: Any, rank: int) -> bool:
    """Whether any of ``axes`` (an int, or a list/tuple of ints) names axis 0 of a rank-``rank`` tensor."""
    values = axes if isinstance(axes, (list, tuple)) else [axes]
    for a in values:
        if isinstance(a, bool) or not isinstance(a, int):
            return True  # cannot tell: assume it mixes
        if rank and a % rank == 0:
            return True
    return False


def _node_rank(node: Any) -> int:
    tensors = getattr(node, "input_tensors", None) or []
    return len(tensors[0].shape) if tensors else 0


def mixes_samples(layer: Any, node: Any) -> bool:
    """Whether running ``layer`` (called at ``node``) on pieces of a batch could change its result.

    Only layers that say otherwise are trusted: loom's own classes declaring ``_inference_in_pieces``
    (without an axis argument on the batch axis), and graph models all of whose layers qualify.
    """
    if getattr(node, "training", None) is not None:
        return True  # training=True replayed: batch statistics
    if runs_graph_as_written(layer) and own_call(layer):
        return any(mixes_samples(step[0], step[4]) for step in layer._runner.steps)
    if not declares(layer, "_inference_in_pieces") or getattr(layer, "activity_regularizer", None) is not None:
        return True  # unknown, or a penalty on the whole batch's output (divided by the batch size)
    rank = _node_rank(node)
    for attribute in ("axis", "axes"):
        axes = getattr(layer, attribute, None)
        if axes is not None and _batch_axis_in(axes, rank):
            return True
    return False

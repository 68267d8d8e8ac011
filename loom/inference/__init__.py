"""Inference without gradients, made faster by rewriting a graph model's steps, in one explicit place.

``model(x)`` always runs the graph as written. :func:`predict_forward` (what ``predict()`` runs) and models
opted in with ``model.optimize_for_inference()`` run an :class:`InferencePlan` instead: the same results,
with in-place activations, BatchNormalization folded into convolutions and large CPU batches in pieces
where no hook, subclass or sample-mixing layer could tell the difference; ``predict`` also merges small
batches up to the same budget where nothing watches them (:func:`merged_batch_size`).

Example:
    >>> import numpy as np, loom
    >>> x = loom.Input((4,))
    >>> model = loom.Model(x, loom.layers.Dense(2, activation="relu")(x))
    >>> plan_for(model) is plan_for(model)   # one plan per graph, made on first use
    True
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from loom.inference.eligibility import runs_graph_as_written
from loom.inference.plan import InferencePlan

__all__ = ["InferencePlan", "merged_batch_size", "plan_for", "predict_forward", "run", "runs_graph_as_written"]


def plan_for(model: torch.nn.Module) -> InferencePlan:
    """The inference plan of ``model``'s current graph (made once per graph: rebuilt after ``add``/``pop``)."""
    runner = model._runner
    plan = getattr(runner, "_inference_plan", None)
    if plan is None:
        plan = runner._inference_plan = InferencePlan(model)
    return plan


def run(model: torch.nn.Module, flat_inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    """``model.run_flat(flat_inputs)`` through the model's inference plan."""
    return plan_for(model).run(flat_inputs)


def predict_forward(model: Any, default: Callable[[list], list]) -> Callable[[list], list]:
    """The forward pass ``predict`` runs: the plan for graph models that run their graph as written, else
    ``default`` (a subclass's overridden ``call`` is honoured)."""
    if not runs_graph_as_written(model):
        return default
    plan = plan_for(model)
    return plan.run


#: Merged batches stay this small in one layer's output: only overhead-bound models gain from merging (M2's
#: text convnet, 51 KB a sample, gained nothing merged and kept 54 MiB more memory).
MERGE_BYTES = 1 << 20


def merged_batch_size(forward: Callable[[list], list], batch_size: int) -> int:
    """How many samples ``predict`` gives ``forward`` at once when nothing watches its batches: whole batches of
    ``batch_size`` merged up to :data:`MERGE_BYTES` (1 MiB) of one layer's output, and never past the plan's
    piece size (``LOOM_INFERENCE_CHUNK_BYTES``), so an overhead-bound model runs a few large batches instead
    of many small ones. ``batch_size`` itself unless ``forward`` is an inference plan that may run now (no
    forward hook, no gradients) whose layers never mix samples; the outputs are the same up to float rounding.

    Example:
        >>> import loom
        >>> x = loom.Input((4,))
        >>> model = loom.Model(x, loom.layers.Dense(2)(x))
        >>> merged_batch_size(predict_forward(model, None), 32) % 32, merged_batch_size(len, 32)
        (0, 32)
    """
    plan = getattr(forward, "__self__", None) or getattr(forward, "plan", None)  # a precompiled step keeps it
    if not isinstance(plan, InferencePlan) or plan.inference_chunk is None:
        return batch_size
    with torch.no_grad():
        if not plan.shortcuts_allowed():
            return batch_size
    samples = min(plan.inference_chunk, max(1, MERGE_BYTES // max(1, plan.sample_bytes)))
    return max(batch_size, samples // batch_size * batch_size)

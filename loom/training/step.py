"""The training and test steps: straight-line functions built once per ``fit`` / ``evaluate``.

Everything that does not change between steps (which losses, weights, metric objects, whether there are
regularizers or constraints, autocast, torch.compile) is decided here, before the loop, so a step is only
tensor work: forward through ``model.run_flat``, loss, ``zero_grad(set_to_none=True)``, backward, optimizer
step, metric updates. Nothing in a step reads a value back to the host.

Example:
    >>> import torch
    >>> fn = make_compute(lambda xs: [xs[0] * 2], lambda ys, outs, sws: ((outs[0] - ys[0]).pow(2).mean(), []),
    ...                   regularization=None)
    >>> total, parts, outs = fn([torch.ones(3)], [torch.zeros(3)], None)
    >>> float(total)
    4.0
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import torch

from loom.training import vec_isa_memo

Compute = Callable[[list, list, Any], tuple]


class FlatForward(torch.nn.Module):
    """``forward(xs) -> outputs`` as a module holding the model, for wrappers that need a module (DDP,
    ``torch.func.functional_call``); the model's weights are its own under the prefix ``model.``."""

    def __init__(self, model: torch.nn.Module, forward: Callable[[list], list]):
        super().__init__()
        self.model = model
        self._forward = forward

    def forward(self, xs: list) -> list:
        return self._forward(xs)


def make_compute(forward: Callable[[list], list], loss_plan: Callable, regularization: Callable | None,
                 autocast: tuple[str, torch.dtype] | None = None, jit_compile: bool = False) -> Compute:
    """``compute(xs, ys, sws) -> (total loss, per-output losses, outputs)``.

    Args:
        forward: ``forward(xs) -> list of outputs`` (``model.run_flat`` for graph models).
        loss_plan: ``loss_plan(ys, outs, sws) -> (total, per-output values)``.
        regularization: ``() -> tensor`` summing the regularization penalties, or ``None`` (default) for none.
        autocast: ``(device type, dtype)`` to run forward and loss under ``torch.autocast`` (default ``None``).
        jit_compile: compile the function with ``torch.compile`` (default ``False``).
    """
    if regularization is None:
        def compute(xs, ys, sws):
            outs = forward(xs)
            total, parts = loss_plan(ys, outs, sws)
            return total, parts, outs
    else:
        def compute(xs, ys, sws):
            outs = forward(xs)
            total, parts = loss_plan(ys, outs, sws)
            return total + regularization(), parts, outs

    if autocast is not None:
        device_type, dtype = autocast

        def compute(xs, ys, sws):
            with torch.autocast(device_type, dtype=dtype):
                outs = forward(xs)
            outs = float32_outputs(outs)
            total, parts = loss_plan(ys, outs, sws)
            if regularization is not None:
                total = total + regularization()
            return total, parts, outs
    if jit_compile:
        vec_isa_memo.before_compile()
        graph = torch.compile(compute)

        def compute(xs, ys, sws):  # noqa: F811 - the compiled function, remembering inductor's ISA probe
            out = graph(xs, ys, sws)
            if vec_isa_memo.pending():
                vec_isa_memo.after_compile()
            return out
    return compute


def make_train_step(compute: Compute, optimizer: Any, metric_update: Callable | None,
                    after_update: Callable | None = None, scaler: Any = None) -> Callable:
    """``step(xs, ys, sws) -> (total, per-output losses)``: one gradient update and the metric updates.

    Args:
        compute: from :func:`make_compute`.
        optimizer: a built torch optimizer, or ``None`` when the model has no trainable weights.
        metric_update: ``metric_update(ys, detached outputs, sws)`` or ``None`` (default) without metrics.
        after_update: called after each optimizer step (weight constraints), or ``None`` (default).
        scaler: a ``torch.amp.GradScaler`` for float16 training on CUDA (default ``None``).
    """
    if optimizer is None:
        warnings.warn("The model has no trainable weights: fit() computes the loss but updates nothing.",
                      stacklevel=3)

        return make_test_step(compute, metric_update)

    zero_grad = optimizer.zero_grad
    opt_step = getattr(optimizer, "step_unwrapped", optimizer.step)  # loom's optimizers skip torch's wrapper

    if scaler is not None:
        def update(total):
            scaler.scale(total).backward()
            scaler.step(optimizer)
            scaler.update()
    else:
        def update(total):
            total.backward()
            opt_step()

    def step(xs, ys, sws):
        total, parts, outs = compute(xs, ys, sws)
        zero_grad(set_to_none=True)
        update(total)
        if after_update is not None:
            after_update()
        if metric_update is not None:
            metric_update(ys, [_detached(o) for o in outs], sws)
        return total, parts

    if scaler is None and after_update is None and metric_update is None:
        def step(xs, ys, sws):  # noqa: F811 - the common case without metrics, one call shorter
            total, parts, outs = compute(xs, ys, sws)
            zero_grad(set_to_none=True)
            total.backward()
            opt_step()
            return total, parts
    return step


def _detached(output: torch.Tensor) -> torch.Tensor:
    """``output.detach()`` keeping its Keras mask (the metrics leave masked steps out)."""
    return _keeping_mask(output.detach(), output)


def float32_outputs(outs: list) -> list:
    """The floating outputs of a forward pass run under autocast (mixed precision) as float32, each keeping its
    Keras mask, so that the loss and the metrics still leave masked steps out."""
    return [_keeping_mask(o.float(), o) if o.is_floating_point() else o for o in outs]


def _keeping_mask(new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
    """``new`` (made from ``old``) carrying ``old``'s ``_keras_mask``, if any."""
    mask = getattr(old, "_keras_mask", None)
    if mask is not None and new is not old:
        new._keras_mask = mask
    return new


def make_test_step(compute: Compute, metric_update: Callable | None) -> Callable:
    """``step(xs, ys, sws) -> (total, per-output losses)`` without gradients; updates the metrics."""
    def step(xs, ys, sws):
        with torch.no_grad():
            total, parts, outs = compute(xs, ys, sws)
            if metric_update is not None:
                metric_update(ys, outs, sws)
        return total, parts
    return step

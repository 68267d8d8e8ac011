"""Precompiled predict steps: a convnet's forward pass compiled ahead of time once per machine, loaded in ms.

``predict`` runs a graph model's inference plan eagerly (:mod:`loom.inference`): oneDNN's convolutions with
the ReLU inside, then each pooling layer as passes of its own over the activations. ``torch.compile`` runs the
same convolutions but fuses what lies between them (a ReLU and a 2x2 max-pool in one pass instead of three), which on
``bench/`` M3's separable convnet is ~15-25% faster; yet ``jit_compile="auto"`` cannot buy seconds of compilation
for predicts of a few thousand images (:mod:`loom.training.auto_jit`). A *precompiled* predict step is that
compiled forward pass, made as precompiled train steps are (:mod:`loom.training.precompiled_step`): traced to
ATen operations with the weights as inputs (so training or ``set_weights`` never makes it stale), compiled by
AOTInductor in a background process once earlier runs' eager predicts added up
(:mod:`loom.training.precompile_ledger`, counting :data:`GAIN_SHARE` of their measured time), and loaded by
a later run. Batches of other shapes (the last, partial one) run eagerly.

Used only where it gives the eager results and gains (:func:`eligible`): ``jit_compile="auto"``, a loom graph
model that runs its graph as written, made of the layers in :data:`PRECOMPILED_PREDICT_LAYERS` with at least
one convolution, on the CPU in float32 without autocast, in one process, while no forward hook is registered.
BatchNormalization is left out: the eager plan folds it into the convolution before it, which a library
taking the weights as inputs cannot do (``bench/`` M5 ran 23% slower precompiled). Before a run uses a
library, its outputs for the first batch are checked against the eager plan's and both are timed on it
(the fastest of :data:`TIMED_RUNS` runs each): a library that disagrees, or is slower by more than
:data:`SLOWER_TOLERANCE`, is set aside for good.
``LOOM_PRECOMPILE=0`` turns precompiled steps off.

Example:
    >>> import loom
    >>> x = loom.Input((8, 8, 3))
    >>> model = loom.Model(x, loom.layers.Conv2D(4, 3, activation="relu")(x))
    >>> model.compile(loss="mse")
    >>> eligible(model) == enabled()
    True
"""

from __future__ import annotations

import time
from typing import Any, Callable

import torch

from loom.errors import LoomError
from loom.training.precompiled_step import (PRECOMPILED_LAYERS, _jsonable_signature, checked_library, close,
                                            enabled, library_path, step_key, trace_and_package, unprecompiled_layer)
from loom.training.step import FlatForward

#: Share of the measured eager predict time a precompiled step is expected to save, for the ledger
#: (``bench/`` M3: 12.8 -> 9.0 ms a batch of 32).
GAIN_SHARE = 0.2
#: Runs of the library and of the eager plan timed (alternately, the fastest of each kept) before a run uses a
#: library, and how much slower than the eager plan it may be (timing noise) before it is set aside.
TIMED_RUNS = 5
SLOWER_TOLERANCE = 1.05

CONVOLUTIONS = frozenset({"Conv1D", "Conv2D", "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D",
                          "SeparableConv2D"})
#: Layers a precompiled predict step may hold: those of precompiled train steps, convolutions, pooling,
#: padding and cropping, and dropout (which does nothing in inference).
PRECOMPILED_PREDICT_LAYERS = PRECOMPILED_LAYERS | CONVOLUTIONS | frozenset({
    "AveragePooling1D", "AveragePooling2D", "Cropping1D", "Cropping2D", "Dropout", "GlobalAveragePooling1D",
    "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "MaxPooling1D", "MaxPooling2D",
    "SpatialDropout1D", "SpatialDropout2D", "ZeroPadding1D", "ZeroPadding2D"})
_MISSING = object()


def eligible(model: Any) -> bool:
    """Whether ``model``'s predict step may run precompiled (see the module docstring)."""
    from loom.distributed import context as dist_context
    from loom.inference import runs_graph_as_written
    policy = getattr(model, "_jit_policy", None)
    if not (enabled() and policy is not None and policy.forced is None and model._calls_graph()
            and runs_graph_as_written(model) and model._autocast() is None and model._device().type == "cpu"
            and not dist_context.is_distributed()):
        return False
    if any(t.dtype != torch.float32 for t in [*model.parameters(), *model.buffers()] if t.is_floating_point()):
        return False
    kinds = {type(m).__name__ for m in model.modules() if m is not model and next(m.children(), None) is None}
    return not unprecompiled_layer(model, PRECOMPILED_PREDICT_LAYERS) and bool(kinds & CONVOLUTIONS)


def wrap(model: Any, forward: Callable[[list], list]) -> Callable[[list], list]:
    """What ``predict`` runs: ``forward`` (the model's inference plan), or, where :func:`eligible`, a
    :class:`PrecompiledPredict` around it (one per plan, kept with the model between calls; copies and pickles
    of the model start without it, :data:`loom.training.compile_api.BUILT_STEPS`)."""
    plan = getattr(forward, "__self__", None)
    if plan is None or not eligible(model):
        return forward
    current = model.__dict__.get("_precompiled_predict")
    if current is None or current.plan is not plan:
        current = model.__dict__["_precompiled_predict"] = PrecompiledPredict(model, forward)
    return current


class PredictFunction:
    """A model's forward pass as one pure function of flat tensors, the form that is traced and compiled:
    ``function(*weights, *buffers, *inputs) -> [outputs...]`` where the first tensors are :meth:`inputs`'s."""

    def __init__(self, model: Any):
        self.holder = FlatForward(model, model._forward())
        named = [*self.holder.named_parameters(), *self.holder.named_buffers()]
        self.names = [name for name, _ in named]
        self.state = [value for _, value in named]

    def inputs(self, xs: list) -> list:
        """The flat inputs of one batch: the weights' and buffers' current values, then the batch."""
        return [t.detach() for t in self.state] + [t.contiguous() for t in xs]

    def function(self, *flat: torch.Tensor) -> list:
        n = len(self.names)
        with torch.enable_grad():  # the forward pass fit runs (in inference mode), not the plan's eager kernels
            outs = torch.func.functional_call(self.holder, dict(zip(self.names, flat[:n])), (list(flat[n:]),))
        return [o.detach() for o in outs]


class PrecompiledPredict:
    """The forward pass ``predict`` runs: a precompiled library for the batch shapes that have one, the eager
    inference plan otherwise.

    Args:
        model: the model (its configuration names the library).
        eager: the eager forward pass (the model's inference plan's ``run``).
    """

    def __init__(self, model: Any, eager: Callable[[list], list]):
        self.model, self.eager = model, eager
        self.plan = getattr(eager, "__self__", None)
        self.function = PredictFunction(model)
        self.runners: dict[tuple, Any] = {}
        self.keys: dict[tuple, str] = {}  # batch signature -> library key
        self.eager_seconds: dict[tuple, float] = {}  # eager time since the ledger last recorded it

    def loaded(self) -> int:
        """How many batch shapes run a precompiled library."""
        return sum(1 for r in self.runners.values() if r is not None)

    def __call__(self, xs: list) -> list:
        signature = tuple((t.shape, t.dtype) for t in xs)
        runner = self.runners.get(signature, _MISSING)
        if runner is _MISSING:
            runner = self.runners[signature] = self._runner(signature, xs)
        if runner is not None and self._runnable():
            return list(runner.run(self.function.inputs(xs)))
        if signature not in self.keys:
            return self.eager(xs)
        start = time.perf_counter()
        outs = self.eager(xs)
        self.eager_seconds[signature] = self.eager_seconds.get(signature, 0.0) + time.perf_counter() - start
        return outs

    def _runnable(self) -> bool:
        """Whether the library computes what the eager plan would now (no hook, no gradients, same dtypes)."""
        return (not torch.is_grad_enabled() and (self.plan is None or self.plan.shortcuts_allowed())
                and all(t.dtype == torch.float32 for t in self.function.state if t.is_floating_point()))

    def pending_overhead(self) -> dict[tuple, float]:
        """The expected saving (s) a library would have made on the eager batches since the last call, per
        batch signature (for the ledger, which files it under ``keys[signature]``)."""
        spent = {s: seconds * GAIN_SHARE for s, seconds in self.eager_seconds.items() if seconds}
        self.eager_seconds = dict.fromkeys(self.eager_seconds, 0.0)
        return spent

    def build_request(self, signature: tuple) -> dict:
        """What the builder needs to rebuild this step for batches of ``signature`` (JSON)."""
        from loom.models import to_json
        return {"kind": "predict", "model": to_json(self.model),
                "signature": _jsonable_signature((signature, (), None)), "threads": torch.get_num_threads()}

    def _runner(self, signature: tuple, xs: list):
        """The loaded, checked library for ``signature``, or ``None`` (then maybe start its builder)."""
        try:
            key = predict_key(self.model, signature)
        except Exception:  # noqa: BLE001 - a configuration that does not serialize is never precompiled
            return None
        return checked_library(self, signature, key, "predict step", lambda runner: self._problem(runner, xs))

    def _problem(self, runner: Any, xs: list) -> str:
        """Why the library must not serve this model (``""``: it may): its outputs for ``xs`` differ from the
        eager plan's, or it is clearly slower on them."""
        flat = self.function.inputs(xs)
        got, expected = runner.run(flat), self.eager(xs)
        if len(got) != len(expected) or not all(close(a, b) for a, b in zip(got, expected)):
            return "its results differ from the eager forward pass's"
        library, eager = _timed_alternately(lambda: runner.run(flat), lambda: self.eager(xs))
        if library > eager * SLOWER_TOLERANCE:
            return (f"it is slower than the eager forward pass ({library * 1e3:.2f} ms against "
                    f"{eager * 1e3:.2f} ms a batch)")
        return ""


def _timed_alternately(first: Callable, second: Callable) -> tuple[float, float]:
    """The fewest seconds of :data:`TIMED_RUNS` calls of each, alternating (the least disturbed run)."""
    times: tuple[list, list] = ([], [])
    for _ in range(TIMED_RUNS):
        for fn, spent in zip((first, second), times):
            start = time.perf_counter()
            fn()
            spent.append(time.perf_counter() - start)
    return min(times[0]), min(times[1])


def predict_key(model: Any, signature: tuple) -> str:
    """The library name for ``model``'s forward pass on batches of ``signature`` (inputs' shapes and dtypes)."""
    return step_key(model, (signature, (), None), kind="predict")


def build(model: Any, xs: list, path: str) -> None:
    """Trace ``model``'s forward pass in inference mode on this batch's shapes, compile it with AOTInductor and
    write the library to ``path`` (atomically).

    Raises:
        LoomError: the forward pass cannot be precompiled (random operations, constants that are state...).
    """
    function = PredictFunction(model)
    trace_and_package(model, function.function, function.inputs(xs), False, path, "forward pass")


def build_from_request(model: Any, xs: list, key: str) -> None:
    """The builder's part (:mod:`loom.training.precompile_worker`): build ``model``'s library for batches like
    ``xs`` after checking it has the requested ``key``."""
    if predict_key(model, tuple((t.shape, t.dtype) for t in xs)) != key:
        raise LoomError("the model rebuilt from its configuration has another predict key than the run's model")
    build(model, xs, library_path(key))

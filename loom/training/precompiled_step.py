"""Precompiled train steps: compiled ahead of time once per machine, loaded by later runs in milliseconds.

``jit_compile=True`` compiles a step with ``torch.compile`` in every process: importing the compiler and tracing
the Python cost about two seconds each time, even with inductor's on-disk cache warm, which is more than a small
model's short fit wins back (``bench/`` M1: 2,400 steps of 0.3 ms), so ``jit_compile="auto"`` keeps such fits
eager (:mod:`loom.training.auto_jit`). A *precompiled* step removes that per-process cost: the same functional
step as the compiled one (forward pass, loss, gradients, optimizer update) is traced once to ATen operations
(``make_fx``), exported, and compiled by AOTInductor into a library kept in torch's cache folder
(``<TORCHINDUCTOR_CACHE_DIR>/loom_precompiled/<key>.pt2``, or ``LOOM_PRECOMPILE_DIR``). A later process
loads it with torch's C++ loader (no compiler import, about 2 ms) and runs each step as one call; metrics stay
outside it (updated from its outputs, as the eager step does).

The key (:func:`step_key`) names everything the graph depends on: the model's configuration and its weights'
names, shapes, dtypes and trainability; the compile configuration (loss, metrics, optimizer and its
hyperparameters; not ``jit_compile``); the batch's shapes and dtypes; loom's source files (sizes and
modification times); torch, Python, the CPU's instruction sets and torch's thread count (inductor generates
parallel loops for it: the builder compiles with the requesting run's count). Before a library is used, one
step of it is checked against the eager functional step on copies of the weights and optimizer state; a library that
disagrees is set aside (and the step stays eager).

Where libraries come from (:mod:`loom.training.precompile_ledger`): a process whose eligible step ran eagerly
writes how long that is expected to have cost to a ledger; once the runs of a step have cost
:data:`~loom.training.precompile_ledger.BUILD_AFTER_S`, the process that sees it (as it exits, or a later one
as its step starts) starts a builder, a separate low-priority process (:mod:`loom.training.precompile_worker`)
that rebuilds the model from its configuration and writes the library, so no run waits for it: a run that
starts after it finished loads the library. ``LOOM_PRECOMPILE=0``
turns precompiled steps off.

Used only where it is known to give the eager step's results and to gain (:func:`eligible`):
``jit_compile="auto"``, a loom graph model of the layers in :data:`PRECOMPILED_LAYERS` (dense networks, where
per-operation overhead is most of a step), on the CPU, float32 without autocast, one process, a loom optimizer
that updates in a graph, every weight trainable at call time; a graph with random operations (dropout) is
never built.

The libraries live in torch's own cache folder and are trusted as torch trusts the compiled code it keeps
there (inductor loads its cached kernels from the same folder).

Example:
    >>> import numpy as np, loom
    >>> model = loom.Sequential([loom.Input((4,)), loom.layers.Dense(2)])
    >>> model.compile(optimizer="rmsprop", loss="mse")
    >>> model.fit(np.ones((8, 4), "float32"), np.ones((8, 2), "float32"), batch_size=8, verbose=0) and None
    >>> eligible(model, model.optimizer, model._trainable_params(), None, None) == enabled()
    True
    >>> signature = batch_signature([torch.ones(8, 4)], [torch.ones(8, 2)], None)
    >>> step_key(model, signature) == step_key(model, signature)  # the library's name, the same in every run
    True
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import warnings
from typing import Any, Callable

import torch

from loom.errors import LoomError
from loom.training.compiled_step import gradient_function, step_holder

FOLDER = "loom_precompiled"
KEY_VERSION = 1
_MISSING = object()


def enabled() -> bool:
    """Whether precompiled steps are on (``LOOM_PRECOMPILE`` unset or not ``0``)."""
    return os.environ.get("LOOM_PRECOMPILE", "1") != "0"


def cache_folder() -> str:
    """``LOOM_PRECOMPILE_DIR`` if set, else ``<TORCHINDUCTOR_CACHE_DIR>/loom_precompiled`` (inductor's cache
    folder, found without importing inductor)."""
    if os.environ.get("LOOM_PRECOMPILE_DIR"):
        return os.path.abspath(os.environ["LOOM_PRECOMPILE_DIR"])
    base = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    if base is None:
        import getpass
        import re
        import tempfile
        try:
            user = getpass.getuser()
        except (KeyError, ModuleNotFoundError, OSError):
            user = f"uid_{os.getuid()}"
        base = os.path.join(tempfile.gettempdir(), "torchinductor_" + re.sub(r'[\\/:*?"<>|]', "_", user))
    return os.path.join(os.path.abspath(base), FOLDER)


def library_path(key: str) -> str:
    return os.path.join(cache_folder(), f"{key}.pt2")


def eligible(model: Any, optimizer: Any, params: list, autocast: Any, scaler: Any) -> bool:
    """Whether ``model``'s train step may run precompiled (see the module docstring)."""
    from loom.distributed import context as dist_context
    from loom.training import auto_jit
    policy = getattr(model, "_jit_policy", None)
    return (enabled() and policy is not None and policy.forced is None and optimizer is not None
            and autocast is None and scaler is None and model._calls_graph()
            and model._device().type == "cpu" and not dist_context.is_distributed()
            and optimizer.updates_in_graph(params) and not auto_jit.eager_only_reason(model, "train")
            and not unprecompiled_layer(model))


#: Layers whose step is matrix products, pointwise maths and reductions, which AOTInductor compiles as well as
#: torch.compile does; their steps are dominated by per-operation overhead, which a precompiled step removes.
#: Convolutions, pooling and embeddings are left out: their steps are compute-bound (compiled they tie with
#: eager, ``bench/`` M2, M3) and inductor's own loops for pooling and embedding gradients are slower than ATen's.
PRECOMPILED_LAYERS = frozenset({
    "Activation", "Add", "Average", "Concatenate", "Dense", "Dot", "ELU", "EinsumDense", "Flatten", "Identity",
    "InputLayer", "LayerNormalization", "LeakyReLU", "Maximum", "Minimum", "Multiply", "PReLU", "Permute", "ReLU",
    "RepeatVector", "Rescaling", "Reshape", "Softmax", "Subtract", "UnitNormalization"})


def unprecompiled_layer(model: torch.nn.Module, layers: frozenset = PRECOMPILED_LAYERS) -> str:
    """The name of a layer of ``model`` outside ``layers`` (default :data:`PRECOMPILED_LAYERS`; ``""``: none)."""
    for name, module in model.named_modules():
        if module is not model and next(module.children(), None) is None:
            if type(module).__name__ not in layers or not type(module).__module__.startswith("loom."):
                return name
    return ""


def batch_signature(xs: list, ys: list, sws: list | None) -> tuple:
    """The shapes and dtypes of a batch (``None`` for a missing sample weight)."""
    return (tuple((t.shape, t.dtype) for t in xs), tuple((t.shape, t.dtype) for t in ys),
            None if sws is None else tuple(None if t is None else (t.shape, t.dtype) for t in sws))


def _jsonable_signature(signature: tuple) -> list:
    def one(entry):
        return None if entry is None else [list(entry[0]), str(entry[1]).replace("torch.", "")]
    xs, ys, sws = signature
    return [[one(e) for e in xs], [one(e) for e in ys], None if sws is None else [one(e) for e in sws]]


def step_key(model: Any, signature: tuple, kind: str = "train") -> str:
    """The library name for ``model``'s ``kind`` step (``"train"``, or ``"predict"``: the forward pass alone,
    which depends on no compile configuration) on batches of ``signature`` (see the module docstring)."""
    from loom.models import to_json
    compile_config = None
    if kind == "train":
        compile_config = {k: v for k, v in model.get_compile_config().items() if k != "jit_compile"}
        optimizer = compile_config.get("optimizer")
        if isinstance(optimizer, dict) and isinstance(optimizer.get("config"), dict):  # its name computes nothing
            compile_config["optimizer"] = {**optimizer, "config": {k: v for k, v in optimizer["config"].items()
                                                                   if k != "name"}}
    weights = [[name, list(p.shape), str(p.dtype), bool(p.requires_grad)] for name, p in model.named_parameters()]
    buffers = [[name, list(b.shape), str(b.dtype)] for name, b in model.named_buffers()]
    text = json.dumps([KEY_VERSION, kind, json.loads(to_json(model)), compile_config, weights, buffers,
                       _jsonable_signature(signature), _loom_sources(), torch.__version__, sys.version,
                       platform.machine(), _cpu_flags(), torch.get_num_threads()], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:40]


_SOURCES: list = []


def _loom_sources() -> list:
    """``[relative path, size, mtime]`` of loom's Python files (once per process)."""
    if not _SOURCES:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if name.endswith(".py"):
                    stat = os.stat(os.path.join(folder, name))
                    _SOURCES.append([os.path.relpath(os.path.join(folder, name), root), stat.st_size,
                                     stat.st_mtime_ns])
    return _SOURCES


def _cpu_flags() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return " ".join(sorted(line.split(":", 1)[1].split()))
    except OSError:
        pass
    return platform.processor()


class StepFunction:
    """A model's train step as one pure function of flat tensors, the form that is traced and compiled.

    ``function(*flat) -> [new weight values..., new optimizer states..., total, per-output losses..., outputs...]``
    where ``flat`` is :meth:`inputs`'s list. Nothing is updated in place: the caller copies the new values into
    :attr:`targets` (the weights and the optimizer's slots).
    """

    def __init__(self, model: Any, forward: Callable, params: list, optimizer: Any, loss_plan: Any,
                 regularization: Callable | None):
        holder = step_holder(model, forward, regularization)
        known = {id(p) for p in holder.parameters()}
        self.train_params = [p for p in params if id(p) in known]
        self.fixed_slots, self.grad_of = gradient_function(holder, self.train_params, loss_plan, None, False)
        self.optimizer = optimizer
        self.slot_names: list[str] | None = None
        self.layout: tuple | None = None  # (xs, ys, sws pattern) counts, set by inputs()
        self.parts: int | None = None  # per-output losses the function returns, set when it runs
        self.targets: list = []  # what the function's first outputs replace, set by inputs()

    @classmethod
    def of(cls, model: Any) -> "StepFunction":
        """The step function of a compiled model whose plan is resolved (it has seen a batch)."""
        params = model._trainable_params()
        model.optimizer.build(params)
        return cls(model, model._forward(), params, model.optimizer, model._plan[0], model._regularization())

    def inputs(self, xs: list, ys: list, sws: list | None) -> list:
        """The flat inputs of one step (and :attr:`targets`, the weights and optimizer slots among them, which
        the function's first outputs replace); advances nothing (the rates are for the optimizer's next update)."""
        states, rates = self.optimizer.graph_inputs(self.train_params)
        if self.slot_names is None:
            self.slot_names = sorted(states)
            self.slot_sizes = [len(states[name]) for name in self.slot_names]
        pattern = None if sws is None else tuple(s is not None for s in sws)
        self.layout = (len(xs), len(ys), pattern)
        flat = [p.detach() for p in self.train_params]
        flat += [getattr(module, attr).detach() for module, attr in self.fixed_slots]
        flat += [t.contiguous() for t in xs] + [t.contiguous() for t in ys]
        flat += [s.contiguous() for s in (sws or ()) if s is not None]
        slots = [t for name in self.slot_names for t in states[name]]
        if not all(isinstance(t, torch.Tensor) for t in slots):
            raise LoomError(f"optimizer '{self.optimizer.name}' keeps state that is not a tensor")
        self.targets = flat[:len(self.train_params)] + slots
        return flat + slots + [rates]

    def function(self, *flat: torch.Tensor) -> list:
        n_train, n_fixed = len(self.train_params), len(self.fixed_slots)
        n_x, n_y, pattern = self.layout
        at = 0

        def take(n):
            nonlocal at
            at += n
            return list(flat[at - n:at])
        train, fixed, xs, ys = take(n_train), take(n_fixed), take(n_x), take(n_y)
        sws = None
        if pattern is not None:
            given = iter(take(sum(pattern)))
            sws = [next(given) if present else None for present in pattern]
        states = {name: take(size) for name, size in zip(self.slot_names, self.slot_sizes)}
        rates = flat[at]
        train = [t.clone() for t in train]
        states = {name: [t.clone() for t in values] for name, values in states.items()}
        grads, (total, parts, outs) = self.grad_of(train, fixed, xs, ys, sws)
        with torch.no_grad():
            self.optimizer.graph_update(train, grads, states, rates)
        self.parts = len(parts)
        return [*train, *(t for name in self.slot_names for t in states[name]), total.detach(),
                *(p.detach() for p in parts), *outs]

    def split(self, outputs: list) -> tuple[list, torch.Tensor, list, list]:
        """``(new values, total, per-output losses, outputs)`` of :meth:`function`'s flat outputs."""
        n_new, n_parts = len(self.targets), self.parts
        return outputs[:n_new], outputs[n_new], outputs[n_new + 1:n_new + 1 + n_parts], outputs[n_new + 1 + n_parts:]


class PrecompiledStep:
    """A train step that runs a precompiled library for the batch shapes that have one, eagerly otherwise.

    Args:
        model: the model (its configuration names the library).
        eager: the eager step ``step(xs, ys, sws) -> (total, per-output losses)``.
        function: the model's :class:`StepFunction`.
        metric_update: ``metric_update(ys, outputs, sws)`` (the eager step's, deferred), or ``None``.
        after_update: called after each update (weight constraints), or ``None``.
    """

    def __init__(self, model: Any, eager: Callable, function: StepFunction, metric_update: Callable | None,
                 after_update: Callable | None):
        self.model, self.eager, self.function = model, eager, function
        self.metric_update, self.after_update = metric_update, after_update
        self.runners: dict[tuple, Any] = {}
        self.keys: dict[tuple, str] = {}  # batch signature -> library key (where the model's config serializes)
        self.eager_counts: dict[tuple, int] = {}  # eager steps since the ledger last recorded them

    def loaded(self) -> int:
        """How many batch shapes run a precompiled library."""
        return sum(1 for r in self.runners.values() if r is not None)

    def pending_overhead(self) -> dict[tuple, float]:
        """The expected overhead (s) of the eager steps since the last call, per batch signature (for the
        ledger, which files it under ``keys[signature]``)."""
        from loom.training import auto_jit
        per_step = auto_jit.train_gain_per_step(self.model)
        spent = {s: n * per_step for s, n in self.eager_counts.items() if n}
        self.eager_counts = dict.fromkeys(self.eager_counts, 0)
        return spent

    def build_request(self, signature: tuple) -> dict:
        """What the builder needs to rebuild this step for batches of ``signature`` (JSON)."""
        from loom.models import to_json
        return {"kind": "train", "model": to_json(self.model), "compile": self.model.get_compile_config(),
                "signature": _jsonable_signature(signature), "threads": torch.get_num_threads()}

    def __call__(self, xs: list, ys: list, sws: list | None):
        signature = batch_signature(xs, ys, sws)
        runner = self.runners.get(signature, _MISSING)
        if runner is _MISSING:
            runner = self.runners[signature] = self._runner(signature, xs, ys, sws)
        if runner is None or not self._runnable():
            if signature in self.keys:
                self.eager_counts[signature] = self.eager_counts.get(signature, 0) + 1
            return self.eager(xs, ys, sws)
        return self._run(runner, xs, ys, sws)

    def _runnable(self) -> bool:
        return (all(p.requires_grad for p in self.function.train_params)
                and not self.function.optimizer.graph_update_blocked())

    def _run(self, runner: Any, xs: list, ys: list, sws: list | None):
        function = self.function
        flat = function.inputs(xs, ys, sws)
        new, total, parts, outs = function.split(runner.run(flat))
        torch._foreach_copy_(function.targets, new)
        function.optimizer.graph_done()
        if self.after_update is not None:
            self.after_update()
        if self.metric_update is not None:
            self.metric_update(ys, outs, sws)
        return total, parts

    def _runner(self, signature: tuple, xs: list, ys: list, sws: list | None):
        """The loaded, checked library for ``signature``, or ``None`` (then maybe start its builder)."""
        try:
            key = step_key(self.model, signature)
        except Exception:  # noqa: BLE001 - a configuration that does not serialize is never precompiled
            return None
        return checked_library(self, signature, key, "train step",
                               lambda runner: "" if self._agrees(runner, xs, ys, sws)
                               else "its results differ from the eager step's")

    def _agrees(self, runner: Any, xs: list, ys: list, sws: list | None) -> bool:
        """One step of the library and of the eager function on copies of the state give the same values."""
        flat = [t.clone() for t in self.function.inputs(xs, ys, sws)]
        got = runner.run(flat)
        with torch.enable_grad():
            expected = self.function.function(*flat)
        return len(got) == len(expected) and all(close(a, b) for a, b in zip(got, expected))


def checked_library(step: Any, signature: tuple, key: str, what: str, problem: Callable[[Any], str]) -> Any:
    """The library ``key`` loaded for ``step`` (a precompiled step, whose eager runs the ledger then records),
    or ``None``: there is none yet (its builder may start), or it is set aside for good because it does not load
    (with a warning) or ``problem(runner)`` names what is wrong with it."""
    from loom.training import precompile_ledger
    step.keys[signature] = key
    precompile_ledger.remember(step)
    path = library_path(key)
    loader = getattr(getattr(torch._C, "_aoti", None), "AOTIModelPackageLoader", None)
    if loader is None:
        return None
    if not os.path.exists(path):
        precompile_ledger.maybe_build(step, signature, key)
        return None
    try:
        runner = loader(path, "model", False, 1, -1)
        wrong = problem(runner)
    except (RuntimeError, OSError, LoomError) as e:
        runner, wrong = None, f"it does not load ({e})"
        warnings.warn(f"jit_compile='auto': the precompiled {what} {path} does not load ({e}); it runs eagerly.",
                      stacklevel=4)
    if wrong:
        precompile_ledger.set_aside(key, wrong)
        return None
    return runner


def close(got: torch.Tensor, expected: torch.Tensor) -> bool:
    """Whether a library's output equals the eager one's (same shape and dtype, values to float rounding)."""
    if got.shape != expected.shape or got.dtype != expected.dtype:
        return False
    if not got.is_floating_point():
        return bool(torch.equal(got, expected))
    scale = float(expected.abs().max()) if expected.numel() else 0.0
    return bool(torch.allclose(got, expected, rtol=1e-4, atol=1e-5 * max(scale, 1.0)))


def build(model: Any, function: StepFunction, xs: list, ys: list, sws: list | None, path: str) -> None:
    """Trace ``function`` on this batch's shapes, compile it with AOTInductor and write the library to ``path``
    (atomically).

    Raises:
        LoomError: the step cannot be precompiled (random operations, constants that are state...).
    """
    trace_and_package(model, function.function, function.inputs(xs, ys, sws), True, path, "train step")


def trace_and_package(model: Any, function: Callable, flat: list, training: bool, path: str, what: str) -> None:
    """Trace ``function`` (of the flat tensors ``flat``) to ATen operations with ``model`` in training or
    inference mode (as ``fit`` / ``predict`` run it), export it, compile it with AOTInductor and write the
    library to ``path`` atomically.

    Raises:
        LoomError: the traced graph draws random numbers or reads a tensor that is not one of its inputs.
    """
    from torch.fx.experimental.proxy_tensor import make_fx
    from loom.layers.modes import restore_modes, saved_modes
    modes = saved_modes(model)
    model.train(training)
    try:
        graph = make_fx(function, tracing_mode="fake")(*flat)
    finally:
        restore_modes(modes)
    _check_graph(graph, what)

    class Step(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.graph = graph

        def forward(self, *args):
            return tuple(self.graph(*args))
    exported = torch.export.export(Step(), tuple(flat), strict=False)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = f"{path}.{os.getpid()}.partial.pt2"
    try:
        torch._inductor.aoti_compile_and_package(exported, package_path=partial)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def _check_graph(graph: torch.fx.GraphModule, what: str) -> None:
    for node in graph.graph.nodes:
        target = node.target
        if node.op == "call_function" and torch.Tag.nondeterministic_seeded in getattr(target, "tags", ()):
            raise LoomError(f"the {what} draws random numbers ({target}); a precompiled step would repeat them")
        if node.op == "get_attr":
            value = getattr(graph, target)
            if isinstance(value, torch.Tensor) and value.numel() > 1:
                raise LoomError(f"the {what} reads a tensor that is not a weight or buffer ({tuple(value.shape)}); "
                                f"it could change without the key knowing")

"""``compile(jit_compile="auto")``, the default: compile a step only where the compilation will pay for itself.

``jit_compile=True`` (:mod:`loom.training.compiled_step`) makes a small model's train step two to three
times faster, but its first batch pays seconds of compilation (minutes for an LSTM unrolled over time), and some
models (BatchNormalization convnets) train no faster compiled. ``"auto"`` decides per loop kind (``"train"``,
``"test"``, ``"predict"``), once per ``fit`` / ``evaluate`` / ``predict`` call and before the first step, from
what it can see without timing anything:

1. **Layer kinds.** Recurrent layers (on the CPU their fused kernels stay whole in the graph and gain nothing
   from it, :mod:`loom.layers.opaque_kernels`; elsewhere, or masked, they unroll and take minutes to compile) and
   modules loom does not know (a custom layer or a wrapped torch module may not trace) stay eager; so does a
   train step with BatchNormalization-like moving statistics (measured no faster compiled, ``bench/`` M5:
   its convolutions and normalizations are ATen kernels either way), and so do quantized layers
   (:mod:`loom.layers.quantized`: custom gradients through their quantized kernels).
2. **Cost against gain.** The expected compile time (a base plus a share per layer) is weighed against the
   number of steps the call will run times the overhead a compiled step saves per layer and step (the
   measured per-op Python and dispatch cost, larger on CUDA where every op is a kernel launch). A fit of a few
   hundred steps (every fit in the unit tests) stays eager; a fit of tens of thousands of small steps
   compiles. Unknown lengths (a generator) stay eager.
3. **Calls add up.** A model whose ``fit`` is called again and again (one epoch at a time, a GAN's loop, a
   tuner's trials on one model) compiles at the start of the call after the steps it already ran eagerly
   have cost as much as a compilation would (the rent-or-buy rule: never more than twice the better choice
   in hindsight).

4. **Precompiled steps.** A dense network's train step and a convnet's predict step that stay eager here run a
   library compiled ahead of time where one exists (:mod:`loom.training.precompiled_step`,
   :mod:`loom.training.precompiled_predict`: built in the background once earlier runs of the step added up,
   loaded in milliseconds, no compilation in the run); while one is loaded, a long call does not compile the
   step again.

A decision to compile is kept for the model's later calls (its graphs exist; dropping them would only pay
again), and nothing switches within a call, so training never recompiles midway. The decisions are in
``model._jit_decision`` (``{kind: JitDecision}``) and logged on the ``loom.training.auto_jit`` logger.
``jit_compile=True`` / ``False`` (or ``run_eagerly=True``) force the choice.

The constants are rough costs measured with ``bench/run.py`` on a 2-core x86 CPU (torch 2.13, warm inductor
cache); they decide orders of magnitude, not percentages.

Example:
    >>> import loom
    >>> model = loom.Sequential([loom.Input((8,)), loom.layers.Dense(4), loom.layers.Dense(1)])
    >>> policy = JitPolicy("auto")
    >>> policy.decide(model, "train", steps=100).compile
    False
    >>> policy.decide(model, "train", steps=10_000_000).compile
    True
    >>> repeated = JitPolicy("auto")
    >>> [repeated.decide(model, "train", steps=20_000).compile for _ in range(5)]
    [False, False, False, False, True]
    >>> policy.uses("train"), policy.uses("predict")
    (True, False)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

from loom.errors import ConfigError

LOGGER = logging.getLogger(__name__)

KINDS = ("train", "test", "predict")
# Seconds to compile a step: a base (tracing, inductor, the C++ build) plus a share per layer.
COMPILE_BASE_S = {"train": 6.0, "test": 3.0, "predict": 3.0}
COMPILE_PER_LAYER_S = {"train": 0.5, "test": 0.25, "predict": 0.25}
# Seconds a compiled step saves per layer and step (bench M1: 0.34 -> 0.17 ms a train step on 3 layers).
GAIN_PER_LAYER_S = {"cpu": {"train": 5e-5, "test": 5e-6, "predict": 5e-6},
                    "cuda": {"train": 1e-4, "test": 3e-5, "predict": 3e-5}}
_TORCH_OK = ("torch.nn.modules.container",)  # torch modules that only hold loom layers


@dataclass(frozen=True)
class JitDecision:
    """What ``jit_compile="auto"`` chose for one loop kind, and why.

    Attributes:
        kind: ``"train"``, ``"test"`` or ``"predict"``.
        compile: whether the step is compiled.
        reason: a short sentence saying why.
        steps: the steps the deciding call was to run (``None``: unknown).
        expected_gain_s: estimated seconds saved over those steps by compiling.
        expected_cost_s: estimated seconds of compilation.
    """

    kind: str
    compile: bool
    reason: str
    steps: int | None = None
    expected_gain_s: float = 0.0
    expected_cost_s: float = 0.0


class JitPolicy:
    """The ``jit_compile`` setting of one ``compile()`` call, and (for ``"auto"``) its decisions so far.

    Args:
        jit_compile: ``True`` (always compile), ``False`` (never) or ``"auto"`` (decide per call; default).
        run_eagerly: never compile, whatever ``jit_compile`` says (default ``False``).

    Raises:
        ConfigError: ``jit_compile`` is none of ``True``, ``False``, ``"auto"``.
    """

    def __init__(self, jit_compile: bool | str = "auto", run_eagerly: bool = False):
        if jit_compile not in (True, False, "auto"):
            raise ConfigError(f"compile(): jit_compile must be True, False or 'auto'; got {jit_compile!r}.")
        self.setting = jit_compile
        self.forced: bool | None = False if run_eagerly else (None if jit_compile == "auto" else bool(jit_compile))
        self.decisions: dict[str, JitDecision] = {}
        self.eager_steps: dict[str, int] = {}  # steps of earlier calls that ran eagerly, per kind

    def uses(self, kind: str) -> bool:
        """Whether the ``kind`` step is compiled now."""
        if self.forced is not None:
            return self.forced
        decision = self.decisions.get(kind)
        return decision is not None and decision.compile

    def decide(self, model: torch.nn.Module, kind: str, steps: int | None) -> JitDecision:
        """Decide (``"auto"`` only) whether the ``kind`` step of ``model`` is compiled for a call of ``steps``.

        A compiled kind stays compiled; a forced setting is returned as such.
        """
        if self.forced is not None:
            return JitDecision(kind, self.forced, "forced by compile(jit_compile=..., run_eagerly=...)", steps)
        previous = self.decisions.get(kind)
        if previous is not None and previous.compile:
            return previous
        decision = estimate(model, kind, steps, self.eager_steps.get(kind, 0))
        self.decisions[kind] = decision
        if not decision.compile and steps:
            self.eager_steps[kind] = self.eager_steps.get(kind, 0) + steps
        if previous is None or previous.compile != decision.compile:
            LOGGER.info("jit_compile='auto': %s step %s (%s)", kind,
                        "compiled" if decision.compile else "eager", decision.reason)
        return decision


def uses(model: torch.nn.Module, kind: str) -> bool:
    """Whether ``model``'s ``kind`` step is compiled now (``False`` before ``compile()``)."""
    policy = getattr(model, "_jit_policy", None)
    return policy is not None and policy.uses(kind)


_STEP_CACHES = {"train": "_train_step_cache", "test": "_test_step_cache", "predict": "_predict_cache"}


def decide_for(model: torch.nn.Module, kind: str, steps: int | None) -> None:
    """The trainer's hook, once per call before its loop: decide (``"auto"`` only) and record the decision in
    ``model._jit_decision``; a step that is newly to be compiled is dropped from the model's cache, so the
    trainer builds it compiled."""
    policy = getattr(model, "_jit_policy", None)
    if policy is None or policy.forced is not None:
        return
    if not policy.uses(kind) and _precompiled_loaded(model, kind):
        model._jit_decision[kind] = JitDecision(kind, False, "a precompiled step is loaded", steps)
        return
    before = policy.uses(kind)
    model._jit_decision[kind] = policy.decide(model, kind, steps)
    if policy.uses(kind) and not before:
        setattr(model, _STEP_CACHES[kind], None)


def _precompiled_loaded(model: torch.nn.Module, kind: str) -> bool:
    """Whether ``model``'s ``kind`` step runs a precompiled library for some batch shape."""
    if kind == "predict":
        step = model.__dict__.get("_precompiled_predict")
    else:
        cached = getattr(model, _STEP_CACHES[kind], None)
        step = cached[1] if isinstance(cached, tuple) else None
    return bool(getattr(step, "loaded", lambda: 0)())


def estimate(model: torch.nn.Module, kind: str, steps: int | None, earlier_steps: int = 0) -> JitDecision:
    """The ``"auto"`` decision for ``kind`` on ``model`` for a call of ``steps``, after ``earlier_steps`` steps
    of earlier calls ran eagerly (see the module docstring)."""
    if kind not in KINDS:
        raise ConfigError(f"jit decision: kind must be one of {list(KINDS)}; got {kind!r}.")
    blocker = eager_only_reason(model, kind)
    if blocker:
        return JitDecision(kind, False, blocker, steps)
    layers = _layer_count(model)
    device = "cuda" if _device_type(model) == "cuda" else "cpu"
    per_step = layers * GAIN_PER_LAYER_S[device][kind]
    cost = COMPILE_BASE_S[kind] + layers * COMPILE_PER_LAYER_S[kind]
    paid = earlier_steps * per_step
    if paid >= cost:
        return JitDecision(kind, True, f"{earlier_steps} steps of earlier calls ran eagerly: their expected "
                                       f"overhead {paid:.1f} s reached the expected compile time {cost:.1f} s",
                           steps, paid, cost)
    if not steps:
        return JitDecision(kind, False, "the number of steps is unknown", steps)
    gain = steps * per_step
    verdict = "exceeds" if gain > cost else "does not exceed"
    reason = (f"{steps} steps x {layers} layers: expected gain {gain:.1f} s {verdict} "
              f"expected compile time {cost:.1f} s")
    return JitDecision(kind, gain > cost, reason, steps, gain, cost)


def train_gain_per_step(model: torch.nn.Module) -> float:
    """Seconds a compiled train step of ``model`` is expected to save per step (the estimate ``"auto"`` uses)."""
    device = "cuda" if _device_type(model) == "cuda" else "cpu"
    return _layer_count(model) * GAIN_PER_LAYER_S[device]["train"]


def eager_only_reason(model: torch.nn.Module, kind: str) -> str:
    """Why ``model``'s ``kind`` step must stay eager (``""`` if nothing forbids compiling)."""
    from loom.layers.normalization import BatchNormalization
    from loom.layers.rnn_base import RecurrentLayer
    for name, module in model.named_modules():
        if isinstance(module, (RecurrentLayer, torch.nn.RNNBase)):
            return f"recurrent layer {name or type(module).__name__!r} (nothing to gain, or minutes to compile)"
        origin = type(module).__module__
        if not (origin.startswith("loom.") or origin in _TORCH_OK):
            return f"custom module {name or 'model'!r} ({type(module).__qualname__}) may not trace"
        if kind == "train" and isinstance(module, (BatchNormalization, torch.nn.modules.batchnorm._BatchNorm)):
            return f"{name!r} updates moving statistics (measured no faster compiled)"
        if getattr(module, "_quantized", None) is not None:
            return f"quantized layer {name!r} (custom gradients through its quantized kernel)"
    return ""


def _layer_count(model: torch.nn.Module) -> int:
    """Leaf modules doing work (input layers excluded)."""
    from loom.layers.input_layer import InputLayer
    return max(1, sum(1 for m in model.modules()
                      if next(m.children(), None) is None and not isinstance(m, InputLayer) and m is not model))


def _device_type(model: torch.nn.Module) -> str:
    param = next(model.parameters(), None)
    return param.device.type if param is not None else "cpu"

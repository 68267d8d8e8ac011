"""How a compiled model's train / test / predict steps are built and cached.

:class:`StepBuilder` is a mixin of :class:`~loom.training.trainer.Trainable`. The loops (``fit``, ``evaluate``,
``predict`` and the ``*_on_batch`` API) ask it for a step function and never look inside: the built-in step
(:mod:`loom.training.step`) or, for a model overriding Keras's step API, the adapter of
:mod:`loom.training.custom_step`; compiled whole (:mod:`loom.training.compiled_step`) when
:mod:`loom.training.auto_jit` says so. A step is built once per compile and rebuilt when the plan changes.
The pieces a step is made of live here too: the trainable parameters, the autocast policy, the regularization
losses, the weight constraints, the forward pass and how its flat outputs are packed back, and the device
the model runs on: :func:`on_model_device` places the model before a loop and runs the loop in loom's device
scope (:func:`loom.backend.model_device_scope`), so tensors that layers, losses and custom steps create with
loom's ops (``ops.arange``, ``random.normal``...) land on a GPU model's device; on the CPU it enters nothing.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

import torch

from loom import backend, cpu_allocator, inference, structure
from loom.distributed import context as dist_context, data_parallel
from loom.errors import ConfigError
from loom.training import auto_jit, precompiled_predict, precompiled_step
from loom.training.compiled_step import compiled, is_small, make_compiled_train_step, with_eager_fallback
from loom.training.custom_step import StepLogs
from loom.training.logs import RunningLoss
from loom.training.step import make_compute, make_test_step, make_train_step

# compile(mixed_precision=...) policy -> the dtype forward and loss run in under torch.autocast (None: float32)
AUTOCAST_DTYPES = {"mixed_float16": torch.float16, "mixed_bfloat16": torch.bfloat16, "float32": None, None: None}

F = TypeVar("F", bound=Callable[..., Any])


def on_model_device(method: F | None = None, *, needs_compile: bool = False) -> Any:
    """Decorate a loop (``fit``, ``evaluate``, ``predict``, ``*_on_batch``): with ``needs_compile``, refuse an
    uncompiled model first (before the model moves anywhere); then place the model
    (:meth:`StepBuilder._place_on_device`) and run the call in ``loom.backend.model_device_scope`` of the model's
    device, so the tensors loom's ops create inside it (in ``call``, losses, metrics, custom steps, callbacks)
    land there. A model on the CPU runs with no scope entered."""
    if method is None:
        return functools.partial(on_model_device, needs_compile=needs_compile)

    @functools.wraps(method)
    def run(self, *args: Any, **kwargs: Any) -> Any:
        if needs_compile:
            self._require_compiled(method.__name__)
        self._place_on_device()
        with backend.model_device_scope(self._device()):
            return method(self, *args, **kwargs)
    return run


class StepBuilder:
    """The step functions of :class:`~loom.training.trainer.Trainable` and what they are made of."""

    def _running(self, custom: bool, names: list[str], steps: int | None):
        """Where a loop keeps its step results: the losses on the device, or a Keras-style step's logs."""
        return StepLogs() if custom else RunningLoss(names, self._device(), capacity=steps or 64)

    def _cached_step(self, attribute: str, custom: Callable[[], bool], keras_step: Callable, build: Callable):
        """The step kept in ``attribute`` for the current plan; when the plan changed (or the step was dropped),
        built anew: by ``keras_step`` for a Keras-style custom step (``custom()``), else by ``build``."""
        cache = getattr(self, attribute, None)
        if cache is None or cache[0] is not self._plan:
            cache = (self._plan, keras_step() if custom() else build())
            setattr(self, attribute, cache)
        return cache[1]

    def _train_step(self):
        """The train step for the current plan, built once per compile (and rebuilt when the plan changes)."""
        return self._cached_step("_train_step_cache", self._custom_train, self._keras_train_step,
                                 self._build_train_step)

    def _build_train_step(self):
        loss_plan, metric_plan = self._plan
        params = self._trainable_params()
        optimizer = self.optimizer if params else None
        if optimizer is not None:
            if optimizer.built and not {id(p) for p in params} <= {id(p) for g in optimizer.param_groups
                                                                   for p in g["params"]}:
                raise ConfigError(f"Optimizer '{optimizer.name}' was built for other parameters (another model?). "
                                  f"Give compile() a new optimizer, e.g. optimizer='{type(optimizer).__name__}'.")
            optimizer.build(params)
        scaler = None
        autocast = self._autocast()
        if autocast and autocast[1] is torch.float16 and autocast[0] == "cuda" and self._auto_scale_loss:
            scaler = torch.amp.GradScaler("cuda")
        forward = data_parallel.ddp_forward(self, self._forward()) if optimizer is not None else self._forward()
        jit = auto_jit.uses(self, "train")
        whole_step = jit and optimizer is not None and scaler is None and not dist_context.is_distributed()
        compute = make_compute(forward, loss_plan, self._regularization(), autocast, jit and not whole_step)
        step = make_train_step(compute, optimizer, metric_plan.update if metric_plan.entries else None,
                               self._constraint_hook(), scaler)
        if whole_step:
            compiled = make_compiled_train_step(
                self, forward, params, optimizer, loss_plan,
                metric_plan.update_now if metric_plan.entries else None, self._regularization(), autocast,
                self._constraint_hook())
            step = with_eager_fallback(compiled, step)
        elif not jit and precompiled_step.eligible(self, optimizer, params, autocast, scaler):
            function = precompiled_step.StepFunction(self, forward, params, optimizer, loss_plan,
                                                     self._regularization())
            step = precompiled_step.PrecompiledStep(self, step, function,
                                                    metric_plan.update if metric_plan.entries else None,
                                                    self._constraint_hook())
        return step

    def _test_step(self):
        return self._cached_step("_test_step_cache", self._custom_test, self._keras_test_step, self._build_test_step)

    def _build_test_step(self):
        loss_plan, metric_plan = self._plan
        compute = make_compute(self._forward(), loss_plan, self._regularization(), self._autocast(), False)
        step = make_test_step(compute, metric_plan.update if metric_plan.entries else None)
        if auto_jit.uses(self, "test"):  # loss and metric updates in one graph, where metrics are updated at once
            graph = compiled(make_test_step(compute, metric_plan.update_now if metric_plan.entries else None),
                             is_small(self))
            step = with_eager_fallback(graph, step, "test step")
        return step

    def _predict_forward(self):
        """The forward pass ``predict`` runs: the inference plan (:mod:`loom.inference`; a precompiled library
        where one serves it, :mod:`loom.training.precompiled_predict`), or compiled once per
        ``compile(jit_compile=True)``."""
        if self._custom_predict():
            return self._keras_predict_forward()
        if not auto_jit.uses(self, "predict"):
            return precompiled_predict.wrap(self, inference.predict_forward(self, self._forward()))
        cache = getattr(self, "_predict_cache", None)
        if cache is None:
            forward = self._forward()
            graph = compiled(lambda xs: forward(xs), is_small(self))
            cache = self._predict_cache = with_eager_fallback(graph, forward, "forward pass")
        return cache

    def _trainable_params(self) -> list[torch.Tensor]:
        return [p for p in self.trainable_weights if isinstance(p, torch.nn.Parameter) and p.requires_grad]

    def _autocast(self):
        dtype = AUTOCAST_DTYPES.get(getattr(self, "_policy", None))
        return None if dtype is None else (self._device().type, dtype)

    def _regularization(self):
        # Layers defined outside loom may call add_loss in call(): their losses are summed every step.
        if not any(getattr(m, "_regularizers", None) or getattr(m, "activity_regularizer", None) is not None
                   or not type(m).__module__.startswith(("loom.", "torch."))
                   for m in self.modules()):
            return None
        return lambda: sum(self.losses)

    def _constraint_hook(self):
        from loom import constraints
        if not constraints.has_constraints(self):
            return None
        return lambda: constraints.apply_constraints(self)

    def _forward(self):
        """``forward(flat inputs) -> flat outputs``: ``run_flat`` for graph models, ``__call__`` otherwise."""
        if self._calls_graph():
            return self.run_flat

        def forward(xs):
            out = self(self._forward_inputs(xs))
            if "_call_output_template" not in self.__dict__:  # predict returns what call() returns: a tuple...
                self.__dict__["_call_output_template"] = structure.map_structure(lambda _: None, out)
            return structure.flatten(out)
        return forward

    def _pack_outputs(self, flat: list):
        kind = getattr(self, "_output_kind", None) if getattr(self, "_runner", None) is not None else None
        if kind == "dict":
            return dict(zip(self._output_keys, flat))
        if kind == "single" or (kind is None and len(flat) == 1):
            return flat[0]
        if kind == "tuple":
            return tuple(flat)
        template = self.__dict__.get("_call_output_template") if kind is None else None
        if template is not None and len(structure.flatten(template)) == len(flat):
            return structure.pack_as(template, flat)
        return list(flat)

    def _place_on_device(self, tune_allocator: bool = True) -> None:
        """Join a launcher's process group (once); move the model to CUDA when available and still on the CPU;
        on the CPU, tune the allocator (:mod:`loom.cpu_allocator`) unless ``tune_allocator`` is ``False``
        (``compile()``: only running a model may change process-wide settings)."""
        dist_context.ensure_initialized()
        if torch.cuda.is_available() and self._device().type == "cpu":
            self.to(backend.default_device())
        if tune_allocator and self._device().type == "cpu":
            cpu_allocator.auto_enable()

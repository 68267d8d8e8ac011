"""Keras 3's step API: ``train_step`` / ``test_step`` / ``predict_step``, ``compute_loss``, ``metrics``.

:class:`StepAPI` is a mixin of :class:`~loom.training.trainer.Trainable`. The trainer has one loop; each
batch goes through one *step function*. When a model overrides none of ``train_step``, ``compute_loss``,
``compute_metrics`` and ``call`` (graph models), that function is loom's fast built-in step
(:mod:`loom.training.step`): flat tensors, losses in a device buffer, no host synchronisation. Otherwise it
is an adapter that hands the batch to the model's ``train_step(data)`` as Keras does (``data`` is ``(x, y)``
or ``(x, y, sample_weight)`` with ``x`` and ``y`` in the model's structure) and logs the dict it returns.
The methods here are Keras's default implementations, so ``super().train_step(data)`` works, and a custom
step uses ``self.compute_loss``, ``self.optimizer.apply`` and ``self.metrics`` as in Keras 3 on torch.

``metrics`` lists Keras's trackers: a ``Mean`` named ``loss``, the compiled metrics as one
``compile_metrics`` object whose ``result()`` is a dict, then every metric assigned as a model attribute.
``fit`` resets them at the start of each epoch (``reset_metrics``), also when ``metrics`` is overridden.

A custom step runs as written: eagerly (``jit_compile`` and ``mixed_precision`` apply to the built-in step
only), and not in distributed runs. Its logs are read from the returned dict when a callback or the
progress bar looks, and at the end of each epoch (no NaN check: that is the built-in step's).

Example:
    >>> import numpy as np, torch, loom
    >>> class MyModel(loom.Model):
    ...     def train_step(self, data):
    ...         x, y = data
    ...         self.zero_grad()
    ...         loss = ((self(x, training=True) - y) ** 2).mean()
    ...         loss.backward()
    ...         weights = self.trainable_weights
    ...         with torch.no_grad():
    ...             self.optimizer.apply([v.value.grad for v in weights], weights)
    ...         return {"loss": loss}
    >>> inputs = loom.Input((3,))
    >>> model = MyModel(inputs, loom.layers.Dense(1)(inputs))
    >>> model.compile(optimizer="sgd")
    >>> history = model.fit(np.ones((8, 3)), np.zeros((8, 1)), epochs=2, verbose=0)
    >>> sorted(history.history)
    ['loss']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable

import torch

from loom import structure
from loom.errors import ConfigError, TrainingError
from loom.training import compile_utils
from loom.training.data import unpack_x_y_sample_weight

#: The methods whose override makes ``fit`` (``evaluate``, ``predict``) call the Keras-style steps.
_TRAIN_HOOKS = ("train_step", "compute_loss", "compute_metrics")
_TEST_HOOKS = ("test_step", "compute_loss", "compute_metrics")


class CompileMetrics:
    """The compiled metrics as one Keras tracker named ``compile_metrics`` (``result()`` is a dict)."""

    name = "compile_metrics"

    def __init__(self, model: Any):
        self._model = model

    @property
    def _plan(self):
        plan = getattr(self._model, "_plan", None)
        return plan[1] if plan else None

    def update_state(self, y: Any, y_pred: Any, sample_weight: Any = None) -> None:
        plan = self._plan
        if plan is None or not plan.entries:
            return
        ys, outs = structure.flatten(y), [o.detach() for o in structure.flatten(y_pred)]
        plan.update_now(ys, outs, _per_output(sample_weight, len(outs)))

    def result(self) -> dict[str, torch.Tensor]:
        plan = self._plan
        return plan.results() if plan is not None else {}

    def reset_state(self) -> None:
        if self._plan is not None:
            self._plan.reset()

    @property
    def metrics(self) -> list:
        plan = self._plan
        return plan.metrics if plan is not None else []


class StepLogs:
    """What a Keras-style step returned, in place of :class:`~loom.training.logs.RunningLoss` (same methods).

    Values stay tensors until read; reading gives the latest step's values as floats (dict values flattened,
    as Keras flattens ``compile_metrics``).
    """

    def __init__(self, names: list[str] | None = None, device: Any = None, capacity: int = 0):
        self.count = 0
        self._logs: Mapping = {}

    def record(self, logs: Mapping, batch_size: int, parts: Any = None) -> None:
        self._logs = logs
        self.count += 1

    def means(self, upto: int | None = None, where: Any = None, check: bool = True) -> dict[str, float]:
        return flat_float_logs(self._logs)


class StepAPI:
    """Keras 3's step methods for :class:`loom.Model` (see the module docstring)."""

    # ------------------------------------------------------------------------------- what is overridden
    def _overrides(self, hooks: tuple[str, ...]) -> bool:
        """Whether a class outside loom defines one of ``hooks`` (or ``call`` for a graph model)."""
        cls = type(self)
        if any(getattr(cls, h) is not getattr(StepAPI, h) for h in hooks):
            return True
        return getattr(self, "_runner", None) is not None and _user_defined(cls, "call")

    def _custom_train(self) -> bool:
        return self._overrides(_TRAIN_HOOKS) or self._layer_losses_only()

    def _custom_test(self) -> bool:
        return self._overrides(_TEST_HOOKS) or self._layer_losses_only()

    def _layer_losses_only(self) -> bool:
        """Compiled without a loss, the model trains on what its layers ``add_loss`` (Keras's endpoint-layer
        pattern): Keras's default steps run then, with or without targets."""
        compile_args = getattr(self, "_compile_args", None)
        return bool(compile_args) and compile_args.get("loss") is None and self._regularization() is not None

    def _custom_steps(self) -> bool:
        return self._custom_train() or self._custom_test()

    def _custom_predict(self) -> bool:
        return self._overrides(("predict_step",))

    def _calls_graph(self) -> bool:
        """The forward pass may run the graph directly (``run_flat``): a graph model not overriding ``call``."""
        return getattr(self, "_runner", None) is not None and not _user_defined(type(self), "call")

    # ------------------------------------------------------------------------------------------ steps
    def train_step(self, data: Any) -> dict[str, Any]:
        """One training step on ``data`` (``(x, y[, sample_weight])``), as Keras 3 on torch: forward,
        ``compute_loss``, backward, ``optimizer.apply``, ``compute_metrics``. Returns the logs."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        self.zero_grad(set_to_none=True)
        y_pred = self(x, training=True)
        loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
        self._loss_tracker.update_state(loss.detach(), sample_weight=_batch_size(x))
        weights = self._trainable_params()
        if weights:
            self.optimizer.scale_loss(loss).backward()
            with torch.no_grad():
                self.optimizer.apply([w.grad for w in weights], weights)
            hook = self._constraint_hook()
            if hook is not None:
                hook()
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def test_step(self, data: Any) -> dict[str, Any]:
        """One evaluation step: forward in inference mode, ``compute_loss``, ``compute_metrics``."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        with torch.no_grad():
            y_pred = self(x, training=False)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=False)
        self._loss_tracker.update_state(loss, sample_weight=_batch_size(x))
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def predict_step(self, data: Any) -> Any:
        """The outputs for one batch (``data`` is ``x``, or ``(x,)`` when ``x`` is a list or tuple)."""
        x, _, _ = unpack_x_y_sample_weight(data)
        return self(x, training=False)

    # ---------------------------------------------------------------------------------- loss, metrics
    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None,
                     training: bool = True) -> torch.Tensor:
        """The compiled loss of ``y_pred`` against ``y`` plus the regularization losses (``self.losses``).

        Raises:
            ConfigError: there is no loss at all (no ``loss`` in ``compile()`` and no regularization).
        """
        outs = structure.flatten(y_pred)
        loss_plan = self._step_plan(y, outs)[0]
        losses = []
        if loss_plan.entries:
            losses.append(loss_plan(structure.flatten(y), outs, _per_output(sample_weight, len(outs)))[0])
        losses.extend(self.losses)  # weight regularizers and every add_loss of this call, as Keras
        if not losses:
            raise ConfigError(f"Model '{self.name}': no loss to compute. Provide a `loss` argument in compile(), "
                              f"or compute the loss in your train_step.")
        total = losses[0]
        for value in losses[1:]:
            total = total + value
        return total

    def compute_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None) -> dict[str, Any]:
        """Update the compiled metrics on this batch; return :meth:`get_metrics_result`."""
        self._step_plan(y, structure.flatten(y_pred))
        self._compile_metrics.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def get_metrics_result(self) -> dict[str, Any]:
        """``{name: result}`` for ``self.metrics`` (a dict result, such as ``compile_metrics``, is merged)."""
        logs: dict[str, Any] = {}
        for metric in self.metrics:
            result = metric.result()
            if isinstance(result, Mapping):
                logs.update(result)
            else:
                logs[metric.name] = result
        return logs

    @property
    def metrics(self) -> list:
        """Keras's trackers: ``loss`` (a ``Mean``), ``compile_metrics`` when metrics were compiled, then the
        metrics assigned as attributes of the model and its layers."""
        out: list = []
        if getattr(self, "compiled", False):
            out.append(self._loss_tracker)
            args = getattr(self, "_compile_args", {})
            if args.get("metrics") or args.get("weighted_metrics"):
                out.append(self._compile_metrics)
        seen = {id(m) for m in out}
        for module in self.modules():
            for metric in module.__dict__.get("_tracked_metrics", ()):
                if id(metric) not in seen:
                    seen.add(id(metric))
                    out.append(metric)
        return out

    def reset_metrics(self) -> None:
        """Reset every tracker in ``self.metrics`` and the compiled metrics."""
        for metric in self.metrics:
            metric.reset_state()
        plan = getattr(self, "_plan", None)
        if plan:
            plan[1].reset()
        tracker = self.__dict__.get("_loss_tracker")
        if tracker is not None:
            tracker.reset_state()

    @property
    def _loss_tracker(self):
        tracker = self.__dict__.get("_keras_loss_tracker")
        if tracker is None:
            from loom.metrics import Mean
            tracker = Mean(name="loss")
            self.__dict__["_keras_loss_tracker"] = tracker
        return tracker

    @property
    def _compile_metrics(self) -> CompileMetrics:
        wrapper = self.__dict__.get("_keras_compile_metrics")
        if wrapper is None:
            wrapper = self.__dict__["_keras_compile_metrics"] = CompileMetrics(self)
        return wrapper

    # ------------------------------------------------------------------------------------------ plans
    def _loss_plan_for(self, names: list[str], target_shapes: list | None, output_shapes: list) -> Any:
        """The loss plan; with no compiled loss, an empty one when a custom step may compute its own."""
        loss = self._compile_args["loss"]
        if loss is None and (self._custom_train() or self._custom_test()):
            return compile_utils.LossPlan([], names)
        return compile_utils.build_losses(loss, self._compile_args["loss_weights"], names, target_shapes,
                                          output_shapes)

    def _step_plan(self, y: Any, outs: list) -> tuple:
        """The compile plan, made from ``y`` and the outputs when nothing has made it yet (a hand-written loop)."""
        if getattr(self, "_plan", None) is None:
            if not getattr(self, "compiled", False):
                raise ConfigError(f"Model '{self.name}': call compile() before compute_loss() / compute_metrics().")
            ys = structure.flatten(y) if y is not None else None
            names = self._io_names()[1] or _default_names(len(outs))
            target_shapes = [(None,) + tuple(t.shape[1:]) for t in ys] if ys else None
            output_shapes = [(None,) + tuple(o.shape[1:]) for o in outs]
            loss_plan = self._loss_plan_for(names, target_shapes, output_shapes)
            args = self._compile_args
            metric_plan = compile_utils.build_metrics(args["metrics"], args["weighted_metrics"], names,
                                                      target_shapes, output_shapes, loss_plan)
            self._plan = (loss_plan, metric_plan)
        return self._plan

    def _ensure_step_plan(self) -> None:
        """A plan without losses or metrics for a custom step fed data without targets."""
        if getattr(self, "_plan", None) is None and (self._custom_train() or self._custom_test()):
            names = self._io_names()[1] or ["output"]
            self._plan = (compile_utils.LossPlan([], names), compile_utils.MetricPlan([], []))

    # ------------------------------------------------------------------------------ adapters for the loop
    def _step_inputs(self, xs: list) -> Any:
        """Flat input tensors in the model's input structure (what ``self(x)`` takes)."""
        if getattr(self, "_runner", None) is not None:
            return self._pack(list(xs), self._input_kind, self._input_keys)
        return self._forward_inputs(xs)

    def _step_data(self, xs: list, ys: list | None, sws: list | None) -> tuple:
        x = self._step_inputs(xs)
        if ys is None:
            return _x_only(x)
        y = self._pack_outputs(list(ys))
        if sws is None or all(w is None for w in sws):
            return x, y
        return x, y, sws[0] if len(sws) == 1 else self._pack_outputs(list(sws))

    def _keras_train_step(self) -> Callable:
        """``step(xs, ys, sws) -> (logs, None)`` calling ``self.train_step(data)``.

        Raises:
            ConfigError: in a distributed run (the custom step's gradients would not be averaged over ranks).
        """
        from loom.distributed import context as dist_context
        if dist_context.is_distributed():
            raise ConfigError(f"Model '{self.name}' overrides train_step (or compute_loss / compute_metrics): "
                              f"custom steps are not supported in distributed runs yet; use the built-in step.")
        params = self._trainable_params()
        if params and self.optimizer is not None:
            self.optimizer.build(params)
        return self._logs_step("train_step", self.train_step)

    def _keras_test_step(self) -> Callable:
        return self._logs_step("test_step", self.test_step)

    def _logs_step(self, what: str, method: Callable) -> Callable:
        def step(xs, ys, sws):
            return checked_logs(method(self._step_data(xs, ys, sws)), what), None
        return step

    def _keras_predict_forward(self) -> Callable:
        """``forward(xs) -> flat outputs`` calling ``self.predict_step(x)``; ``forward.pack`` rebuilds the
        structure of the first batch's outputs from flat arrays."""
        template: list = []

        def forward(xs):
            out = self.predict_step(_x_only(self._step_inputs(xs)))
            if not template:
                template.append(out)
            return structure.flatten(out)

        def pack(flat):
            return structure.pack_as(template[0], flat) if template else flat
        forward.pack = pack
        return forward


# ============================================================================================ helpers
def _x_only(x: Any) -> Any:
    """The ``data`` of a batch without targets, as Keras packs it (``pack_x_y_sample_weight``): ``x`` itself
    (a tensor or a dict), or ``(x,)`` when ``x`` is a list or tuple of inputs, so ``unpack`` stays unambiguous."""
    return (x,) if isinstance(x, (list, tuple)) else x


def checked_logs(logs: Any, what: str) -> Mapping:
    """``logs`` if it is a dict of metric values (tensors, numbers or dicts of them).

    Raises:
        TrainingError: anything else, naming ``what`` (``train_step``, ``test_step``).
    """
    if not isinstance(logs, Mapping):
        raise TrainingError(f"{what}() must return a dict of metric values such as {{'loss': loss}}; it "
                            f"returned {type(logs).__name__}.")
    for key, value in logs.items():
        values = value.values() if isinstance(value, Mapping) else [value]
        for v in values:
            if not isinstance(v, (torch.Tensor, int, float)) or isinstance(v, torch.Tensor) and v.numel() != 1:
                shape = f" of shape {tuple(v.shape)}" if isinstance(v, torch.Tensor) else ""
                raise TrainingError(f"{what}() returned {key!r}: {type(v).__name__}{shape}; each value must be a "
                                    f"scalar (a number or a one-element tensor), e.g. metric.result().")
    return logs


def flat_float_logs(logs: Mapping) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in logs.items():
        if isinstance(value, Mapping):
            out.update(flat_float_logs(value))
        else:
            out[key] = float(value.detach()) if isinstance(value, torch.Tensor) else float(value)
    return out


def _per_output(sample_weight: Any, n: int) -> list | None:
    if sample_weight is None:
        return None
    flat = structure.flatten(sample_weight)
    return flat if len(flat) == n else [sample_weight] * n


def _batch_size(x: Any) -> int:
    return int(structure.flatten(x)[0].shape[0])


def _default_names(n: int) -> list[str]:
    return ["output"] if n == 1 else [f"output_{i + 1}" for i in range(n)]


def _user_defined(cls: type, attr: str) -> bool:
    """The class that defines ``attr`` first in ``cls``'s MRO lies outside loom's own packages."""
    for klass in cls.__mro__:
        if attr in klass.__dict__:
            return not klass.__module__.startswith("loom.")
    return False

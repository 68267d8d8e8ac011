"""``compile``: how a model is configured for training, and the configuration it keeps.

:class:`CompileAPI` is a mixin of :class:`~loom.training.trainer.Trainable`. ``compile`` records the optimizer,
losses, metrics, ``jit_compile`` policy (:mod:`loom.training.auto_jit`) and mixed-precision policy; the plan
resolved from them (:mod:`loom.training.compile_utils`) is built on the first data the model sees.
``get_compile_config`` / ``compile_from_config`` carry the arguments through saving and loading.

The step functions built from them (closures over this model's weights and optimizer, compiled graphs, loaded
libraries) belong to the model and the process that built them: ``copy.deepcopy``, ``pickle`` and
``torch.save`` of a model leave them out (:data:`BUILT_STEPS`), so a copy trains, evaluates and predicts with
its own weights and builds its steps again on its first call.
"""

from __future__ import annotations

from typing import Any

from loom.errors import ConfigError
from loom.training import auto_jit, compile_utils
from loom.training.step_builder import AUTOCAST_DTYPES
from loom.traceback_utils import filter_traceback


#: Attributes holding built steps, which copies and pickles of a model start without.
BUILT_STEPS = ("_train_step_cache", "_test_step_cache", "_predict_cache", "_precompiled_predict")


class CompileAPI:
    """``compile`` and the compile configuration of :class:`loom.Model`."""

    def __getstate__(self) -> dict:
        state = super().__getstate__()  # torch.nn.Module's: a copy of __dict__
        state.update(dict.fromkeys((name for name in BUILT_STEPS if name in state), None))
        return state

    def _forget_built_steps(self) -> None:
        """Drop the built steps (:data:`BUILT_STEPS`); the next call builds them again."""
        self.__dict__.update(dict.fromkeys(BUILT_STEPS))

    @filter_traceback
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, loss_weights: Any = None, metrics: Any = None,
                weighted_metrics: Any = None, run_eagerly: bool = False, steps_per_execution: int = 1,
                jit_compile: bool | str = "auto", auto_scale_loss: bool = True,
                mixed_precision: str | None = None) -> None:
        """Configure the model for training.

        Args:
            optimizer: name (``'rmsprop'``, default), config dict or :class:`loom.optimizers.Optimizer`.
            loss: name, function or :class:`loom.losses.Loss`; a list or dict (keyed by output name) gives one
                per output (default ``None``: ``fit`` then raises, unless the model overrides ``train_step``
                or ``compute_loss``; see :mod:`loom.training.custom_step`).
            loss_weights: a float, or one float per output as a list or dict (default ``None``: all 1).
            metrics: a list of metrics (applied to the single output), a list per output, or a dict keyed by
                output name (default ``None``). ``'accuracy'``/``'acc'`` pick the right accuracy from the shapes.
            weighted_metrics: like ``metrics``, but weighted by ``sample_weight`` / ``class_weight`` (default None).
            run_eagerly: never compile (overrides ``jit_compile``; default ``False``).
            steps_per_execution: accepted for compatibility; loom runs one step per call (default 1).
            jit_compile: ``True`` compiles the whole train step (forward, loss, gradients, metric updates) and
                the evaluate / predict steps with ``torch.compile`` (:mod:`loom.training.compiled_step`); the
                first batch of each shape pays the compilation. ``False`` never compiles. ``'auto'`` (default)
                compiles a step only when the call's steps are expected to save more than the compilation
                costs (:mod:`loom.training.auto_jit`; the decision is in ``model._jit_decision``).
            auto_scale_loss: scale the loss (``GradScaler``) for ``mixed_float16`` on CUDA (default ``True``).
            mixed_precision: ``'mixed_float16'``, ``'mixed_bfloat16'`` or ``None`` (default: the global policy
                of :mod:`loom.mixed_precision`, ``'float32'`` unless set) to run forward and loss under
                ``torch.autocast`` while the weights stay float32.
        """
        from loom import mixed_precision as mp
        from loom import optimizers
        optimizer = optimizers.get(optimizer)
        policy = mixed_precision if mixed_precision is not None else mp.global_policy().name
        if policy not in AUTOCAST_DTYPES:
            raise ConfigError(f"Unknown mixed_precision policy {policy!r}. Valid: "
                              f"{[k for k in AUTOCAST_DTYPES if k]}.")
        if not isinstance(steps_per_execution, int) or steps_per_execution < 1:
            raise ConfigError(f"steps_per_execution must be a positive integer; got {steps_per_execution!r}.")
        self._place_on_device(tune_allocator=False)
        self.optimizer = optimizer
        self.loss = loss
        self._compile_args = dict(loss=loss, loss_weights=loss_weights, metrics=metrics,
                                  weighted_metrics=weighted_metrics)
        self._jit_policy = auto_jit.JitPolicy(jit_compile, run_eagerly)
        self._jit_decision: dict = {}
        self._policy = policy if policy != "float32" else None
        self._auto_scale_loss = auto_scale_loss
        self._plan = None
        self._forget_built_steps()
        self.__dict__.pop("_keras_loss_tracker", None)
        self.steps_per_execution = steps_per_execution
        self.run_eagerly = bool(run_eagerly)
        self.jit_compile = False if run_eagerly else jit_compile
        self.stop_training = False
        self.compiled = True
        self._compile_config = compile_utils.serialize_compile_config(
            optimizer, loss, loss_weights, metrics, weighted_metrics, run_eagerly, steps_per_execution,
            self.jit_compile, mixed_precision)

    def get_compile_config(self) -> dict:
        """The JSON-able compile arguments (``{}`` before ``compile``)."""
        return dict(getattr(self, "_compile_config", None) or {}) if getattr(self, "compiled", False) else {}

    def compile_from_config(self, config: dict) -> None:
        """``compile`` with the arguments :meth:`get_compile_config` returned (used when loading a model)."""
        self.compile(**compile_utils.deserialize_compile_config(config))
        if self.built and self.optimizer is not None and self._trainable_params():
            self.optimizer.build(self._trainable_params())

    def _require_compiled(self, method: str) -> None:
        if not getattr(self, "compiled", False):
            raise ConfigError(f"You must call compile() before {method}(): e.g. "
                              f"model.compile(optimizer='rmsprop', loss='mse').")

    @property
    def metrics_names(self) -> list[str]:
        """Names of what ``evaluate`` returns, in order (``[]`` before the model has seen data).

        Keras 3 returns ``['loss', 'compile_metrics']`` here; loom returns the flat names, matching the list.
        """
        plan = getattr(self, "_plan", None)
        if plan is None:
            return []
        loss_plan, metric_plan = plan
        keys = dict.fromkeys(loss_plan.names + metric_plan.names)
        return compile_utils.ordered_names(keys, loss_plan, metric_plan)

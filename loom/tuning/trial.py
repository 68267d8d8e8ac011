"""One trial: build the model from the trial's hyperparameters, train it with the normal ``fit``, keep its
best epoch, save that epoch's weights, and free everything.

Order of a trial (:func:`run_trial`), once per fold with cross-validation:

1. ``loom.backend.clear_session()`` (fresh automatic layer names), the seed for this trial, ``build(hp)``;
2. ``fit`` with the user's callbacks plus :class:`BestEpoch` (the best value of the objective, its epoch,
   a copy of the weights then), a :class:`~loom.tuning.pruning.PruningCallback` (first fold only) and a
   ``TensorBoard`` callback logging to the trial's directory with its hyperparameters (HParams dashboard);
3. the best epoch's weights are put back and saved, atomically, to ``<trial dir>/best.weights.safetensors``
   (first fold only: the model :meth:`~loom.tuning.Tuner.best_model` returns).

The value of a trial is the best epoch's value of the objective, averaged over the folds with ``cv`` and over
``executions`` models trained per fold (KerasTuner's ``executions_per_trial``, each with its own seed).

Example:
    >>> keeper = BestEpoch("val_loss", "min", keep_weights=False)
    >>> keeper.on_train_begin()
    >>> for epoch, value in enumerate([0.9, 0.7, 0.8]):
    ...     keeper.on_epoch_end(epoch, {"val_loss": value})
    >>> keeper.best, keeper.best_epoch
    (0.7, 1)
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable

from loom import backend
from loom.callbacks import Callback, TensorBoard
from loom.callbacks.monitor import is_improvement
from loom.errors import ConfigError, TrainingError
from loom.tuning.pruning import PruningCallback
from loom.tuning.space import HyperParameters
from loom.utils.seeding import set_random_seed

WEIGHTS_NAME = "best.weights.safetensors"


class BestEpoch(Callback):
    """Track the best epoch of ``objective`` during ``fit`` and, optionally, a copy of the weights then.

    Args:
        objective: the log key, e.g. ``'val_acc'``.
        mode: ``'min'`` or ``'max'``.
        keep_weights: copy the model's state at each improvement (default ``True``).

    Attributes:
        best: the best finite value seen (``None`` before one), ``best_epoch`` its epoch (0-based),
        best_logs: that epoch's logs, epochs_run: epochs trained.
    """

    def __init__(self, objective: str, mode: str, keep_weights: bool = True):
        super().__init__()
        self.objective = objective
        self.mode = mode
        self.keep_weights = keep_weights
        self.on_train_begin()

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.best_logs: dict = {}
        self.epochs_run = 0
        self.seen_keys: list[str] = []
        self._state: dict | None = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        self.epochs_run = epoch + 1
        self.seen_keys = sorted(logs)
        value = logs.get(self.objective)
        if value is None or not math.isfinite(float(value)) or not is_improvement(float(value), self.best, self.mode):
            return
        self.best, self.best_epoch, self.best_logs = float(value), epoch, {k: float(v) for k, v in logs.items()}
        if self.keep_weights and self.model is not None:
            self._state = {k: t.detach().clone() for k, t in self.model.state_dict().items()}

    def restore(self, model: Any) -> None:
        """Put the best epoch's weights back into ``model``."""
        if self._state is not None:
            model.load_state_dict(self._state)


@dataclass
class TrialSpec:
    """What every trial of one ``search`` shares."""

    build: Callable[[HyperParameters], Any]
    objective: str
    mode: str
    epochs: int
    folds: list  # [(x_train, y_train, (x_val, y_val))], one entry without cross-validation
    callbacks: list = field(default_factory=list)
    fit_kwargs: dict = field(default_factory=dict)
    tensorboard: bool = True
    seed: int | None = None
    fit_verbose: int = 0
    executions: int = 1  # models trained per fold, each with its own seed; the value is their mean
    fit: Callable | None = None  # fit(hp, model, x, y, **fit_kwargs) instead of model.fit(x, y, **fit_kwargs)


@dataclass
class TrialOutcome:
    """What a trial produced."""

    value: float | None
    best_epoch: int | None  # 1-based: train this many epochs to get the best model
    epochs_run: int
    pruned_at: int | None
    metrics: dict
    fold_values: list
    hp_values: dict


def run_trial(trial: Any, spec: TrialSpec, trial_dir: str) -> TrialOutcome:
    """Train and score one trial (see the module docstring); ``trial`` is an ``optuna.trial.Trial``."""
    os.makedirs(trial_dir, exist_ok=True)
    runs = [(fold, execution) for fold in range(len(spec.folds)) for execution in range(spec.executions)]
    values: list[float] = []
    first: tuple | None = None
    for fold, execution in runs:
        x, y, validation = spec.folds[fold]
        log_dir = trial_dir if len(runs) == 1 else os.path.join(trial_dir, _run_name(spec, fold, execution))
        lead = fold == 0 and execution == 0
        keeper, pruning, hp_values = _fit_fold(trial, spec, x, y, validation, log_dir, report=lead,
                                               save_to=trial_dir if lead else None, execution=execution)
        if lead:
            first = (keeper, pruning, hp_values)
        if pruning is not None and pruning.pruned_at is not None:
            break
        values.append(keeper.best)
    keeper, pruning, hp_values = first
    pruned_at = pruning.pruned_at if pruning is not None else None
    fold_values = [sum(values[i:i + spec.executions]) / len(values[i:i + spec.executions])
                   for i in range(0, len(values), spec.executions)]
    value = None if pruned_at is not None else sum(values) / len(values)
    best_epoch = None if keeper.best_epoch is None else keeper.best_epoch + 1
    return TrialOutcome(value, best_epoch, keeper.epochs_run, pruned_at, keeper.best_logs, fold_values, hp_values)


def _run_name(spec: TrialSpec, fold: int, execution: int) -> str:
    parts = ([f"fold_{fold + 1}"] if len(spec.folds) > 1 else []) + (
        [f"execution_{execution + 1}"] if spec.executions > 1 else [])
    return "_".join(parts)


def _fit_fold(trial: Any, spec: TrialSpec, x: Any, y: Any, validation: Any, log_dir: str, report: bool,
              save_to: str | None, execution: int = 0) -> tuple[BestEpoch, PruningCallback | None, dict]:
    backend.clear_session()
    if spec.seed is not None:
        set_random_seed(spec.seed + trial.number if execution == 0 else derive_seed(spec.seed, trial.number,
                                                                                     execution))
    hp = HyperParameters(trial=trial)
    model = spec.build(hp)
    check_model(model, "build(hp)")
    keeper = BestEpoch(spec.objective, spec.mode)
    pruning = PruningCallback(trial, spec.objective) if report else None
    extra: list[Callback] = [keeper] + ([pruning] if pruning is not None else [])
    if spec.tensorboard:
        extra.append(TensorBoard(log_dir, write_graph=False, hparams=tensorboard_hparams(hp.values)))
    fit = spec.fit or _plain_fit
    try:
        fit(hp, model, x, y, validation_data=validation, epochs=spec.epochs, callbacks=list(spec.callbacks) + extra,
            verbose=spec.fit_verbose, **spec.fit_kwargs)
        if keeper.best is None and (pruning is None or pruning.pruned_at is None):
            raise _missing_objective(spec.objective, keeper)
        if save_to is not None and (pruning is None or pruning.pruned_at is None):
            keeper.restore(model)
            model.save_weights(os.path.join(save_to, WEIGHTS_NAME))
    finally:
        for callback in spec.callbacks:  # user callbacks must not keep the trial's model alive
            if isinstance(callback, Callback):
                callback.model = None
        keeper._state = None
    return keeper, pruning, dict(hp.values)


def _plain_fit(hp: HyperParameters, model: Any, *args: Any, **kwargs: Any) -> Any:
    return model.fit(*args, **kwargs)


def derive_seed(*parts: int) -> int:
    """A seed mixed from ``parts`` (NumPy's ``SeedSequence``): nearby inputs give unrelated seeds."""
    import numpy as np
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0] % (2 ** 31))


def check_model(model: Any, where: str) -> None:
    """Raise unless ``model`` is a compiled loom model."""
    if not hasattr(model, "fit") or not callable(getattr(model, "fit")):
        raise ConfigError(f"{where} must return a compiled loom model; got {type(model).__name__}.")
    if not getattr(model, "compiled", False):
        raise ConfigError(f"{where} returned a model that is not compiled: call model.compile(optimizer=..., "
                          f"loss=..., metrics=[...]) before returning it.")


def tensorboard_hparams(values: dict) -> dict:
    """Hyperparameter values TensorBoard accepts (bool, int, float, str; others as text)."""
    return {k: v if isinstance(v, (bool, int, float, str)) else str(v) for k, v in values.items()}


def _missing_objective(objective: str, keeper: BestEpoch) -> Exception:
    if objective in keeper.seen_keys:
        return TrainingError(f"The objective '{objective}' was never a finite number (NaN or infinite every epoch).")
    hint = "" if objective.startswith("val_") or any(k.startswith("val_") for k in keeper.seen_keys) else (
        " Pass validation_data= or validation_split= to search().")
    return ConfigError(f"The objective '{objective}' is not among the logged metrics: {keeper.seen_keys}. Pass one of "
                       f"them as Tuner(objective=...), or compile the model with the metric it names.{hint}")

"""``Tuner``: hyperparameter search on Optuna, through the normal ``fit`` (book section 7.3.2).

Choose hyperparameters, build, train, score on validation data, choose the next, and at the end measure
once on test data. The tuner runs that loop:

* **search space**: ``build(hp)`` asks :class:`~loom.tuning.HyperParameters` for values and returns a
  compiled model; the tuner owns no model code, and ``build(HyperParameters())`` is the default model;
* **algorithms** (:mod:`loom.tuning.algorithms`): random, TPE (default), Bayesian (Gaussian process),
  evolutionary (CMA-ES, NSGA-II), grid; **pruning** (:mod:`loom.tuning.pruning`) stops hopeless trials;
* **storage** (:mod:`loom.tuning.storage`): SQLite in ``directory`` by default, so rerunning the same
  search after a crash continues it (dead trials are failed by heartbeat and redone) up to ``max_trials``
  finished trials in total; with a PostgreSQL URL, workers on many machines share one study;
* **each trial** (:mod:`loom.tuning.trial`) keeps its best epoch's weights in
  ``<directory>/<study>/trial_NNNN/`` with its TensorBoard logs and hyperparameters, then frees its model;
* **guarding the validation set**: the tuner counts the configurations scored on the same validation data,
  and :meth:`Tuner.evaluate_best` reports the held-out test score beside the best validation score.

This module holds the tuner's settings, ``search`` and its study; the worker loop over trials is
:mod:`loom.tuning.trial_loop`, and the results and reports are :mod:`loom.tuning.tuner_results`.
"""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import warnings
from typing import Any, Callable

import optuna

from loom.callbacks.monitor import infer_mode
from loom.errors import ConfigError
from loom.tuning import data as search_data
from loom.tuning.naming import default_study_name
from loom.tuning.algorithms import ALGORITHMS, make_sampler
from loom.tuning.pruning import make_pruner
from loom.tuning.space import HyperParameters, grid_space
from loom.tuning.storage import open_storage
from loom.tuning.trial import TrialSpec, derive_seed
from loom.tuning.trial_loop import TrialLoop
from loom.tuning.tuner_results import TunerResults, ValidationOverfitWarning

__all__ = ["Tuner", "ValidationOverfitWarning"]

_DIRECTIONS = {"min": "min", "max": "max", "minimize": "min", "maximize": "max"}


class Tuner(TrialLoop, TunerResults):
    """Search hyperparameters for ``build(hp)`` (see the module docstring).

    Args:
        build: ``build(hp) -> compiled model``.
        objective: the logged metric to optimize (default ``'val_loss'``), e.g. ``'val_acc'``.
        direction: ``'min'`` or ``'max'`` (default ``None``: from the objective's name, as ``EarlyStopping``'s
            ``mode='auto'``: accuracies go up, losses down).
        algorithm: ``'random'``, ``'tpe'`` (default), ``'bayesian'``, ``'evolutionary'``, ``'nsga2'``, ``'grid'``,
            or an Optuna sampler.
        max_trials: finished (complete or pruned) trials to reach in the study, over all runs and workers
            (default 10; for ``'grid'`` at most the grid's size).
        timeout: seconds after which this process starts no new trial (default ``None``: no limit).
        pruner: ``'median'`` (default), ``'hyperband'``, ``'none'``/``None``, or an Optuna pruner.
        storage: ``None`` (default: SQLite ``<directory>/study.db``), a SQLAlchemy URL such as
            ``'postgresql://user@host/db'``, or an Optuna storage.
        study_name: the study's name in the storage (default ``None``: the name of the model ``build`` returns
            with the default hyperparameters when it was named by the user, else ``build``'s function name).
        seed: seeds the algorithm and each trial's weights and shuffling (default ``None``).
        directory: where the database, trial weights, TensorBoard logs and plots go (default ``'tuning'``).
        overwrite: delete an existing study of this name and its files first (default ``False``: resume it).
        tensorboard: log each trial to TensorBoard under its directory (default ``True``).
        heartbeat_interval: seconds between a running trial's heartbeats (default 10); a trial silent for
            twice as long counts as dead.
        max_consecutive_failures: failed trials in a row (NaN losses) before the search gives up (default 3).
        verbose: 0 silent, 1 one line per trial (default), 2 also each epoch.
        executions_per_trial: models trained per configuration (and per fold), each with its own seed; the
            trial's value is the mean of their best epochs (default 1), for noisy objectives.
        fit: ``fit(hp, model, x, y, **fit_kwargs)`` called instead of ``model.fit(x, y, **fit_kwargs)``, to tune
            training arguments such as ``batch_size`` (default ``None``); it must call ``model.fit`` with the
            callbacks it is given.

    Example:
        >>> import tempfile, numpy as np, loom
        >>> def build(hp):
        ...     model = loom.Sequential([loom.Input((4,)), loom.layers.Dense(hp.Int("units", 2, 8, step=2)),
        ...                              loom.layers.Dense(1)])
        ...     model.compile(optimizer=hp.Choice("optimizer", ["sgd", "adam"]), loss="mse")
        ...     return model
        >>> x, y = np.random.rand(64, 4), np.random.rand(64, 1)
        >>> tuner = Tuner(build, objective="val_loss", max_trials=3, seed=0, directory=tempfile.mkdtemp(), verbose=0)
        >>> tuner.search(x, y, validation_split=0.25, epochs=2)
        >>> len(tuner.completed_trials), sorted(tuner.best_params)
        (3, ['optimizer', 'units'])
    """

    def __init__(self, build: Callable[[HyperParameters], Any], objective: str = "val_loss",
                 direction: str | None = None, algorithm: Any = "tpe", max_trials: int = 10,
                 timeout: float | None = None, pruner: Any = "median", storage: Any = None,
                 study_name: str | None = None, seed: int | None = None, directory: str | os.PathLike = "tuning",
                 overwrite: bool = False, tensorboard: bool = True, heartbeat_interval: int = 10,
                 max_consecutive_failures: int = 3, verbose: int = 1, executions_per_trial: int = 1,
                 fit: Callable[..., Any] | None = None):
        if not callable(build):
            raise ConfigError(f"Tuner: build must be a function build(hp) -> compiled model; got {build!r}.")
        if not isinstance(objective, str) or not objective:
            raise ConfigError(f"Tuner: objective must be a metric name such as 'val_loss'; got {objective!r}.")
        if isinstance(algorithm, str) and algorithm not in ALGORITHMS:
            raise ConfigError(f"Tuner: unknown algorithm {algorithm!r}. Valid: {list(ALGORITHMS)}.")
        if fit is not None and not callable(fit):
            raise ConfigError(f"Tuner: fit must be a function fit(hp, model, x, y, **fit_kwargs); got {fit!r}.")
        for name, value in (("max_trials", max_trials), ("max_consecutive_failures", max_consecutive_failures),
                            ("executions_per_trial", executions_per_trial)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"Tuner: {name} must be a positive integer; got {value!r}.")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
            raise ConfigError(f"Tuner: timeout must be a positive number of seconds or None; got {timeout!r}.")
        self.build = build
        self.objective = objective
        self.mode = _resolve_mode(objective, direction)
        self.algorithm = algorithm
        self.max_trials = max_trials
        self.timeout = timeout
        self.pruner = pruner
        self.seed = seed
        self.directory = os.fspath(directory)
        self._study_name = study_name
        self.tensorboard = tensorboard
        self.max_consecutive_failures = max_consecutive_failures
        self.executions_per_trial = executions_per_trial
        self.fit = fit
        self.verbose = verbose
        self.validation_data: tuple | None = None
        self._fingerprint: str | None = None
        self._storage = open_storage(storage, self.directory, heartbeat_interval)
        if not objective.startswith("val_"):
            warnings.warn(f"Tuner: objective '{objective}' is a training metric; a search should score on "
                          f"validation data (e.g. 'val_{objective}').", stacklevel=2)
        if overwrite:
            self._delete_study()

    # ============================================================================================ search
    def search(self, x: Any, y: Any = None, *, validation_data: Any = None, validation_split: float = 0.0,
               epochs: int = 1, callbacks: list | None = None, cv: int | None = None, **fit_kwargs: Any) -> None:
        """Run trials until the study has ``max_trials`` finished trials (or ``timeout``).

        Args:
            x: training inputs (arrays or tensors; a list or dict of them for several inputs).
            y: training targets, like ``x``.
            validation_data: ``(x_val, y_val)`` every trial is scored on (default ``None``).
            validation_split: else, the last fraction of ``x``/``y`` held out once for all trials (default 0).
            epochs: epochs per trial (default 1).
            callbacks: callbacks added to every trial's ``fit`` (default ``None``), e.g. ``EarlyStopping``.
            cv: score each trial by ``cv``-fold cross-validation on ``x``/``y`` instead (default ``None``), for
                small data; the value is the mean over folds, the saved model the first fold's.
            **fit_kwargs: passed to ``fit`` (``batch_size``, ``class_weight``...).
        """
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ConfigError(f"search: epochs must be a positive integer; got {epochs!r}.")
        for key in ("validation_steps", "initial_epoch", "verbose"):
            if key in fit_kwargs:
                raise ConfigError(f"search: {key}= is not supported here (the tuner sets it).")
        folds = self._folds(x, y, validation_data, validation_split, cv)
        spec = TrialSpec(self.build, self.objective, self.mode, epochs, folds, list(callbacks or []),
                         dict(fit_kwargs), self.tensorboard, self.seed, 2 if self.verbose >= 2 else 0,
                         self.executions_per_trial, self.fit)
        budget = self.max_trials
        grid = None
        if self.algorithm == "grid":
            grid = grid_space(self.default_space())
            budget = min(budget, _grid_size(grid))
        existing = len(self._study().get_trials(deepcopy=False))
        seed = None if self.seed is None else derive_seed(self.seed, existing)  # a resumed search draws anew
        sampler = make_sampler(self.algorithm, seed=seed, max_trials=budget, grid=lambda: grid)
        study = self._study(sampler, make_pruner(self.pruner, epochs))
        with _quiet_optuna():
            self._run_trials(study, spec, budget)

    def _folds(self, x: Any, y: Any, validation_data: Any, validation_split: float, cv: int | None) -> list:
        search_data.check_in_memory("x", x)
        search_data.check_in_memory("y", y)
        if cv is not None:
            if validation_data is not None or validation_split:
                raise ConfigError("search: cv= scores on folds of x/y; do not also pass validation_data or "
                                  "validation_split.")
            n = search_data.num_samples(x, y)
            folds = [(search_data.take(x, tr), search_data.take(y, tr), (search_data.take(x, va),
                                                                            search_data.take(y, va)))
                     for tr, va in search_data.kfold_indices(n, cv, self.seed)]
        elif validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise ConfigError("search: validation_data must be a tuple (x_val, y_val) of arrays.")
            search_data.check_in_memory("validation_data", validation_data)
            folds = [(x, y, tuple(validation_data))]
        elif validation_split:
            folds = [search_data.split_validation(x, y, validation_split)]
        else:
            raise ConfigError("search: pass validation_data=(x_val, y_val), validation_split=... or cv=...: every "
                              "configuration must be scored on data it was not trained on.")
        self.validation_data = folds[0][2]
        self._fingerprint = search_data.fingerprint(self.validation_data) + (f"-cv{cv}" if cv else "")
        return folds

    # ========================================================================================== helpers
    @property
    def study_name(self) -> str:
        """The study's name in the storage (and the folder of its trials under ``directory``)."""
        if self._study_name is None:
            self._study_name = default_study_name(self.build)
        return self._study_name

    def _study(self, sampler: Any = None, pruner: Any = None) -> optuna.Study:
        direction = "minimize" if self.mode == "min" else "maximize"
        with _quiet_optuna():
            try:
                study = optuna.create_study(storage=self._storage, study_name=self.study_name, direction=direction,
                                            sampler=sampler or optuna.samplers.RandomSampler(),
                                            pruner=pruner or optuna.pruners.NopPruner(), load_if_exists=True)
            except ValueError as e:
                raise ConfigError(f"Cannot open study '{self.study_name}': {e}") from e
        if study.direction.name.lower() != direction:
            raise ConfigError(f"Study '{self.study_name}' exists and {study.direction.name.lower()}s; this Tuner "
                              f"{direction}s {self.objective}. Use another study_name or overwrite=True.")
        recorded = study.user_attrs.get("objective")
        if recorded is None:
            study.set_user_attr("objective", self.objective)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                study.set_metric_names([self.objective])  # optuna-dashboard's label of the objective
        elif recorded != self.objective:
            raise ConfigError(f"Study '{self.study_name}' optimizes {recorded}, not {self.objective}. Use another "
                              f"study_name or directory, or overwrite=True.")
        return study

    def _delete_study(self) -> None:
        with _quiet_optuna(), contextlib.suppress(KeyError):
            optuna.delete_study(study_name=self.study_name, storage=self._storage)
        shutil.rmtree(os.path.join(self.directory, self.study_name), ignore_errors=True)

    def default_space(self) -> dict:
        """``{name: Param}`` that ``build(HyperParameters())`` declares (the grid of ``algorithm='grid'``)."""
        hp = HyperParameters()
        self.build(hp)
        gc.collect()
        return hp.space


def _resolve_mode(objective: str, direction: str | None) -> str:
    if direction is not None:
        if direction not in _DIRECTIONS:
            raise ConfigError(f"Tuner: direction must be one of {list(_DIRECTIONS)} or None; got {direction!r}.")
        return _DIRECTIONS[direction]
    try:
        return infer_mode(objective)
    except ConfigError as e:
        raise ConfigError(f"Tuner: cannot tell whether objective {objective!r} should go down or up; pass "
                          f"direction='min' or direction='max'.") from e


def _grid_size(grid: dict) -> int:
    size = 1
    for values in grid.values():
        size *= len(values)
    return size


@contextlib.contextmanager
def _quiet_optuna():
    """Optuna's per-trial INFO lines off while the tuner prints its own."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)

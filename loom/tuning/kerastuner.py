"""KerasTuner's API over loom's :class:`~loom.tuning.Tuner`: ``import loom.tuning as kt`` runs KerasTuner code.

A facade, not a second tuner: ``kt.RandomSearch``, ``kt.BayesianOptimization``, ``kt.Hyperband`` and
``kt.GridSearch`` each hold one loom ``Tuner`` (an Optuna study) configured to match, and translate
KerasTuner's arguments and queries to it:

* ``RandomSearch`` -> ``algorithm='random'``; ``BayesianOptimization`` -> ``'bayesian'`` (Optuna's
  Gaussian-process sampler); ``GridSearch`` -> ``'grid'``; ``Hyperband(max_epochs, factor)`` -> random draws
  pruned by Optuna's Hyperband pruner with rungs at epochs 1, ``factor``, ``factor**2``... up to ``max_epochs``
  (every trial asks for ``max_epochs`` epochs, whatever ``search`` is given, as in KerasTuner);
* ``objective`` is a logged metric's name (``"val_accuracy"``; its direction inferred) or ``kt.Objective``;
* ``directory`` / ``project_name`` locate the study: ``<directory>/<project_name>/study.db`` with each
  trial's best weights beside it; ``overwrite=False`` (the default) resumes an existing project;
* ``executions_per_trial`` models are trained per configuration and their best scores averaged;
* ``search(x, y, epochs=..., validation_data=... | validation_split=..., callbacks=[...], verbose=...)``
  takes ``fit``'s arguments; a ``HyperModel`` subclass may override ``fit(hp, model, *args, **kwargs)``.

The hyperparameters are loom's :class:`~loom.tuning.HyperParameters`, which has KerasTuner's signatures
(``hp.Int(name, min_value, max_value, step, sampling)``, ``hp.conditional_scope``...).

Example:
    >>> import tempfile, numpy as np, loom as keras
    >>> import loom.tuning as kt
    >>> def build_model(hp):
    ...     model = keras.Sequential([keras.layers.Dense(hp.Int("units", min_value=4, max_value=16, step=4),
    ...                                                  activation="relu"),
    ...                               keras.layers.Dense(3, activation="softmax")])
    ...     model.compile(optimizer=hp.Choice("optimizer", ["rmsprop", "adam"]),
    ...                   loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    ...     return model
    >>> tuner = kt.RandomSearch(build_model, objective="val_accuracy", max_trials=2, seed=0,
    ...                         directory=tempfile.mkdtemp(), project_name="demo")
    >>> x, y = np.random.rand(60, 8).astype("float32"), np.random.randint(0, 3, 60)
    >>> tuner.search(x, y, epochs=1, validation_split=0.25, verbose=0)
    >>> best_hp = tuner.get_best_hyperparameters()[0]
    >>> sorted(best_hp.values), best_hp.get("units") in (4, 8, 12, 16)
    (['optimizer', 'units'], True)
    >>> tuner.get_best_models(num_models=1)[0].predict(x[:2], verbose=0).shape
    (2, 3)
"""

from __future__ import annotations

import math
import os
import warnings
from typing import Any, Callable

import optuna

from loom.errors import ConfigError
from loom.tuning.hypermodel import HyperModel, Objective, as_hypermodel, objective_of
from loom.tuning.space import MAX_GRID_SIZE, HyperParameters, Param, grid_space
from loom.tuning.storage import DB_NAME
from loom.tuning.tuner import Tuner

_KT_CLASSES = {"int": "Int", "float": "Float", "choice": "Choice", "boolean": "Boolean", "fixed": "Fixed"}
#: KerasTuner arguments loom accepts only at their default (they configure machinery loom does not have).
_DEFAULT_ONLY = {"hyperparameters": None, "tune_new_entries": True, "allow_new_entries": True, "logger": None,
                 "tuner_id": None, "distribution_strategy": None, "max_model_size": None}
_EXPLORE_LIMIT = 64


class BaseTuner:
    """What every KerasTuner-style tuner shares (see the module docstring); use a subclass.

    Args:
        hypermodel: a ``build(hp)`` function or a :class:`HyperModel`.
        objective: a metric name, an :class:`Objective`, or ``None`` (default: ``"val_loss"``, minimized).
        max_trials: configurations to try (default 10), counted over resumed runs.
        algorithm: loom's algorithm name or an Optuna sampler.
        pruner: loom's pruner name, ``None`` (default: no pruning) or an Optuna pruner.
        executions_per_trial: models trained per configuration, their best scores averaged (default 1).
        seed: seeds the sampler and each trial's weights (default ``None``).
        directory: parent folder of the project (default ``None``: the current directory).
        project_name: the project's folder and study name (default ``None``: ``"untitled_project"``).
        overwrite: delete an existing project first (default ``False``: resume it).
        max_consecutive_failed_trials: failed trials in a row before the search stops (default 3).
        max_retries_per_trial: accepted for KerasTuner's signature (default 0); loom redoes trials whose
            process died.
        **kwargs: KerasTuner's ``hyperparameters``, ``tune_new_entries``, ``allow_new_entries``, ``logger``,
            ``tuner_id``, ``distribution_strategy``, ``max_model_size``, accepted only at their defaults.

    Attributes:
        tuner: the loom :class:`~loom.tuning.Tuner` doing the work (``tuner.tuner.trials``, ``.best_model()``...).
        hypermodel: the :class:`HyperModel` (a function is wrapped in one).

    Example:
        >>> import os, tempfile
        >>> tuner = RandomSearch(lambda hp: None, directory=tempfile.mkdtemp(), project_name="p")
        >>> os.path.basename(tuner.project_dir), tuner.remaining_trials, tuner.objective
        ('p', 10, Objective(name="val_loss", direction="min"))
    """

    def __init__(self, hypermodel: Any, objective: Any, max_trials: int, *, algorithm: Any, pruner: Any = None,
                 executions_per_trial: int = 1, seed: int | None = None, directory: str | os.PathLike | None = None,
                 project_name: str | None = None, overwrite: bool = False, max_consecutive_failed_trials: int = 3,
                 max_retries_per_trial: int = 0, **kwargs: Any):
        _check_default_only(type(self).__name__, kwargs)
        if isinstance(max_retries_per_trial, bool) or not isinstance(max_retries_per_trial, int) or \
                max_retries_per_trial < 0:
            raise ConfigError(f"{type(self).__name__}: max_retries_per_trial must be an integer >= 0; got "
                              f"{max_retries_per_trial!r}.")
        self.hypermodel = as_hypermodel(hypermodel, type(self).__name__)
        name, direction = objective_of(objective, type(self).__name__)
        self.directory = os.fspath(directory) if directory is not None else "."
        self.project_name = project_name or "untitled_project"
        resuming = not overwrite and os.path.exists(os.path.join(self.project_dir, DB_NAME))
        custom_fit = type(self.hypermodel).fit is not HyperModel.fit
        self.tuner = Tuner(self.hypermodel.build, objective=name, direction=direction, algorithm=algorithm,
                           max_trials=max_trials, pruner=pruner, seed=seed, directory=self.project_dir,
                           study_name=self.project_name, overwrite=overwrite, tensorboard=False,
                           max_consecutive_failures=max_consecutive_failed_trials,
                           executions_per_trial=executions_per_trial,
                           fit=self.hypermodel.fit if custom_fit else None)
        self.objective = Objective(name, self.tuner.mode)
        self.max_trials = max_trials
        self.executions_per_trial = executions_per_trial
        self.seed = seed
        self._space: dict[str, Param] | None = None
        if resuming:
            print(f"Reloading Tuner from {self.project_dir}")

    @property
    def project_dir(self) -> str:
        """``<directory>/<project_name>``: the study database and the trials' weights."""
        return os.path.join(self.directory, self.project_name)

    @property
    def remaining_trials(self) -> int:
        """Trials left before ``max_trials`` finished trials (complete or pruned)."""
        finished = [t for t in self.tuner.trials if t.state in ("COMPLETE", "PRUNED")]
        return max(0, self._budget() - len(finished))

    def _budget(self) -> int:
        return self.max_trials

    # ============================================================================================ search
    def search(self, *fit_args: Any, **fit_kwargs: Any) -> None:
        """Run the search; takes ``fit``'s arguments.

        Args:
            *fit_args: ``x`` and ``y`` (or pass them as keywords).
            **fit_kwargs: ``epochs`` (default 1), ``validation_data`` or ``validation_split``, ``callbacks``,
                ``batch_size``...; ``verbose`` (default 1) is 0 silent, 1 a line per trial, 2 also a line per epoch.
        """
        if len(fit_args) > 2:
            raise ConfigError(f"{type(self).__name__}.search: pass x and y positionally and the rest of fit's "
                              f"arguments by keyword; got {len(fit_args)} positional arguments.")
        x = fit_args[0] if fit_args else fit_kwargs.pop("x", None)
        y = fit_args[1] if len(fit_args) > 1 else fit_kwargs.pop("y", None)
        if x is None:
            raise ConfigError(f"{type(self).__name__}.search: pass the training data, search(x, y, epochs=..., "
                              f"validation_data=(x_val, y_val)), as to fit.")
        verbose = fit_kwargs.pop("verbose", 1)
        if verbose == "auto":
            verbose = 1
        if isinstance(verbose, bool) or not isinstance(verbose, int) or verbose < 0:
            raise ConfigError(f"{type(self).__name__}.search: verbose must be 0, 1, 2 or 'auto'; got {verbose!r}.")
        epochs = self._epochs(fit_kwargs.pop("epochs", 1))
        self.tuner.verbose = min(verbose, 2)
        self.tuner.search(x, y, epochs=epochs, **fit_kwargs)

    def _epochs(self, epochs: int) -> int:
        return epochs

    # =========================================================================================== results
    def get_best_hyperparameters(self, num_trials: int = 1) -> list[HyperParameters]:
        """The best ``num_trials`` completed trials' hyperparameters, best first (``tuner.hypermodel.build(hp)``)."""
        return [_fixed_hp(t.params) for t in self.tuner.completed_trials[:_count(num_trials, "num_trials")]]

    def get_best_models(self, num_models: int = 1) -> list:
        """The best ``num_models`` trained models, best first, with the weights of their best epoch."""
        best = self.tuner.completed_trials[:_count(num_models, "num_models")]
        return [self.tuner.load_trial_model(t.number) for t in best]

    def search_space_summary(self, extended: bool = False) -> None:
        """Print every hyperparameter of the space with its settings (before or after ``search``).

        Args:
            extended: accepted for KerasTuner's signature (default ``False``).
        """
        space = self.search_space()
        print("Search space summary")
        print(f"Default search space size: {len(space)}")
        for param in space.values():
            print(f"{param.name} ({_KT_CLASSES[param.kind]})")
            print(kerastuner_config(param))

    def search_space(self) -> dict[str, Param]:
        """``{name: Param}``: what ``build`` declares with default values, and under every branch of its
        ``conditional_scope``s (explored by building once per parent value)."""
        if self._space is None:
            self._space = explore_space(self.hypermodel.build)
        return dict(self._space)

    def results_summary(self, num_trials: int = 10) -> None:
        """Print the ``num_trials`` best completed trials (default 10): hyperparameters and score."""
        print("Results summary")
        print(f"Results in {self.project_dir}")
        print(f"Showing {num_trials} best trials")
        print(self.objective)
        best = self.tuner.completed_trials[:_count(num_trials, "num_trials")]
        width = max([2] + [len(str(t.number)) for t in best])
        for trial in best:
            print()
            print(f"Trial {trial.number:0{width}d} summary")
            print("Hyperparameters:")
            for name, value in trial.params.items():
                print(f"{name}: {value}")
            if not trial.params:
                print("default configuration")
            print(f"Score: {trial.value}")


class RandomSearch(BaseTuner):
    """KerasTuner's ``RandomSearch``: independent random draws (loom's ``algorithm='random'``).

    Args:
        hypermodel: a ``build(hp)`` function or a :class:`HyperModel` (default ``None``: required).
        objective: a metric name or an :class:`Objective` (default ``None``: ``"val_loss"``).
        max_trials: configurations to try (default 10).
        seed: random seed (default ``None``).
        **kwargs: the :class:`BaseTuner` arguments (``executions_per_trial``, ``directory``, ``project_name``,
            ``overwrite``...).

    Example:
        >>> import tempfile
        >>> RandomSearch(lambda hp: None, objective="val_accuracy", directory=tempfile.mkdtemp()).objective
        Objective(name="val_accuracy", direction="max")
    """

    def __init__(self, hypermodel: Any = None, objective: Any = None, max_trials: int = 10, seed: int | None = None,
                 **kwargs: Any):
        super().__init__(hypermodel, objective, max_trials, algorithm="random", seed=seed, **kwargs)


class BayesianOptimization(BaseTuner):
    """KerasTuner's ``BayesianOptimization``: a Gaussian-process model of the objective (Optuna's ``GPSampler``).

    Args:
        hypermodel: a ``build(hp)`` function or a :class:`HyperModel` (default ``None``: required).
        objective: a metric name or an :class:`Objective` (default ``None``: ``"val_loss"``).
        max_trials: configurations to try (default 10).
        num_initial_points: random trials before the model takes over (default ``None``: a third of
            ``max_trials``, between 2 and 10).
        alpha: accepted for KerasTuner's signature (default 1e-4); Optuna fits the GP's noise itself.
        beta: accepted for KerasTuner's signature (default 2.6); Optuna's acquisition is expected improvement.
        seed: random seed (default ``None``).
        **kwargs: the :class:`BaseTuner` arguments.

    Example:
        >>> import tempfile
        >>> tuner = BayesianOptimization(lambda hp: None, objective="val_loss", max_trials=4,
        ...                              directory=tempfile.mkdtemp())
        >>> tuner.tuner.algorithm
        'bayesian'
    """

    def __init__(self, hypermodel: Any = None, objective: Any = None, max_trials: int = 10,
                 num_initial_points: int | None = None, alpha: float = 1e-4, beta: float = 2.6,
                 seed: int | None = None, **kwargs: Any):
        for label, value in (("alpha", alpha), ("beta", beta)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"BayesianOptimization: {label} must be a number >= 0; got {value!r}.")
        algorithm: Any = "bayesian"
        if num_initial_points is not None:
            algorithm = _gp_sampler(_count(num_initial_points, "num_initial_points"), seed)
        super().__init__(hypermodel, objective, max_trials, algorithm=algorithm, seed=seed, **kwargs)


class GridSearch(BaseTuner):
    """KerasTuner's ``GridSearch``: every combination of the values (each ``Float`` needs a ``step``).

    Args:
        hypermodel: a ``build(hp)`` function or a :class:`HyperModel` (default ``None``: required).
        objective: a metric name or an :class:`Objective` (default ``None``: ``"val_loss"``).
        max_trials: at most this many combinations (default ``None``: the whole grid).
        seed: seeds the order of the grid (default ``None``).
        **kwargs: the :class:`BaseTuner` arguments.

    Example:
        >>> import tempfile
        >>> GridSearch(lambda hp: None, directory=tempfile.mkdtemp()).tuner.algorithm
        'grid'
    """

    def __init__(self, hypermodel: Any = None, objective: Any = None, max_trials: int | None = None,
                 seed: int | None = None, **kwargs: Any):
        super().__init__(hypermodel, objective, MAX_GRID_SIZE if max_trials is None else max_trials,
                         algorithm="grid", seed=seed, **kwargs)

    def _budget(self) -> int:
        grid = grid_space(self.tuner.default_space())
        return min(self.max_trials, math.prod(len(values) for values in grid.values()))


class Hyperband(BaseTuner):
    """KerasTuner's ``Hyperband`` (Li et al., 2018): random configurations, trained in brackets of successive
    halving; Optuna's Hyperband pruner stops the worse ones at its rungs (epoch steps 1, ``factor``,
    ``factor**2``..., counted from 0), keeping the best ``1/factor``.

    Every trial asks for ``max_epochs`` epochs (``search``'s ``epochs`` is ignored, as in KerasTuner); the
    number of configurations per iteration is KerasTuner's: the sizes of the brackets' first rounds.

    Args:
        hypermodel: a ``build(hp)`` function or a :class:`HyperModel` (default ``None``: required).
        objective: a metric name or an :class:`Objective` (default ``None``: ``"val_loss"``).
        max_epochs: the most epochs a model trains (default 100).
        factor: the reduction factor between rungs (default 3).
        hyperband_iterations: times the whole set of brackets is run (default 1).
        seed: random seed (default ``None``).
        **kwargs: the :class:`BaseTuner` arguments.

    Example:
        >>> import tempfile
        >>> Hyperband(lambda hp: None, max_epochs=9, factor=3, directory=tempfile.mkdtemp()).max_trials
        17
    """

    def __init__(self, hypermodel: Any = None, objective: Any = None, max_epochs: int = 100, factor: int = 3,
                 hyperband_iterations: int = 1, seed: int | None = None, **kwargs: Any):
        max_epochs = _count(max_epochs, "max_epochs")
        iterations = _count(hyperband_iterations, "hyperband_iterations")
        if isinstance(factor, bool) or not isinstance(factor, int) or factor < 2:
            raise ConfigError(f"Hyperband: factor must be an integer >= 2; got {factor!r}.")
        pruner = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max_epochs, reduction_factor=factor)
        super().__init__(hypermodel, objective, hyperband_trials(max_epochs, factor) * iterations,
                         algorithm="random", pruner=pruner, seed=seed, **kwargs)
        self.max_epochs = max_epochs
        self.factor = factor
        self.hyperband_iterations = iterations

    def _epochs(self, epochs: int) -> int:
        return self.max_epochs


def hyperband_trials(max_epochs: int, factor: int) -> int:
    """Configurations in one Hyperband iteration, as KerasTuner counts them: the first round of each bracket.

    Example:
        >>> hyperband_trials(9, 3), hyperband_trials(3, 3), hyperband_trials(1, 3)
        (17, 5, 1)
    """
    brackets, epochs = 0, float(max_epochs)
    while epochs >= 1:
        epochs /= factor
        brackets += 1
    final_size = math.ceil(1 + math.log(max_epochs, factor))
    return sum(math.ceil(final_size / (b + 1) * factor ** b) for b in range(brackets))


def explore_space(build: Callable[[HyperParameters], Any], limit: int = _EXPLORE_LIMIT) -> dict[str, Param]:
    """Every hyperparameter ``build`` declares: with defaults, then once per value of each conditional parent.

    Args:
        build: the model-building function.
        limit: the most builds (default 64).

    Example:
        >>> def build(hp):
        ...     kind = hp.Choice("kind", ["mlp", "cnn"])
        ...     with hp.conditional_scope("kind", ["cnn"]):
        ...         hp.Int("filters", 8, 32)
        >>> list(explore_space(build))
        ['kind', 'filters']
    """
    space: dict[str, Param] = {}
    queue: list[dict] = [{}]
    seen: set = {()}
    builds = 0
    while queue and builds < limit:
        values = queue.pop(0)
        hp = HyperParameters(values=values)
        build(hp)
        builds += 1
        for param in hp.space.values():
            space.setdefault(param.name, param)
            for parent, parent_values in param.conditions:
                for value in parent_values:
                    branch = {**values, parent: value}
                    key = tuple(sorted((k, repr(v)) for k, v in branch.items()))
                    if key not in seen:
                        seen.add(key)
                        queue.append(branch)
    return space


def kerastuner_config(param: Param) -> dict:
    """``param``'s settings as KerasTuner's ``search_space_summary`` prints them."""
    conditions = [{"class_name": "Parent", "config": {"name": parent, "values": list(values)}}
                  for parent, values in param.conditions]
    if param.kind == "fixed":
        return {"conditions": conditions, "value": param.default}
    config: dict = {"default": param.default, "conditions": conditions}
    if param.kind in ("int", "float"):
        config.update(min_value=param.low, max_value=param.high, step=param.step,
                      sampling="log" if param.log else "linear")
    elif param.kind == "choice":
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in param.values)
        config.update(values=list(param.values), ordered=numeric)
    return config


def _fixed_hp(values: dict) -> HyperParameters:
    """A ``HyperParameters`` whose ``values`` already hold ``values`` (what ``build`` will be given)."""
    hp = HyperParameters(values=values)
    hp.values.update(values)
    return hp


def _check_default_only(owner: str, kwargs: dict) -> None:
    unknown = sorted(set(kwargs) - set(_DEFAULT_ONLY))
    if unknown:
        raise ConfigError(f"{owner}: unknown argument(s) {unknown}. Valid: hypermodel, objective, max_trials, "
                          f"executions_per_trial, seed, directory, project_name, overwrite, "
                          f"max_consecutive_failed_trials, max_retries_per_trial, and the tuner's own.")
    changed = sorted(k for k, v in kwargs.items() if v is not _DEFAULT_ONLY[k] and v != _DEFAULT_ONLY[k])
    if changed:
        raise ConfigError(f"{owner}: {changed} are not supported by loom's tuner (only their defaults are). Fix a "
                          f"value inside build() instead (hp.Fixed(name, value)).")


def _count(value: Any, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{label} must be a positive integer; got {value!r}.")
    return value


def _gp_sampler(startup: int, seed: int | None) -> optuna.samplers.BaseSampler:
    """Optuna's Gaussian-process sampler with ``startup`` random trials first."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=startup, warn_independent_sampling=False,
                                         independent_sampler=optuna.samplers.RandomSampler(seed=seed))

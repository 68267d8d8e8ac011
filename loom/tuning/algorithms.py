"""Search algorithms: a name -> an Optuna sampler, each suited to a different budget and space.

* ``'random'``: independent uniform draws (Bergstra & Bengio, 2012); the baseline every other must beat.
* ``'tpe'``: Tree-structured Parzen Estimator (Bergstra et al., 2011), Hyperopt's algorithm, the one the
  book names: models good and bad configurations separately; handles conditional spaces. The default. With
  several workers, running trials count as having the worst value ("constant liar"), so that workers do not
  all sample around the same promising point.
* ``'bayesian'``: Gaussian-process Bayesian optimization (Optuna's ``GPSampler``, needs scipy and torch);
  strongest for small budgets over numeric parameters.
* ``'evolutionary'``: CMA-ES (Hansen, 2016; the ``cmaes`` package) over the numeric parameters, TPE for the
  categorical ones. ``'nsga2'``: the NSGA-II genetic algorithm (Deb et al., 2002), any space.
* ``'grid'``: every combination, in random order; the space is read from ``build(HyperParameters())`` and
  every ``Float`` needs a ``step`` (conditional parameters are not supported).

The first few trials of the model-based algorithms are random (``startup_trials``): about a third of the
budget, between 2 and 10.

Example:
    >>> type(make_sampler("tpe", seed=0, max_trials=20)).__name__
    'TPESampler'
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import optuna

from loom.errors import ConfigError

ALGORITHMS = ("random", "tpe", "bayesian", "evolutionary", "nsga2", "grid")


def startup_trials(max_trials: int | None) -> int:
    """Random trials before a model-based sampler takes over: a third of the budget, in ``[2, 10]``."""
    return 10 if max_trials is None else max(2, min(10, max_trials // 3))


def make_sampler(algorithm: Any, seed: int | None = None, max_trials: int | None = None,
                 grid: Callable[[], dict] | None = None):
    """The Optuna sampler for ``algorithm`` (a name in :data:`ALGORITHMS`, or an Optuna sampler, returned as is).

    Args:
        algorithm: the algorithm's name or an ``optuna.samplers.BaseSampler``.
        seed: the sampler's random seed (default ``None``).
        max_trials: the trial budget, which sizes the random start-up phase (default ``None``).
        grid: for ``'grid'``, a function returning ``{name: [values]}`` (default ``None``).
    """
    if isinstance(algorithm, optuna.samplers.BaseSampler):
        return algorithm
    startup = startup_trials(max_trials)
    samplers = optuna.samplers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if algorithm == "random":
            return samplers.RandomSampler(seed=seed)
        if algorithm == "tpe":
            return samplers.TPESampler(seed=seed, n_startup_trials=startup, constant_liar=True)
        if algorithm == "bayesian":
            _require("scipy", "algorithm='bayesian'")
            _require("torch", "algorithm='bayesian'")
            return samplers.GPSampler(seed=seed, n_startup_trials=startup, warn_independent_sampling=False,
                                      independent_sampler=samplers.RandomSampler(seed=seed))
        if algorithm == "evolutionary":
            _require("cmaes", "algorithm='evolutionary' (CMA-ES)")
            return samplers.CmaEsSampler(seed=seed, n_startup_trials=1, with_margin=True,
                                         warn_independent_sampling=False,
                                         independent_sampler=samplers.TPESampler(seed=seed))
        if algorithm == "nsga2":
            population = max(4, min(50, (max_trials or 100) // 4))
            return samplers.NSGAIISampler(seed=seed, population_size=population)
        if algorithm == "grid":
            if grid is None:
                raise ConfigError("algorithm='grid' needs the search space.")
            return GridSampler(grid(), seed=seed)
    raise ConfigError(f"Unknown algorithm {algorithm!r}. Valid: {list(ALGORITHMS)}, or an Optuna sampler.")


def _require(module: str, what: str) -> None:
    try:
        __import__(module)
    except ImportError as e:
        raise ImportError(f"{what} needs the '{module}' package: pip install {module}") from e


class GridSampler(optuna.samplers.GridSampler):
    """Optuna's grid sampler without its ``study.stop()`` (the tuner stops after the grid by itself)."""

    def after_trial(self, study, trial, state, values) -> None:
        return None

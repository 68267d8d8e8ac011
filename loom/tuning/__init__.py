"""Hyperparameter search (book section 7.3.2) on Optuna: ``HyperParameters`` for the space, ``Tuner`` for the
search, the results and the held-out check.

Example:
    >>> import loom
    >>> from loom.tuning import HyperParameters
    >>> def build(hp):
    ...     model = loom.Sequential([loom.Input((8,)),
    ...                              loom.layers.Dense(hp.Int("units", 16, 128, step=16), activation="relu"),
    ...                              loom.layers.Dense(1, activation="sigmoid")])
    ...     model.compile(optimizer=hp.Choice("optimizer", ["rmsprop", "adam"]), loss="binary_crossentropy",
    ...                   metrics=["acc"])
    ...     return model
    >>> build(HyperParameters()).count_params()  # the default configuration: 16 units
    161

Run a search with ``Tuner(build, objective="val_acc", max_trials=20).search(x, y, validation_split=0.2,
epochs=10)``, or from the shell with ``loom tune script.py`` (see :mod:`loom.tuning.cli_tune`).

KerasTuner's API runs too (``import loom.tuning as kt``: ``kt.RandomSearch``, ``kt.BayesianOptimization``,
``kt.Hyperband``, ``kt.GridSearch``, ``kt.HyperModel``, ``kt.Objective``), a facade over the same ``Tuner``
(see :mod:`loom.tuning.kerastuner`).
"""

try:
    import optuna as _optuna  # noqa: F401
except ImportError as e:  # pragma: no cover - optuna is a dependency
    raise ImportError("loom.tuning needs Optuna: pip install optuna") from e

from loom.tuning.space import HyperParameters
from loom.tuning.results import TrialResult
from loom.tuning.tuner import Tuner, ValidationOverfitWarning
from loom.tuning.algorithms import ALGORITHMS
from loom.tuning.pruning import PRUNERS, PruningCallback
from loom.tuning.hypermodel import HyperModel, Objective
from loom.tuning.kerastuner import BayesianOptimization, GridSearch, Hyperband, RandomSearch

__all__ = ["ALGORITHMS", "BayesianOptimization", "GridSearch", "HyperModel", "HyperParameters", "Hyperband",
           "Objective", "PRUNERS", "PruningCallback", "RandomSearch", "TrialResult", "Tuner",
           "ValidationOverfitWarning"]

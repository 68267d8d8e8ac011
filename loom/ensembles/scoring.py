"""Scores for ensembles and their members: one place that knows the metric names and which way is better.

Every scorer takes ``(y_true, y_pred)`` as the ensemble sees them: for classification integer labels of
shape ``(n,)`` and probabilities of shape ``(n, classes)``; for regression targets and predictions of shape
``(n, outputs)``. A :class:`Scorer` also knows whether greater is better, so weight fitting, Caruana's
selection and the report can all turn any score into a *loss* (lower is better) the same way.

Example:
    >>> import numpy as np
    >>> scorer = get_scorer("accuracy", "classification")
    >>> scorer(np.array([0, 1]), np.array([[0.9, 0.1], [0.2, 0.8]])), scorer.greater_is_better
    (1.0, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

import numpy as np

from loom.errors import ConfigError

_EPSILON = 1e-15


@dataclass(frozen=True)
class Scorer:
    """A named score function and its direction.

    Args:
        fn: ``fn(y_true, y_pred) -> float``.
        greater_is_better: whether higher scores are better (default ``False``: a loss).
        name: the name shown in reports (default ``fn.__name__``).

    Example:
        >>> import numpy as np
        >>> worst = Scorer(lambda y, p: float(np.max(np.abs(y - p))), name="max_error")
        >>> worst.as_loss(np.zeros((2, 1)), np.ones((2, 1)))
        1.0
    """

    fn: Callable[[np.ndarray, np.ndarray], float]
    greater_is_better: bool = False
    name: str = ""

    def __post_init__(self):
        if not callable(self.fn):
            raise ConfigError(f"Scorer needs a callable fn(y_true, y_pred) -> float, got {type(self.fn).__name__}.")
        if not self.name:
            object.__setattr__(self, "name", getattr(self.fn, "__name__", "score"))

    def __call__(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        return float(self.fn(y_true, y_pred))

    def as_loss(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        """The score turned into something to minimize (negated when greater is better)."""
        score = self(y_true, y_pred)
        return -score if self.greater_is_better else score

    def better(self, a: float, b: float) -> bool:
        """Whether score ``a`` is strictly better than score ``b``."""
        return a > b if self.greater_is_better else a < b


def log_loss(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean negative log-probability of the true class (probabilities clipped to ``[1e-15, 1]``)."""
    picked = y_pred[np.arange(len(y_true)), y_true]
    return float(-np.mean(np.log(np.clip(picked, _EPSILON, 1.0))))


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of rows whose most probable class is the true class."""
    return float(np.mean(np.argmax(y_pred, axis=-1) == y_true))


def brier(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean over rows of the squared distance between the probabilities and the one-hot target."""
    one_hot = np.zeros_like(y_pred)
    one_hot[np.arange(len(y_true)), y_true] = 1.0
    return float(np.mean(np.sum((y_pred - one_hot) ** 2, axis=-1)))


def mse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean squared error."""
    return float(np.mean((y_pred - y_true) ** 2))


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared error."""
    return float(np.sqrt(mse(y_true, y_pred)))


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error."""
    return float(np.mean(np.abs(y_pred - y_true)))


CLASSIFICATION_SCORERS = {
    "log_loss": Scorer(log_loss, False, "log_loss"),
    "accuracy": Scorer(accuracy, True, "accuracy"),
    "brier": Scorer(brier, False, "brier"),
}
REGRESSION_SCORERS = {
    "mse": Scorer(mse, False, "mse"),
    "rmse": Scorer(rmse, False, "rmse"),
    "mae": Scorer(mae, False, "mae"),
}
DEFAULT_METRIC = {"classification": "log_loss", "regression": "mse"}

MetricLike = Union[str, Scorer, Callable[[np.ndarray, np.ndarray], float], None]


def get_scorer(metric: MetricLike, task: str) -> Scorer:
    """The :class:`Scorer` for a metric name, a ``Scorer``, or a plain callable (taken as a loss).

    Args:
        metric: ``'auto'``/``None`` (``'log_loss'`` for classification, ``'mse'`` for regression), a name
            (classification: ``'log_loss'``, ``'accuracy'``, ``'brier'``; regression: ``'mse'``, ``'rmse'``,
            ``'mae'``), a :class:`Scorer`, or a callable ``fn(y_true, y_pred) -> float`` where lower is better.
        task: ``'classification'`` or ``'regression'``.

    Raises:
        ConfigError: an unknown name, or one that does not fit the task.
    """
    if isinstance(metric, Scorer):
        return metric
    if metric is None or metric == "auto":
        metric = DEFAULT_METRIC[task]
    if isinstance(metric, str):
        table = CLASSIFICATION_SCORERS if task == "classification" else REGRESSION_SCORERS
        if metric not in table:
            raise ConfigError(f"Unknown metric {metric!r} for {task}; valid: {sorted(table)}, 'auto', a "
                              f"loom.ensembles.Scorer or a callable(y_true, y_pred) -> float (lower is better).")
        return table[metric]
    if callable(metric):
        return Scorer(metric, False)
    raise ConfigError(f"metric must be a name, a Scorer or a callable; got {type(metric).__name__}.")

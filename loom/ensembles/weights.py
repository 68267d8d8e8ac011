"""Fitted ensemble weights: non-negative, summing to 1, found by SciPy on the validation predictions.

*Deep Learning with Python* (7.3.3) suggests weighting the members by what validation data says, the
weights "optimized with a simple optimization algorithm such as Nelder-Mead". Two optimizers are offered:

* ``'nelder-mead'``: unconstrained Nelder-Mead (Nelder & Mead, 1965) on ``z``, with the weights
  ``|z| / sum(|z|)`` (abs-normalization: any ``z`` is valid, and a weight can reach exactly 0), started from
  equal weights;
* ``'slsqp'``: SLSQP (Kraft, 1988) directly on the weights with bounds ``[0, 1]`` and ``sum(w) = 1``.

Whatever the optimizer returns, the result is compared with plain averaging on the same data and the better
of the two is kept, so fitted weights are never worse than equal weights on the data they were fitted on.

Example:
    >>> import numpy as np
    >>> from loom.ensembles.scoring import get_scorer
    >>> y = np.array([0, 1, 1])
    >>> good = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7]])
    >>> bad = np.full((3, 2), 0.5)
    >>> fit = optimize_weights(np.stack([good, bad]), y, get_scorer("log_loss", "classification"))
    >>> fit.weights.round(2).tolist(), fit.loss < fit.equal_loss
    ([1.0, 0.0], True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from loom.errors import ConfigError
from loom.ensembles.scoring import Scorer, log_loss

OPTIMIZERS = ("nelder-mead", "slsqp")


@dataclass
class WeightFit:
    """What :func:`optimize_weights` found.

    Attributes:
        weights: the chosen weights (non-negative, sum 1).
        loss: the objective (the metric as a loss, lower is better) with ``weights``.
        equal_loss: the objective with equal weights.
        optimizer: the optimizer used.
        used_equal: whether equal weights were kept because the optimum was not better.
        details: the optimizer's own report (iterations, message).
    """

    weights: np.ndarray
    loss: float
    equal_loss: float
    optimizer: str
    used_equal: bool
    details: dict = field(default_factory=dict)


def optimize_weights(predictions: np.ndarray, y: np.ndarray, scorer: Scorer, method: str = "nelder-mead",
                     maxiter: int | None = None, tol: float = 1e-7) -> WeightFit:
    """Weights for ``predictions`` (``(members, samples, ...)``) minimizing ``scorer`` as a loss on ``y``.

    Args:
        predictions: stacked member predictions, already in the ensemble's common form.
        y: the targets (integer labels for classification).
        scorer: the metric (greater-is-better metrics are maximized).
        method: ``'nelder-mead'`` (default) or ``'slsqp'``.
        maxiter: the optimizer's iteration limit (default ``200 * members``).
        tol: the tolerance on the objective (default ``1e-7``).

    Raises:
        ConfigError: an unknown ``method``.
    """
    from scipy import optimize
    if method not in OPTIMIZERS:
        raise ConfigError(f"Unknown weight optimizer {method!r}; valid: {list(OPTIMIZERS)}.")
    members = predictions.shape[0]
    objective = _objective(predictions, y, scorer)
    equal = np.full(members, 1.0 / members)
    equal_loss = objective(equal)
    maxiter = maxiter or 200 * members
    if members == 1:
        return WeightFit(equal, equal_loss, equal_loss, method, True)
    if method == "nelder-mead":
        result = optimize.minimize(lambda z: objective(_abs_normalize(z)), np.ones(members), method="Nelder-Mead",
                                   options={"maxiter": maxiter, "xatol": 1e-6, "fatol": tol})
        found = _abs_normalize(result.x)
    else:
        result = optimize.minimize(objective, equal, method="SLSQP", bounds=[(0.0, 1.0)] * members,
                                   constraints=[{"type": "eq", "fun": lambda w: np.sum(w) - 1.0}],
                                   options={"maxiter": maxiter, "ftol": tol})
        found = _simplex(result.x)
    loss = objective(found)
    details = {"iterations": int(getattr(result, "nit", 0)), "message": str(getattr(result, "message", ""))}
    if not loss < equal_loss - 1e-12 * max(1.0, abs(equal_loss)):  # a real gain, not rounding noise
        return WeightFit(equal, equal_loss, equal_loss, method, True, details)
    return WeightFit(found, loss, equal_loss, method, False, details)


def _objective(predictions: np.ndarray, y: np.ndarray, scorer: Scorer) -> Callable[[np.ndarray], float]:
    """``w -> loss``; for log loss only the true-class probabilities are mixed (much faster)."""
    if scorer.fn is log_loss:
        picked = predictions[:, np.arange(len(y)), y]  # (members, samples)

        def fast(w: np.ndarray) -> float:
            return float(-np.mean(np.log(np.clip(w @ picked, 1e-15, 1.0))))
        return fast

    def general(w: np.ndarray) -> float:
        return scorer.as_loss(y, np.tensordot(w, predictions, axes=1))
    return general


def _abs_normalize(z: np.ndarray) -> np.ndarray:
    a = np.abs(z)
    total = a.sum()
    return a / total if total > 0 else np.full(len(z), 1.0 / len(z))


def _simplex(w: np.ndarray) -> np.ndarray:
    """SLSQP's answer clipped to ``[0, inf)`` and renormalized (it may step slightly outside)."""
    return _abs_normalize(np.clip(w, 0.0, None))

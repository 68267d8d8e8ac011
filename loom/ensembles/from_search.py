"""From a hyperparameter search to an ensemble: the best *and* most diverse trials of a ``loom.tuning`` study.

A search leaves many good models behind; the book's advice is to ensemble models that are good and
different. :func:`ensemble_from_tuner` takes the completed trials of a tuner, orders them by their value,
and either keeps the ``top_k`` best (``diversity=None``) or picks greedily from a larger pool of the best,
trading quality for diversity (``diversity`` between 0 and 1, see below). The chosen trials' trained models
become the members of an :class:`~loom.ensembles.Ensemble`, fitted on the tuner's validation data when the
method learns something (``'weighted'``, ``'caruana'``, ``'stack'``).

Those validation data already chose the hyperparameters, so the ensemble's validation score is optimistic:
judge it with :meth:`Ensemble.report` on a test set.

The tuner is duck-typed: it needs ``study.trials`` or ``trials`` (Optuna ``FrozenTrial``-like objects with
``number``, ``value``, ``state`` and ``params``), ``load_trial_model(number)`` and, unless ``x_val``/``y_val``
are given, ``validation_data`` as ``(x_val, y_val)``; the direction is read from ``study.direction`` (or
``tuner.direction``; default minimize).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from loom.errors import ConfigError
from loom.ensembles.ensemble import Ensemble
from loom.ensembles.scoring import MetricLike, get_scorer

_FITTED = ("weighted", "caruana", "stack")


def ensemble_from_tuner(tuner: Any, top_k: int = 5, method: str = "caruana", diversity: float | None = None,
                        x_val: Any = None, y_val: Any = None, metric: MetricLike = "auto",
                        pool_size: int | None = None, task: str = "auto", **fit_options: Any) -> Ensemble:
    """An ensemble of the best (and, with ``diversity``, most diverse) trials of a finished search.

    Args:
        tuner: a ``loom.tuning`` tuner (or any object with the attributes the module docstring lists).
        top_k: how many trials to ensemble (default 5).
        method: the ensemble method (default ``'caruana'``); see :class:`~loom.ensembles.Ensemble`.
        diversity: ``None`` (default): the ``top_k`` best trials. A number in ``[0, 1]``: start from the best
            trial, then repeatedly add the candidate maximizing ``(1 - diversity) * quality + diversity *
            novelty``, where quality is ``exp(-(loss - best_loss) / |best_loss|)`` (1 for the best trial,
            smaller for relatively worse ones, on the validation data) and novelty is ``(1 - r) / 2`` averaged
            over the chosen members, ``r`` the correlation of their validation errors.
        x_val: validation inputs (default ``None``: ``tuner.validation_data[0]``).
        y_val: validation targets (default ``None``: ``tuner.validation_data[1]``).
        metric: the metric for fitting and for quality (default ``'auto'``: log loss / MSE).
        pool_size: how many of the best trials ``diversity`` chooses from (default ``3 * top_k``).
        task: the ensemble's task (default ``'auto'``; give ``'classification'`` for one-column sigmoid models).
        **fit_options: passed to :meth:`Ensemble.fit` (e.g. ``iterations=100`` for Caruana).

    Returns:
        The ensemble; ``ensemble.fit_info['trials']`` lists the chosen trial numbers.

    Raises:
        ConfigError: no completed trials, bad ``top_k``/``diversity``, or validation data needed but missing.
    """
    if not isinstance(top_k, int) or top_k < 1:
        raise ConfigError(f"top_k must be a positive integer, got {top_k!r}.")
    if diversity is not None and not (isinstance(diversity, (int, float)) and 0 <= diversity <= 1):
        raise ConfigError(f"diversity must be None or a number in [0, 1], got {diversity!r}.")
    trials = best_trials(tuner)
    if method in _FITTED or diversity is not None:
        x_val, y_val = _validation_data(tuner, x_val, y_val, method, diversity)
    if diversity is None:
        chosen = trials[:top_k]
        members = {f"trial_{t.number}": tuner.load_trial_model(t.number) for t in chosen}
    else:
        pool = trials[:pool_size or 3 * top_k]
        candidates = Ensemble({f"trial_{t.number}": tuner.load_trial_model(t.number) for t in pool}, task=task)
        picks = _diverse_picks(candidates, x_val, y_val, metric, top_k, float(diversity))
        chosen = [pool[i] for i in picks]
        members = {candidates.members[i].name: candidates.members[i] for i in picks}
    ensemble = Ensemble(members, method=method, task=task)
    if method in _FITTED:
        ensemble.fit(x_val, y_val, metric=metric, **fit_options)
    ensemble.fit_info["trials"] = [int(t.number) for t in chosen]
    ensemble.fit_info["trial_values"] = [float(t.value) for t in chosen]
    return ensemble


def best_trials(tuner: Any) -> list[Any]:
    """The tuner's completed trials with a finite value, best first.

    Raises:
        ConfigError: the tuner has no trials attribute, or no completed trial.
    """
    study = getattr(tuner, "study", None)
    trials = getattr(study, "trials", None)
    if trials is None:
        trials = getattr(tuner, "trials", None)
    if trials is None:
        raise ConfigError(f"{type(tuner).__name__} has neither study.trials nor trials; pass a loom.tuning tuner.")
    done = [t for t in trials if _is_complete(t)]
    if not done:
        raise ConfigError("The search has no completed trial with a value yet; run tuner.search(...) first.")
    maximize = _direction(tuner, study) == "maximize"
    return sorted(done, key=lambda t: (-t.value if maximize else t.value, t.number))


def _is_complete(trial: Any) -> bool:
    state = getattr(trial, "state", None)
    name = getattr(state, "name", state)
    if name is not None and str(name).upper() != "COMPLETE":
        return False
    value = getattr(trial, "value", None)
    return isinstance(value, (int, float)) and math.isfinite(value)


def _direction(tuner: Any, study: Any) -> str:
    if getattr(study, "directions", None) is not None and len(study.directions) > 1:
        raise ConfigError("ensemble_from_tuner needs a single-objective study.")
    direction = getattr(study, "direction", None) or getattr(tuner, "direction", None) or \
        getattr(tuner, "mode", None) or "minimize"
    name = str(getattr(direction, "name", direction)).lower()
    name = {"min": "minimize", "max": "maximize"}.get(name, name)
    if name not in ("minimize", "maximize"):
        raise ConfigError(f"Unknown study direction {direction!r}; expected minimize or maximize.")
    return name


def _validation_data(tuner: Any, x_val: Any, y_val: Any, method: str, diversity: Any) -> tuple[Any, Any]:
    if x_val is None or y_val is None:
        data = getattr(tuner, "validation_data", None)
        if data is None or len(data) < 2:
            why = f"method={method!r}" if method in _FITTED else "diversity"
            raise ConfigError(f"{why} needs validation data: pass x_val and y_val, or use a tuner that keeps "
                              f"validation_data.")
        x_val = data[0] if x_val is None else x_val
        y_val = data[1] if y_val is None else y_val
    return x_val, y_val


def _diverse_picks(candidates: Ensemble, x_val: Any, y_val: Any, metric: MetricLike, top_k: int,
                   diversity: float) -> list[int]:
    """Greedy quality/novelty selection of ``top_k`` members of ``candidates`` (indices, in pick order)."""
    predictions = candidates.member_predictions(x_val)
    labels = candidates.prepare_targets(y_val, predictions.shape[1])
    scorer = get_scorer(metric, candidates.task)
    losses = np.array([scorer.as_loss(labels, p) for p in predictions])
    best = losses.min()
    quality = np.exp(-(losses - best) / max(abs(best), 1e-12))  # 1 for the best, less for relatively worse
    if candidates.task == "classification":
        target = np.zeros(predictions.shape[1:])
        target[np.arange(len(labels)), labels] = 1.0
    else:
        target = labels
    errors = (predictions - target).reshape(len(predictions), -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = np.nan_to_num(np.atleast_2d(np.corrcoef(errors)), nan=1.0)
    picks = [int(np.argmax(quality))]
    while len(picks) < min(top_k, len(losses)):
        rest = [i for i in range(len(losses)) if i not in picks]
        novelty = {i: float(np.mean((1.0 - correlation[i, picks]) / 2.0)) for i in rest}
        picks.append(max(rest, key=lambda i: ((1 - diversity) * quality[i] + diversity * novelty[i], -i)))
    return picks

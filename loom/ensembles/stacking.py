"""Stacking: a meta-learner (logistic regression for classification, ridge regression for regression) that
learns how to combine the members' predictions (Wolpert, 1992, "Stacked generalization").

The members given to an ensemble are already trained and cannot be refit, so the classic recipe (refit
every member on k-1 folds to get out-of-fold member predictions) is not available. Instead:

* the meta-features are the members' predictions on the *validation* data, which no member was trained on,
  so they are already out-of-sample for the members;
* the meta-learner's regularization strength is chosen by k-fold cross-validation on those validation
  predictions, with ``sklearn.model_selection.cross_val_predict`` giving out-of-fold meta-predictions;
  their score (``oof_score``) is an honest estimate of the stacked ensemble on unseen data;
* the meta-learner with the chosen strength is then fit on all the validation predictions.

Meta-features are the members' class probabilities side by side (classification) or their predictions side
by side (regression).

Example:
    >>> import numpy as np
    >>> from loom.ensembles.scoring import get_scorer
    >>> y = np.arange(60) % 3
    >>> shifted = np.eye(3)[(y + 1) % 3]  # always predicts the next class: useless averaged, perfect stacked
    >>> stack = fit_stacker(np.stack([shifted]), y, "classification", get_scorer("accuracy", "classification"))
    >>> stack.oof_score, stack.predict(np.stack([shifted]), 3).argmax(1).tolist() == y.tolist()
    (1.0, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from loom.errors import ConfigError, InputError
from loom.ensembles.scoring import Scorer

STRENGTHS = (0.01, 0.1, 1.0, 10.0, 100.0)


@dataclass
class Stacker:
    """A fitted meta-learner and what cross-validation said about it.

    Attributes:
        estimator: the scikit-learn meta-learner, fit on all the validation meta-features.
        task: ``'classification'`` or ``'regression'``.
        strength: the chosen ``C`` (logistic regression) or ``alpha`` (ridge).
        oof_score: the metric of the out-of-fold meta-predictions with that strength.
    """

    estimator: Any
    task: str
    strength: float
    oof_score: float

    def predict(self, predictions: np.ndarray, classes: int = 0) -> np.ndarray:
        """The stacked prediction from member predictions ``(members, samples, ...)``."""
        features = meta_features(predictions)
        if self.task == "regression":
            out = np.asarray(self.estimator.predict(features), dtype=np.float64)
            return out[:, None] if out.ndim == 1 else out
        return _full_proba(self.estimator, self.estimator.predict_proba(features), classes)


def meta_features(predictions: np.ndarray) -> np.ndarray:
    """``(members, samples, k)`` -> ``(samples, members * k)``: each member's columns side by side."""
    members, samples = predictions.shape[:2]
    return np.transpose(predictions, (1, 0, 2)).reshape(samples, -1)


def fit_stacker(predictions: np.ndarray, y: np.ndarray, task: str, scorer: Scorer, cv: int = 5,
                strengths: Sequence[float] = STRENGTHS, seed: int = 0) -> Stacker:
    """Choose the regularization by ``cv``-fold cross-validation, then fit the meta-learner on everything.

    Args:
        predictions: member predictions on validation data ``(members, samples, k)``.
        y: the validation targets (integer labels for classification, ``(samples, outputs)`` for regression).
        task: ``'classification'`` or ``'regression'``.
        scorer: the metric cross-validation compares strengths with.
        cv: the number of folds (default 5; lowered to the smallest class count when needed, at least 2).
        strengths: candidate ``C`` (logistic) or ``alpha`` (ridge) values (default ``(0.01, ..., 100)``).
        seed: the seed of the fold shuffle (default 0).

    Raises:
        InputError: too few samples (or, for classification, a class with a single sample).
    """
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
    features = meta_features(predictions)
    classes = predictions.shape[2]
    folds = _folds(y, task, cv)
    splitter = (StratifiedKFold if task == "classification" else KFold)(folds, shuffle=True, random_state=seed)
    target = y if task == "classification" or y.shape[1] > 1 else y[:, 0]
    best = None
    for strength in strengths:
        model = _meta_learner(task, strength, seed)
        method = "predict_proba" if task == "classification" else "predict"
        oof = np.asarray(cross_val_predict(model, features, target, cv=splitter, method=method), dtype=np.float64)
        if task == "classification":
            oof = _full_proba(None, oof, classes, np.unique(y))  # columns: the classes present in y, sorted
        else:
            oof = oof.reshape(len(y), -1)
        score = scorer(y, oof)
        if best is None or scorer.better(score, best[1]):
            best = (strength, score)
    final = _meta_learner(task, best[0], seed).fit(features, target)
    return Stacker(final, task, float(best[0]), float(best[1]))


def _meta_learner(task: str, strength: float, seed: int):
    from sklearn.linear_model import LogisticRegression, Ridge
    if task == "classification":
        return LogisticRegression(C=strength, max_iter=1000, random_state=seed)
    return Ridge(alpha=strength)


def _folds(y: np.ndarray, task: str, cv: int) -> int:
    if not isinstance(cv, int) or cv < 2:
        raise ConfigError(f"cv must be an integer >= 2, got {cv!r}.")
    if task == "classification":
        smallest = int(np.bincount(y)[np.unique(y)].min())
        if smallest < 2:
            raise InputError("Stacking needs at least 2 validation samples of every class present in y_val "
                             "(for the cross-validation folds); give more validation data.")
        return min(cv, smallest)
    if len(y) < 2 * cv:
        raise InputError(f"Stacking needs at least {2 * cv} validation samples for {cv} folds, got {len(y)}.")
    return cv


def _full_proba(estimator: Any, proba: np.ndarray, classes: int, seen: np.ndarray | None = None) -> np.ndarray:
    """Probabilities over the columns the estimator knows, spread to all ``classes`` columns."""
    seen = np.asarray(estimator.classes_ if seen is None else seen, dtype=np.int64)
    full = np.zeros((len(proba), max(classes, int(seen.max()) + 1)), dtype=np.float64)
    full[:, seen] = proba
    return full

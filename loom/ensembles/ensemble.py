"""``Ensemble``: combine diverse good models (*Deep Learning with Python*, 7.3.3).

Members can be loom models, any ``torch.nn.Module``, fitted scikit-learn estimators or plain callables
(see :mod:`loom.ensembles.members`). Each member's predictions on a dataset are computed once and cached
(:mod:`loom.ensembles.cache`), so fitting weights, reporting and predicting again cost no extra passes.

Methods:

* ``'mean'``: plain average of the members' probabilities (or regression outputs);
* ``'weighted'``: ``sum(w_i * p_i)`` with given weights (normalized when they do not sum to 1), or weights
  fitted on validation data with :meth:`Ensemble.fit_weights` (Nelder-Mead or SLSQP);
* ``'vote'``: hard (optionally weighted) majority vote; predictions are the vote fractions;
* ``'caruana'``: greedy forward selection with replacement (:mod:`loom.ensembles.caruana`), via :meth:`fit`;
* ``'stack'``: a logistic/ridge meta-learner on the members' predictions (:mod:`loom.ensembles.stacking`),
  via :meth:`fit`.

Example:
    >>> import numpy as np
    >>> from loom.ensembles import Ensemble
    >>> a = lambda x: np.tile([0.8, 0.2], (len(x), 1))
    >>> b = lambda x: np.tile([0.4, 0.6], (len(x), 1))
    >>> ens = Ensemble([a, b], weights=[0.75, 0.25], task="classification")
    >>> ens.predict(np.zeros((1, 3))).round(6).tolist()
    [[0.7, 0.3]]
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from loom.errors import ConfigError, InputError
from loom.ensembles.cache import PredictionCache
from loom.ensembles.caruana import caruana_selection
from loom.ensembles.members import Member, as_member, to_probabilities, to_targets
from loom.ensembles.scoring import MetricLike, get_scorer
from loom.ensembles.stacking import Stacker, fit_stacker
from loom.ensembles.weights import OPTIMIZERS, optimize_weights

METHODS = ("mean", "weighted", "vote", "caruana", "stack")
TASKS = ("auto", "classification", "regression")


class Ensemble:
    """Several models answering as one.

    Args:
        members: a list of members (loom models, ``torch.nn.Module``s, fitted scikit-learn estimators,
            callables or :class:`~loom.ensembles.members.Member`s), or a dict ``{name: member}``.
        method: one of ``'mean'`` (default), ``'weighted'``, ``'vote'``, ``'caruana'``, ``'stack'``.
            Giving ``weights`` with ``'mean'`` means ``'weighted'``.
        weights: one non-negative weight per member (default ``None``). For ``'weighted'``, normalized to sum
            to 1 unless they already do; for ``'vote'``, each member's vote counts that much.
        task: ``'classification'``, ``'regression'`` or ``'auto'`` (default): classification when a member is
            a scikit-learn classifier or every member returns probability rows of 2 or more columns. Give it
            explicitly for members returning logits or a single sigmoid column.
        batch_size: the batch size members predict with (default ``None``: 256).
        cache_size: how many datasets' member predictions to keep (default 4; 0 disables the cache).

    Example:
        >>> import numpy as np
        >>> from sklearn.linear_model import LinearRegression
        >>> x = np.arange(8.0).reshape(4, 2)
        >>> lin = LinearRegression().fit(x, x.sum(1))
        >>> ens = Ensemble({"lin": lin, "double": lambda x: 2 * x.sum(1)}, task="regression")
        >>> ens.predict(x)[:, 0].round(6).tolist()
        [1.5, 7.5, 13.5, 19.5]
    """

    def __init__(self, members: Sequence[Any] | dict[str, Any], method: str = "mean",
                 weights: Sequence[float] | None = None, task: str = "auto", batch_size: int | None = None,
                 cache_size: int = 4):
        self.members: list[Member] = _as_members(members)
        if method not in METHODS:
            raise ConfigError(f"Unknown ensemble method {method!r}; valid: {list(METHODS)}.")
        if task not in TASKS:
            raise ConfigError(f"Unknown task {task!r}; valid: {list(TASKS)}.")
        if weights is not None and method in ("caruana", "stack"):
            raise ConfigError(f"method={method!r} finds its own weights with fit(); do not pass weights.")
        self.method = "weighted" if weights is not None and method == "mean" else method
        self.weights = None if weights is None else check_weights(weights, len(self.members))
        self.task = task
        self.batch_size = batch_size
        self.num_classes: int | None = None
        self.stacker: Stacker | None = None
        self.fit_info: dict = {}
        self._cache = PredictionCache(cache_size)

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.members]

    def __repr__(self) -> str:
        return f"Ensemble(members={self.names}, method={self.method!r}, task={self.task!r})"

    # ------------------------------------------------------------------------------------------ predictions
    def member_predictions(self, x: Any) -> np.ndarray:
        """Every member's predictions on ``x`` in a common form, stacked: ``(members, samples, k)``.

        Classification: float64 probabilities over ``k`` classes (members knowing fewer classes get zero
        columns); regression: float64 outputs ``(samples, outputs)`` per member. Cached per dataset.

        Raises:
            InputError: members disagree on the number of samples or outputs, or return NaN.
        """
        raws = [self._cache.get(x, i, lambda m=m: m.predict(x, self.batch_size)) for i, m in enumerate(self.members)]
        self._resolve_task(raws)
        if self.task == "classification":
            preds = [to_probabilities(r, m.outputs, m.name) for r, m in zip(raws, self.members)]
            width = max([p.shape[1] for p in preds] + [self.num_classes or 0])
            self.num_classes = width
            preds = [np.pad(p, ((0, 0), (0, width - p.shape[1]))) if p.shape[1] < width else p for p in preds]
        else:
            preds = [to_targets(r, m.name) for r, m in zip(raws, self.members)]
        shapes = {p.shape for p in preds}
        if len(shapes) > 1:
            detail = ", ".join(f"{m.name}: {p.shape}" for m, p in zip(self.members, preds))
            raise InputError(f"The members' predictions do not line up ({detail}); every member must return one "
                             f"row per sample and the same number of outputs.")
        return np.stack(preds)

    def combine(self, predictions: np.ndarray) -> np.ndarray:
        """The ensemble's prediction from stacked member predictions (see :meth:`member_predictions`).

        Raises:
            ConfigError: the method needs :meth:`fit` (or :meth:`fit_weights`) first.
        """
        if self.method == "mean":
            return predictions.mean(axis=0)
        if self.method == "vote":
            return self._vote(predictions)
        if self.method == "stack":
            if self.stacker is None:
                raise ConfigError("This 'stack' ensemble has no meta-learner yet; call fit(x_val, y_val) first.")
            return self.stacker.predict(predictions, self.num_classes or 0)
        if self.weights is None:
            raise ConfigError(f"This {self.method!r} ensemble has no weights yet; call fit(x_val, y_val)"
                              f"{' or fit_weights(x_val, y_val)' if self.method == 'weighted' else ''} first.")
        return weighted_average(predictions, self.weights)

    def predict(self, x: Any) -> np.ndarray:
        """The ensemble's prediction: probabilities ``(samples, classes)`` or outputs ``(samples, outputs)``."""
        return self.combine(self.member_predictions(x))

    def predict_classes(self, x: Any) -> np.ndarray:
        """The most probable class per sample (classification only)."""
        predictions = self.member_predictions(x)
        self._require_classification("predict_classes")
        combined = self.combine(predictions)
        if self.method == "vote":  # ties broken by the mean probabilities
            combined = combined + 1e-9 * predictions.mean(axis=0)
        return combined.argmax(axis=-1)

    def evaluate(self, x: Any, y: Any, metric: MetricLike = "auto") -> float:
        """The ensemble's score on ``(x, y)`` (``metric`` as in :func:`~loom.ensembles.scoring.get_scorer`)."""
        predictions = self.member_predictions(x)
        labels = self.prepare_targets(y, len(predictions[0]))
        return get_scorer(metric, self.task)(labels, self.combine(predictions))

    def prepare_targets(self, y: Any, samples: int) -> np.ndarray:
        """``y`` as the ensemble compares with: int64 labels (one-hot rows are decoded) or float64 ``(n, d)``.

        Raises:
            InputError: wrong length, non-integer or negative class labels, NaN.
        """
        y = np.asarray(y.detach().cpu().numpy() if hasattr(y, "detach") else y)
        if len(y) != samples:
            raise InputError(f"y has {len(y)} rows but the members predicted {samples} samples.")
        if self.task == "regression":
            return to_targets(y, "y")
        if y.ndim == 2 and y.shape[1] > 1:
            y = y.argmax(axis=1)
        y = y.reshape(len(y), -1)[:, 0] if y.ndim == 2 else y
        if y.ndim != 1 or y.dtype.kind not in "iubf" or (y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0)):
            raise InputError(f"Classification targets must be integer labels (or one-hot rows); got dtype "
                             f"{y.dtype} and shape {y.shape}.")
        if y.size and y.min() < 0:
            raise InputError(f"Class labels must be >= 0, got {y.min()}.")
        labels = y.astype(np.int64)
        self.num_classes = max(self.num_classes or 0, int(labels.max(initial=-1)) + 1)
        return labels

    def clear_cache(self) -> None:
        """Forget the cached member predictions (e.g. after retraining a member)."""
        self._cache.clear()

    # --------------------------------------------------------------------------------------------- fitting
    def fit(self, x_val: Any, y_val: Any, metric: MetricLike = "auto", **options: Any) -> "Ensemble":
        """Fit what the method learns from validation data; returns ``self``.

        ``'weighted'``: :meth:`fit_weights` (``options``: ``optimizer``, ``maxiter``); ``'caruana'``: selection
        (``options``: ``iterations`` (default 50), ``init_size`` (default 1)); ``'stack'``: the meta-learner
        (``options``: ``cv`` (default 5), ``strengths``, ``seed``); ``'mean'``/``'vote'``: nothing to fit.

        Args:
            x_val: validation inputs the members were not trained on.
            y_val: validation targets.
            metric: what to optimize (default ``'auto'``: log loss for classification, MSE for regression).
        """
        if self.method in ("mean", "vote"):
            return self
        if self.method == "weighted":
            optimizer = options.pop("optimizer", "nelder-mead")
            return self.fit_weights(x_val, y_val, metric=metric, method=optimizer, **options)
        predictions = self.member_predictions(x_val)
        labels = self.prepare_targets(y_val, predictions.shape[1])
        scorer = get_scorer(metric, self.task)
        if self.method == "caruana":
            selection = caruana_selection(predictions, labels, scorer, **options)
            self.weights = selection.weights
            self.fit_info = {"method": "caruana", "metric": scorer.name, "counts": selection.counts.tolist(),
                             "validation_score": _score(scorer, selection.loss)}
        else:
            self.stacker = fit_stacker(predictions, labels, self.task, scorer, **options)
            self.fit_info = {"method": "stack", "metric": scorer.name, "strength": self.stacker.strength,
                             "out_of_fold_score": self.stacker.oof_score}
        return self

    def fit_weights(self, x_val: Any, y_val: Any, metric: MetricLike = "auto", method: str = "nelder-mead",
                    maxiter: int | None = None) -> "Ensemble":
        """Fit non-negative weights summing to 1 on validation data; the ensemble becomes ``'weighted'``.

        Starts from equal weights and keeps them when the optimum is not better, so the fitted ensemble is
        never worse than plain averaging on ``(x_val, y_val)``. See :mod:`loom.ensembles.weights`.

        Args:
            x_val: validation inputs the members were not trained on.
            y_val: validation targets.
            metric: what to optimize (default ``'auto'``: log loss / MSE).
            method: ``'nelder-mead'`` (default) or ``'slsqp'``.
            maxiter: the optimizer's iteration limit (default ``200 * members``).

        Returns:
            ``self``; ``self.weights`` holds the weights and ``self.fit_info`` what was found.
        """
        if method not in OPTIMIZERS:
            raise ConfigError(f"Unknown weight optimizer {method!r}; valid: {list(OPTIMIZERS)}. (For greedy "
                              f"selection use Ensemble(members, method='caruana').fit(x_val, y_val).)")
        predictions = self.member_predictions(x_val)
        labels = self.prepare_targets(y_val, predictions.shape[1])
        scorer = get_scorer(metric, self.task)
        found = optimize_weights(predictions, labels, scorer, method=method, maxiter=maxiter)
        self.method, self.weights, self.stacker = "weighted", found.weights, None
        self.fit_info = {"method": method, "metric": scorer.name, "validation_score": _score(scorer, found.loss),
                         "equal_weights_score": _score(scorer, found.equal_loss), "kept_equal": found.used_equal,
                         **found.details}
        return self

    # ------------------------------------------------------------------------------------- report, saving
    def report(self, x_test: Any, y_test: Any, metric: MetricLike = "auto", print_fn: Any = print,
               weak_factor: float = 1.5):
        """Scores of every member and of the ensemble, the weights and the members' diversity on test data.

        Prints a table with ``print_fn`` (default ``print``; ``None`` prints nothing) and returns an
        :class:`~loom.ensembles.report.EnsembleReport`. Warns (``EnsembleWarning``) when a member is far worse
        than the rest (loss over ``weak_factor`` (default 1.5) times the others' median).
        """
        from loom.ensembles.report import build_report
        return build_report(self, x_test, y_test, metric, print_fn, weak_factor)

    def save(self, path: Any, overwrite: bool = True) -> None:
        """Write the ensemble to one zip file, atomically, without pickle; see :mod:`loom.ensembles.storage`."""
        from loom.ensembles.storage import save_ensemble
        save_ensemble(self, path, overwrite=overwrite)

    # ------------------------------------------------------------------------------------------- internals
    def _resolve_task(self, raws: list[np.ndarray]) -> None:
        if self.task != "auto":
            return
        known = [m.is_classifier for m in self.members]
        looks = all(np.ndim(r) == 2 and np.shape(r)[1] >= 2 and _rows_are_distributions(r) for r in raws)
        self.task = "classification" if any(k is True for k in known) or looks else "regression"

    def _require_classification(self, what: str) -> None:
        if self.task != "classification":
            raise ConfigError(f"{what} needs a classification ensemble; this one does {self.task}.")

    def _vote(self, predictions: np.ndarray) -> np.ndarray:
        self._require_classification("method='vote'")
        members, samples, classes = predictions.shape
        weights = self.weights if self.weights is not None else np.full(members, 1.0 / members)
        weights = weights / weights.sum()
        votes = np.zeros((samples, classes))
        for w, p in zip(weights, predictions):
            votes[np.arange(samples), p.argmax(axis=1)] += w
        return votes


def weighted_average(predictions: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``w[0] * p[0] + w[1] * p[1] + ...`` in member order, exactly as written by hand."""
    out = weights[0] * predictions[0]
    for w, p in zip(weights[1:], predictions[1:]):
        out = out + w * p
    return out


def check_weights(weights: Sequence[float], members: int) -> np.ndarray:
    """``weights`` as float64, normalized to sum to 1 unless they already do (within 1e-9).

    Raises:
        ConfigError: wrong count, negative, NaN/infinite, or all zero.
    """
    try:
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"weights must be numbers, got {weights!r:.80}.") from e
    if len(w) != members:
        raise ConfigError(f"Got {len(w)} weights for {members} members; give one weight per member.")
    if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise ConfigError(f"weights must be finite, non-negative and not all zero; got {w.tolist()}.")
    total = float(w.sum())
    return w if math.isclose(total, 1.0, rel_tol=0, abs_tol=1e-9) else w / total


def _as_members(members: Any) -> list[Member]:
    if isinstance(members, dict):
        items = [as_member(obj, str(name)) for name, obj in members.items()]
    elif isinstance(members, (list, tuple)):
        items = [as_member(obj) for obj in members]
    else:
        raise ConfigError(f"members must be a list or a dict {{name: member}}, got {type(members).__name__}.")
    if not items:
        raise ConfigError("An ensemble needs at least one member.")
    used: set[str] = set()
    for member in items:  # unique names, so reports and saved files can refer to members by name
        base, count = member.name, 0
        while member.name in used:
            count += 1
            member.name = f"{base}_{count}"
        used.add(member.name)
    return items


def _rows_are_distributions(raw: np.ndarray) -> bool:
    p = np.asarray(raw, dtype=np.float64)
    return bool(p.size and p.min() >= -1e-6 and p.max() <= 1 + 1e-6 and np.allclose(p.sum(axis=1), 1, atol=1e-3))


def _score(scorer, loss: float) -> float:
    return -loss if scorer.greater_is_better else loss

"""What an ensemble is worth on test data: every member's score, the ensemble's, the gain over the best
member, the weights, and how diverse the members are.

Diversity is measured two ways, for every pair of members:

* ``disagreement`` (classification): the fraction of samples on which their predicted classes differ;
* ``correlation``: the Pearson correlation of their *errors* (probabilities minus the one-hot target, or
  prediction minus target), flattened. Members whose errors are little correlated are the ones worth
  averaging.

Plain averaging suffers when one member is much worse than the others (the book's caveat): the report then
warns with :class:`EnsembleWarning`.

Example:
    >>> import numpy as np
    >>> from loom.ensembles import Ensemble
    >>> y = np.array([0, 1, 1, 0])
    >>> good = lambda x: np.eye(2)[y] * 0.8 + 0.1
    >>> also = lambda x: np.eye(2)[[0, 1, 0, 0]] * 0.6 + 0.2
    >>> ensemble = Ensemble({"good": good, "also": also}, task="classification")
    >>> report = ensemble.report(np.zeros((4, 1)), y, print_fn=None, weak_factor=10)
    >>> report.best_member, report.disagreement[0][1], report.gain > 0
    ('good', 0.25, False)
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from loom.ensembles.scoring import MetricLike, get_scorer


class EnsembleWarning(UserWarning):
    """A member is far worse than the others, which hurts a plain average."""


@dataclass
class EnsembleReport:
    """The numbers :meth:`Ensemble.report` prints. ``gain`` is positive when the ensemble beats its best member.

    Attributes:
        metric: the metric's name; ``greater_is_better`` says its direction.
        member_scores: ``{member name: score}``.
        ensemble_score: the ensemble's score.
        best_member: the name of the best member; ``gain``: how much better the ensemble is than it.
        weights: ``{member name: weight}`` (equal for ``'mean'``; ``None`` for stacking and unweighted votes).
        accuracy: ``{member name or 'ensemble': accuracy}`` (classification only, else empty).
        disagreement: pairwise fraction of differing predicted classes (classification; else ``None``).
        correlation: pairwise correlation of the members' errors.
        warnings: the warnings issued, as text.
    """

    task: str
    method: str
    metric: str
    greater_is_better: bool
    member_scores: dict[str, float]
    ensemble_score: float
    best_member: str
    gain: float
    weights: dict[str, float] | None
    accuracy: dict[str, float] = field(default_factory=dict)
    disagreement: list[list[float]] | None = None
    correlation: list[list[float]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        names = list(self.member_scores)
        width = max(len(n) for n in names + ["ensemble (" + self.method + ")"]) + 2
        has_acc = bool(self.accuracy)
        head = f"{'model':<{width}}{self.metric:>12}" + (f"{'accuracy':>10}" if has_acc else "") + f"{'weight':>9}"
        lines = [head, "-" * len(head)]
        for name in names:
            weight = "" if self.weights is None else f"{self.weights[name]:.3f}"
            lines.append(f"{name:<{width}}{self.member_scores[name]:>12.4f}"
                         + (f"{self.accuracy[name]:>10.4f}" if has_acc else "") + f"{weight:>9}")
        label = f"ensemble ({self.method})"
        lines.append(f"{label:<{width}}{self.ensemble_score:>12.4f}"
                     + (f"{self.accuracy['ensemble']:>10.4f}" if has_acc else ""))
        lines.append(f"gain over the best member ({self.best_member}): {self.gain:+.4f} {self.metric} "
                     f"({'higher' if self.greater_is_better else 'lower'} is better)")
        for title, matrix in (("disagreement", self.disagreement), ("error correlation", self.correlation)):
            if matrix:
                lines.append(f"pairwise {title}:")
                lines.append(" " * width + "".join(f"{n[:8]:>9}" for n in names))
                lines += [f"{n:<{width}}" + "".join(f"{v:>9.3f}" for v in row) for n, row in zip(names, matrix)]
        return "\n".join(lines + [f"warning: {w}" for w in self.warnings])


def build_report(ensemble: Any, x: Any, y: Any, metric: MetricLike = "auto", print_fn: Any = print,
                 weak_factor: float = 1.5) -> EnsembleReport:
    """The :class:`EnsembleReport` of ``ensemble`` on ``(x, y)``; see :meth:`Ensemble.report`."""
    predictions = ensemble.member_predictions(x)
    labels = ensemble.prepare_targets(y, predictions.shape[1])
    scorer = get_scorer(metric, ensemble.task)
    names = ensemble.names
    scores = {n: scorer(labels, p) for n, p in zip(names, predictions)}
    combined = ensemble.combine(predictions)
    score = scorer(labels, combined)
    best = max(names, key=lambda n: scores[n]) if scorer.greater_is_better else min(names, key=lambda n: scores[n])
    gain = (score - scores[best]) if scorer.greater_is_better else (scores[best] - score)
    classification = ensemble.task == "classification"
    report = EnsembleReport(
        task=ensemble.task, method=ensemble.method, metric=scorer.name, greater_is_better=scorer.greater_is_better,
        member_scores=scores, ensemble_score=score, best_member=best, gain=gain,
        weights=_weights(ensemble, names),
        accuracy=_accuracies(names, predictions, combined, labels) if classification else {},
        disagreement=_disagreement(predictions) if classification else None,
        correlation=_error_correlation(predictions, labels, classification))
    report.warnings = _weak_members(report, weak_factor)
    for message in report.warnings:
        warnings.warn(message, EnsembleWarning, stacklevel=3)
    if print_fn is not None:
        print_fn(str(report))
    return report


def _weights(ensemble: Any, names: list[str]) -> dict[str, float] | None:
    if ensemble.method == "mean":
        return {n: 1.0 / len(names) for n in names}
    if ensemble.method == "stack" or ensemble.weights is None:
        return None
    return {n: float(w) for n, w in zip(names, ensemble.weights)}


def _accuracies(names: list[str], predictions: np.ndarray, combined: np.ndarray, labels: np.ndarray) -> dict:
    result = {n: float(np.mean(p.argmax(1) == labels)) for n, p in zip(names, predictions)}
    result["ensemble"] = float(np.mean(combined.argmax(1) == labels))
    return result


def _disagreement(predictions: np.ndarray) -> list[list[float]]:
    classes = predictions.argmax(axis=2)  # (members, samples)
    return [[float(np.mean(a != b)) for b in classes] for a in classes]


def _error_correlation(predictions: np.ndarray, labels: np.ndarray, classification: bool) -> list[list[float]]:
    if classification:
        target = np.zeros(predictions.shape[1:])
        target[np.arange(len(labels)), labels] = 1.0
    else:
        target = labels
    errors = (predictions - target).reshape(len(predictions), -1)
    if len(errors) == 1:
        return [[1.0]]
    with np.errstate(invalid="ignore", divide="ignore"):
        matrix = np.corrcoef(errors)
    return [[float(v) for v in row] for row in np.atleast_2d(matrix)]


def _weak_members(report: EnsembleReport, factor: float) -> list[str]:
    """Members whose loss is over ``factor`` times the median loss of the others (only for positive losses)."""
    names = list(report.member_scores)
    if len(names) < 2:
        return []
    if report.greater_is_better:
        badness = {n: (1.0 - s) if report.metric == "accuracy" else -s for n, s in report.member_scores.items()}
    else:
        badness = dict(report.member_scores)
    found = []
    for name in names:
        others = float(np.median([badness[n] for n in names if n != name]))
        if others > 0 and badness[name] > factor * others:
            advice = (" Plain averaging lets it drag the ensemble down: fit weights (fit_weights) or drop it."
                      if report.method in ("mean", "vote") else "")
            found.append(f"member '{name}' is far worse than the others ({report.metric} "
                         f"{report.member_scores[name]:.4f}; the others' median {_natural(report, others):.4f})."
                         + advice)
    return found


def _natural(report: EnsembleReport, badness: float) -> float:
    if not report.greater_is_better:
        return badness
    return 1.0 - badness if report.metric == "accuracy" else -badness

"""PNG plots of a search (matplotlib, no pyplot state): the optimization history and parameter importances.

* :func:`plot_history`: each finished trial's value (pruned ones hollow) and the best value so far.
* :func:`plot_importances`: how much of the objective's variation each hyperparameter explains
  (fANOVA, Hutter et al., 2014, with scikit-learn; else Optuna's PED-ANOVA), as horizontal bars.
* :func:`optuna_figures`: ``optuna.visualization``'s whole set (:data:`OPTUNA_PLOTS`) for the study, as
  plotly figures, or as matplotlib axes with ``backend='matplotlib'``, the objective named on its axes.

Files are written atomically.

Example:
    >>> import os, tempfile
    >>> from loom.tuning.results import TrialResult
    >>> trials = [TrialResult(i, "COMPLETE", v, {}) for i, v in enumerate([0.5, 0.7, 0.6])]
    >>> path = plot_history(trials, "max", "val_acc", os.path.join(tempfile.mkdtemp(), "history.png"))
    >>> open(path, "rb").read(4)
    b'\\x89PNG'
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from loom.errors import ConfigError
from loom.io_utils import atomic_open
from loom.tuning.results import TrialResult


def _figure(width: float, height: float):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError("Plotting a search needs matplotlib: pip install matplotlib") from e
    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Any, path: str) -> str:
    figure.tight_layout()
    with atomic_open(path) as f:
        figure.savefig(f, format="png")
    return path


def plot_history(trials: list[TrialResult], mode: str, objective: str, path: str) -> str:
    """Write the optimization history of ``trials`` (in trial order) to the PNG ``path``; returns ``path``."""
    figure = _figure(7, 4)
    axes = figure.add_subplot(1, 1, 1)
    finished = [t for t in sorted(trials, key=lambda t: t.number)
                if t.state in ("COMPLETE", "PRUNED") and t.value is not None and math.isfinite(t.value)]
    complete = [t for t in finished if t.state == "COMPLETE"]
    pruned = [t for t in finished if t.state == "PRUNED"]
    axes.scatter([t.number for t in complete], [t.value for t in complete], color="#1f77b4", label="complete")
    if pruned:
        axes.scatter([t.number for t in pruned], [t.value for t in pruned], facecolors="none", edgecolors="#7f7f7f",
                     label="pruned (last value)")
    best, best_so_far = None, []
    for t in complete:
        best = t.value if best is None else (min if mode == "min" else max)(best, t.value)
        best_so_far.append(best)
    if complete:
        steps = [t.number for t in complete] + [finished[-1].number]  # the line runs to the last trial
        axes.step(steps, best_so_far + best_so_far[-1:], where="post", color="#d62728", label="best so far")
    axes.set_xlabel("trial")
    axes.set_ylabel(objective)
    axes.set_title(f"Optimization history ({'lower' if mode == 'min' else 'higher'} is better)")
    axes.legend(loc="best")
    return _save(figure, path)


def param_importances(study: Any) -> dict[str, float]:
    """``{parameter: importance}`` (summing to 1), best first; ``{}`` when there are too few trials."""
    import optuna
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    if len(complete) < 2 or not any(t.params for t in complete):
        return {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import sklearn  # noqa: F401  (fANOVA needs it)
            evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
        except ImportError:
            evaluator = optuna.importance.PedAnovaImportanceEvaluator()
        try:
            return dict(optuna.importance.get_param_importances(study, evaluator=evaluator))
        except (ValueError, RuntimeError):
            return {}  # e.g. no parameter shared by every trial, or constant values


def plot_importances(importances: dict[str, float], path: str) -> str:
    """Write ``importances`` as horizontal bars to the PNG ``path``; returns ``path``."""
    figure = _figure(7, 0.8 + 0.4 * max(1, len(importances)))
    axes = figure.add_subplot(1, 1, 1)
    names = list(importances)[::-1]
    axes.barh(names, [importances[n] for n in names], color="#1f77b4")
    axes.set_xlabel("importance (share of the objective's variance)")
    axes.set_title("Hyperparameter importances")
    return _save(figure, path)


#: The plots of ``optuna.visualization`` (each is its ``plot_<name>`` function).
OPTUNA_PLOTS = ("optimization_history", "param_importances", "parallel_coordinate", "slice", "contour", "edf",
                "intermediate_values", "rank", "timeline")


def optuna_figures(study: Any, objective: str, kinds: Any = None, backend: str = "plotly") -> dict[str, Any]:
    """``optuna.visualization``'s plots of ``study``: ``{name: figure}``, those the trials allow.

    Args:
        study: the ``optuna.Study``.
        objective: the metric's name, shown as the objective's axis label.
        kinds: names from :data:`OPTUNA_PLOTS` (default ``None``: all of them).
        backend: ``'plotly'`` (default; ``optuna.visualization``, needs plotly) or ``'matplotlib'``
            (``optuna.visualization.matplotlib``).

    Returns:
        ``{name: plotly Figure or matplotlib Axes}``; a plot the finished trials cannot draw yet (e.g.
        importances before two complete trials) is left out.

    Raises:
        ConfigError: an unknown plot name or backend.
        ImportError: the backend's plotting package is not installed.
    """
    import optuna
    kinds = list(OPTUNA_PLOTS if kinds is None else kinds)
    unknown = [k for k in kinds if k not in OPTUNA_PLOTS]
    if unknown or backend not in ("plotly", "matplotlib"):
        raise ConfigError(f"optuna_figures: plots must be among {list(OPTUNA_PLOTS)} and backend 'plotly' or "
                          f"'matplotlib'; got {unknown or kinds} and {backend!r}.")
    module = optuna.visualization if backend == "plotly" else optuna.visualization.matplotlib
    figures = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not module.is_available():
            package = "plotly" if backend == "plotly" else "matplotlib"
            raise ImportError(f"optuna.visualization's {backend} plots need {package}: pip install {package}")
        for kind in kinds:
            plot = getattr(module, f"plot_{kind}")
            kwargs = {"target_name": objective} if kind not in ("intermediate_values", "timeline") else {}
            try:
                figures[kind] = plot(study, **kwargs)
            except (ValueError, RuntimeError):
                continue  # too few finished trials (or parameters) for this plot yet
    return figures

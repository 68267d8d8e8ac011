"""``TunerResults``: what a :class:`~loom.tuning.Tuner` search found, read back from its study.

The trials (as :class:`~loom.tuning.results.TrialResult`, best first), the best hyperparameters and value,
the trained models of saved trials, tables, plots, the held-out test check (:meth:`TunerResults.evaluate_best`,
with :class:`ValidationOverfitWarning`) and ensembles of the best models. The per-trial record, ranking and
table formatting themselves are :mod:`loom.tuning.results`'s.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import optuna

from loom.errors import ConfigError
from loom.tuning import data as search_data
from loom.tuning import plots
from loom.tuning.results import TrialResult, format_table, rank
from loom.tuning.space import HyperParameters
from loom.tuning.storage import FINISHED
from loom.tuning.trial import check_model


class ValidationOverfitWarning(UserWarning):
    """The best configuration scores clearly worse on held-out test data than on the validation data."""


class TunerResults:
    """Mixin of :class:`~loom.tuning.Tuner`: result access and reporting over its study.

    It uses the tuner's ``build``, ``objective``, ``mode``, ``algorithm``, ``directory``, ``verbose``,
    ``validation_data``, ``study_name``, its private ``_fingerprint`` and ``_study()``.
    """

    @property
    def study(self) -> optuna.Study:
        """The Optuna study (loaded from the storage)."""
        return self._study()

    @property
    def trials(self) -> list[TrialResult]:
        """Every trial of the study, in trial order."""
        return [TrialResult.from_optuna(t, self.directory) for t in self._study().get_trials(deepcopy=False)]

    @property
    def completed_trials(self) -> list[TrialResult]:
        """The completed trials, best first (what ``loom.ensembles`` picks members from)."""
        return rank([t for t in self.trials if t.state == "COMPLETE"], self.mode)

    @property
    def best_trial(self) -> TrialResult:
        """The best completed trial."""
        completed = self.completed_trials
        if not completed:
            raise ConfigError(f"Study '{self.study_name}' has no completed trial yet: run tuner.search(...) first.")
        return completed[0]

    @property
    def best_params(self) -> dict:
        """The best trial's hyperparameters: ``build(HyperParameters(values=tuner.best_params))``."""
        return dict(self.best_trial.params)

    @property
    def best_value(self) -> float:
        """The best trial's objective value."""
        return self.best_trial.value

    @property
    def validation_uses(self) -> int:
        """How many configurations (complete or pruned trials) were scored on this search's validation data."""
        fingerprint = self._fingerprint
        finished = [t for t in self._study().get_trials(deepcopy=False, states=FINISHED)]
        if fingerprint is None and finished:
            fingerprint = self._study().get_trials(deepcopy=False, states=FINISHED)[0].user_attrs.get(
                "validation_fingerprint")
        return sum(1 for t in finished if t.user_attrs.get("validation_fingerprint") == fingerprint)

    def load_trial_model(self, number: int) -> Any:
        """The trained model of trial ``number``: ``build`` with its parameters plus its saved best weights."""
        matches = [t for t in self.trials if t.number == number]
        if not matches:
            raise ConfigError(f"Study '{self.study_name}' has no trial {number}; trials: "
                              f"{[t.number for t in self.trials]}.")
        trial = matches[0]
        if trial.weights_path is None or not os.path.exists(trial.weights_path):
            raise ConfigError(f"Trial {number} ({trial.state}) has no saved weights"
                              f"{' at ' + trial.weights_path if trial.weights_path else ''}: only completed trials "
                              f"keep them, on the machine that ran them (directory={self.directory!r}).")
        model = self.build(HyperParameters(values=trial.params))
        check_model(model, "build(hp)")
        if not getattr(model, "built", True):
            if self.validation_data is None:
                raise ConfigError("build(hp) returns a model without an input shape, which cannot take saved weights "
                                  "before it sees data: start it with loom.Input(shape) (or input_shape=...), or call "
                                  "search() on this Tuner first.")
            model.predict(search_data.take(self.validation_data[0], slice(0, 1)), verbose=0)
        model.load_weights(trial.weights_path)
        return model

    def best_model(self) -> Any:
        """The best trial's model with the weights of its best epoch (loaded, not retrained)."""
        return self.load_trial_model(self.best_trial.number)

    def results(self, as_frame: bool = False) -> Any:
        """Every trial ranked best first, as a list of row dicts, or a pandas DataFrame with ``as_frame=True``.

        Args:
            as_frame: return a ``pandas.DataFrame`` (default ``False``; pandas is the ``frames`` extra).

        Raises:
            ImportError: ``as_frame=True`` without pandas installed.
        """
        rows = [t.as_row(self.objective) for t in rank(self.trials, self.mode)]
        if not as_frame:
            return rows
        try:
            import pandas
        except ImportError as e:
            raise ImportError("results(as_frame=True) needs pandas: pip install 'loom[frames]' (or pandas)") from e
        return pandas.DataFrame(rows)

    def summary(self, top: int = 10) -> None:
        """Print the search's settings, its trial counts and the ``top`` trials (default 10)."""
        trials = self.trials
        states = {s: sum(t.state == s for t in trials) for s in ("COMPLETE", "PRUNED", "FAIL", "RUNNING")}
        algorithm = self.algorithm if isinstance(self.algorithm, str) else type(self.algorithm).__name__
        print(f"Search '{self.study_name}': objective {self.objective} ({self.mode}), algorithm {algorithm}, "
              f"{len(trials)} trials ({', '.join(f'{v} {k.lower()}' for k, v in states.items() if v)})")
        print(f"Configurations scored on the same validation data: {self.validation_uses}")
        print(format_table(rank(trials, self.mode), self.objective, top))

    def plot(self, directory: str | os.PathLike | None = None) -> dict[str, str]:
        """Save ``optimization_history.png`` and ``param_importances.png`` (default in the tuner's directory).

        Returns:
            ``{'history': path, 'importances': path}``; importances only with two or more completed trials.
        """
        directory = os.fspath(directory) if directory is not None else os.path.join(self.directory, self.study_name)
        os.makedirs(directory, exist_ok=True)
        paths = {"history": plots.plot_history(self.trials, self.mode, self.objective,
                                               os.path.join(directory, "optimization_history.png"))}
        importances = plots.param_importances(self._study())
        if importances:
            paths["importances"] = plots.plot_importances(importances, os.path.join(directory,
                                                                                   "param_importances.png"))
        return paths

    def figures(self, kinds: Any = None, backend: str = "plotly") -> dict[str, Any]:
        """``optuna.visualization``'s plots of the study (see :func:`loom.tuning.plots.optuna_figures`).

        Args:
            kinds: plot names from ``loom.tuning.plots.OPTUNA_PLOTS`` (default ``None``: all of them).
            backend: ``'plotly'`` (default) or ``'matplotlib'``.

        Returns:
            ``{name: figure}`` for the plots the finished trials allow.
        """
        return plots.optuna_figures(self._study(), self.objective, kinds, backend)

    def evaluate_best(self, x_test: Any, y_test: Any, tolerance: float = 0.05, **evaluate_kwargs: Any) -> dict:
        """Score the best model once on held-out test data, beside its validation score.

        The best validation score was selected among :attr:`validation_uses` configurations, so it is
        optimistic; the test score is the one to report. Warns (:class:`ValidationOverfitWarning`) when the test
        score is worse by more than ``tolerance`` (relative, default 5%).

        Returns:
            ``{'objective', 'trial', 'validation', 'test', 'gap', 'configurations_scored'}``; ``gap`` > 0 means
            the test score is worse.
        """
        best = self.best_trial
        logs = self.best_model().evaluate(x_test, y_test, verbose=0, return_dict=True, **evaluate_kwargs)
        key = self.objective[4:] if self.objective.startswith("val_") else self.objective
        if key not in logs:
            raise ConfigError(f"evaluate_best: the model's evaluate() gives {sorted(logs)}, not '{key}'.")
        test = float(logs[key])
        gap = best.value - test if self.mode == "max" else test - best.value
        report = {"objective": self.objective, "trial": best.number, "validation": best.value, "test": test,
                  "gap": gap, "configurations_scored": self.validation_uses}
        if self.verbose:
            print(f"[tuner] best trial {best.number}: validation {self.objective}={best.value:.4f}, test {key}="
                  f"{test:.4f} (chosen among {report['configurations_scored']} configurations)")
        if gap > tolerance * max(abs(best.value), 1e-12):
            warnings.warn(f"The best configuration scores {key}={test:.4f} on the test data but {best.value:.4f} on "
                          f"the validation data it was chosen on among {report['configurations_scored']} "
                          f"configurations: the search has partly fitted the validation set. Report the test score, "
                          f"and prefer cross-validation (cv=k) or more validation data.", ValidationOverfitWarning,
                          stacklevel=2)
        return report

    def ensemble(self, top_k: int = 5, method: str = "caruana", diversity: Any = None, **kwargs: Any) -> Any:
        """An ensemble of the best trials' models (:func:`loom.ensembles.from_search.ensemble_from_tuner`)."""
        from loom.ensembles.from_search import ensemble_from_tuner
        return ensemble_from_tuner(self, top_k=top_k, method=method, diversity=diversity, **kwargs)

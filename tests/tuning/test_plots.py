"""Plots: the optimization history and parameter importances as PNG files."""

import optuna
import pytest

from loom.tuning.plots import param_importances, plot_history, plot_importances
from loom.tuning.results import TrialResult

pytest.importorskip("matplotlib")


def _is_png(path):
    with open(path, "rb") as f:
        return f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_history_plot_with_complete_and_pruned_trials(tmp_path):
    trials = [TrialResult(0, "COMPLETE", 0.5, {}), TrialResult(1, "PRUNED", 0.2, {}),
              TrialResult(2, "COMPLETE", 0.7, {}), TrialResult(3, "FAIL", None, {})]
    path = plot_history(trials, "max", "val_acc", str(tmp_path / "h.png"))
    assert _is_png(path)
    assert [p.name for p in tmp_path.iterdir()] == ["h.png"]  # written atomically, no temporary left


def test_importances_find_the_parameter_that_matters(tmp_path):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("matters", 0, 1) * 10 + t.suggest_float("noise", 0, 1) * 0.1,
                   n_trials=30)
    importances = param_importances(study)
    assert list(importances)[0] == "matters" and importances["matters"] > 0.8
    assert _is_png(plot_importances(importances, str(tmp_path / "i.png")))


def test_importances_need_two_completed_trials():
    study = optuna.create_study()
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    assert param_importances(study) == {}

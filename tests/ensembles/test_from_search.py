from types import SimpleNamespace

import numpy as np
import pytest

from loom.ensembles import Ensemble, ensemble_from_tuner
from loom.ensembles.from_search import best_trials
from loom.errors import ConfigError
from tests.ensembles.helpers import constant, noisy_member

Y_VAL = np.random.RandomState(0).randint(0, 3, 150)
X_VAL = np.zeros((150, 1))


class FakeTuner:
    """What loom.tuning.Tuner offers ensembles: study.trials (FrozenTrial-like), load_trial_model, validation_data."""

    def __init__(self, predictions, values, states=None, direction="MINIMIZE"):
        states = states or ["COMPLETE"] * len(values)
        trials = [SimpleNamespace(number=i, value=v, state=SimpleNamespace(name=s), params={"units": 8 * (i + 1)})
                  for i, (v, s) in enumerate(zip(values, states))]
        self.study = SimpleNamespace(trials=trials, direction=SimpleNamespace(name=direction))
        self.predictions = predictions
        self.validation_data = (X_VAL, Y_VAL)
        self.loaded = []

    def load_trial_model(self, number):
        self.loaded.append(number)
        return constant(self.predictions[number], f"model_{number}")


def _quality_ladder():
    """Trials 0..4, better and better on the validation data; values are their validation losses."""
    preds = [noisy_member(Y_VAL, 3, acc, seed) for seed, acc in enumerate([0.5, 0.6, 0.7, 0.8, 0.9])]
    values = [Ensemble([constant(p, "p")]).evaluate(X_VAL, Y_VAL) for p in preds]
    return preds, values


def test_top_k_best_trials_become_a_fitted_caruana_ensemble():
    preds, values = _quality_ladder()
    tuner = FakeTuner(preds, values, states=["COMPLETE", "PRUNED", "COMPLETE", "COMPLETE", "COMPLETE"])
    ensemble = ensemble_from_tuner(tuner, top_k=3)
    assert ensemble.names == ["trial_4", "trial_3", "trial_2"]
    assert ensemble.fit_info["trials"] == [4, 3, 2] and ensemble.fit_info["method"] == "caruana"
    assert sorted(tuner.loaded) == [2, 3, 4]
    assert ensemble.evaluate(X_VAL, Y_VAL) <= min(values)


def test_direction_maximize_and_mean_needs_no_validation_data():
    preds, values = _quality_ladder()
    accuracies = [-v for v in values]  # higher is better now
    tuner = FakeTuner(preds, accuracies, direction="MAXIMIZE")
    tuner.validation_data = None
    ensemble = ensemble_from_tuner(tuner, top_k=2, method="mean")
    assert ensemble.fit_info["trials"] == [4, 3] and ensemble.method == "mean"
    with pytest.raises(ConfigError, match="validation data"):
        ensemble_from_tuner(tuner, top_k=2, method="weighted")
    explicit = ensemble_from_tuner(tuner, top_k=2, method="weighted", x_val=X_VAL, y_val=Y_VAL)
    assert explicit.weights is not None


def test_diversity_prefers_a_different_good_model_over_a_near_copy_of_the_best():
    best = noisy_member(Y_VAL, 3, 0.9, 1)
    copy = 0.9 * best + 0.1 * noisy_member(Y_VAL, 3, 0.3, 2)   # a little worse, same mistakes
    different = noisy_member(Y_VAL, 3, 0.88, 3)                 # worse still, other mistakes
    values = [Ensemble([constant(p, "p")]).evaluate(X_VAL, Y_VAL) for p in (best, copy, different)]
    assert values[0] < values[1] < values[2]
    tuner = FakeTuner([best, copy, different], values)
    assert ensemble_from_tuner(tuner, top_k=2, method="mean").fit_info["trials"] == [0, 1]
    diverse = ensemble_from_tuner(tuner, top_k=2, method="mean", diversity=0.5)
    assert diverse.fit_info["trials"] == [0, 2]
    greedy = ensemble_from_tuner(tuner, top_k=2, method="mean", diversity=0.0)
    assert greedy.fit_info["trials"] == [0, 1]


def test_bad_arguments_and_empty_studies():
    preds, values = _quality_ladder()
    with pytest.raises(ConfigError, match="top_k"):
        ensemble_from_tuner(FakeTuner(preds, values), top_k=0)
    with pytest.raises(ConfigError, match="diversity"):
        ensemble_from_tuner(FakeTuner(preds, values), diversity=2)
    with pytest.raises(ConfigError, match="no completed trial"):
        ensemble_from_tuner(FakeTuner(preds, values, states=["FAIL"] * 5))
    with pytest.raises(ConfigError, match="trials"):
        best_trials(object())
    nan_value = FakeTuner(preds, [float("nan")] + values[1:])
    assert [t.number for t in best_trials(nan_value)] == [4, 3, 2, 1]


def test_with_the_real_loom_tuner(tmp_path):
    tuning = pytest.importorskip("loom.tuning")
    from tests.tuning.digits import build_mlp, digits_data
    (x, y), (x_val, y_val), (x_test, y_test) = digits_data()
    tuner = tuning.Tuner(build_mlp, objective="val_loss", algorithm="random", max_trials=3, seed=0,
                         directory=tmp_path, tensorboard=False, verbose=0)
    tuner.search(x[:400], y[:400], validation_data=(x_val, y_val), epochs=2, batch_size=64)
    ensemble = tuner.ensemble(top_k=2, method="caruana")
    assert len(ensemble.members) == 2 and ensemble.fit_info["trials"][0] == tuner.best_trial.number
    best = tuner.best_model().predict(x_test, verbose=0)
    assert ensemble.predict(x_test).shape == best.shape
    assert ensemble.evaluate(x_val, y_val) <= tuner.best_value + 1e-6  # never worse on the data it was fit on

"""Tuner: results, best_model (loaded, not retrained), conditional spaces, direction, held-out check, cv, errors."""

import math
import os
import sys
import time
import types
import warnings

import numpy as np
import optuna
import pytest

import loom
from loom import layers, optimizers
from loom.errors import ConfigError, TrainingError
from loom.tuning import HyperParameters, Tuner, ValidationOverfitWarning
from tests.tuning.digits import build_conditional, build_mlp, digits_data


def _tuner(tmp_path, build=build_mlp, **kwargs):
    settings = dict(objective="val_acc", max_trials=4, pruner=None, seed=0, directory=tmp_path, tensorboard=False,
                    verbose=0)
    settings.update(kwargs)
    return Tuner(build, **settings)


def _search(tuner, samples=400, epochs=2, **kwargs):
    (x, y), val, _ = digits_data()
    tuner.search(x[:samples], y[:samples], validation_data=val, epochs=epochs, batch_size=32, **kwargs)
    return tuner


def test_best_model_reproduces_the_best_trials_validation_score(tmp_path):
    tuner = _search(_tuner(tmp_path, algorithm="random"))
    best = tuner.best_trial
    assert best.value == max(t.value for t in tuner.completed_trials) == tuner.best_value
    assert os.path.exists(best.weights_path) and best.weights_path.endswith("best.weights.safetensors")
    assert 1 <= best.best_epoch <= 2 and best.metrics["val_acc"] == best.value
    model = tuner.best_model()
    logs = model.evaluate(*tuner.validation_data, batch_size=32, verbose=0, return_dict=True)
    assert logs["acc"] == pytest.approx(best.value, abs=1e-6)
    assert logs["loss"] == pytest.approx(best.metrics["val_loss"], abs=1e-5)
    assert model.optimizer.iterations == 0  # loaded, not retrained
    rebuilt = build_mlp(HyperParameters(values=tuner.best_params))
    assert [w.shape for w in rebuilt.get_weights()] == [w.shape for w in model.get_weights()]


def test_conditional_space_search_and_every_trial_model_loads(tmp_path):
    tuner = _search(_tuner(tmp_path, build=build_conditional, algorithm="tpe", max_trials=6))
    depths = set()
    for trial in tuner.completed_trials:
        depth = trial.params["layers"]
        depths.add(depth)
        assert ("units_1" in trial.params) == (depth == 2) and "units_0" in trial.params
        model = tuner.load_trial_model(trial.number)
        assert len([l for l in model.layers if isinstance(l, layers.Dense)]) == depth + 1
        acc = model.evaluate(*tuner.validation_data, batch_size=32, verbose=0, return_dict=True)["acc"]
        assert acc == pytest.approx(trial.value, abs=1e-6)
    assert depths == {1, 2}


def test_results_summary_and_plots(tmp_path, capsys):
    tuner = _search(_tuner(tmp_path, algorithm="random"))
    rows = tuner.results()
    assert [r["trial"] for r in rows] == [t.number for t in tuner.completed_trials]
    assert set(rows[0]) >= {"trial", "state", "val_acc", "best_epoch", "epochs", "seconds", "units", "lr"}
    tuner.summary(top=2)
    out = capsys.readouterr().out
    assert "objective val_acc (max)" in out and "4 complete" in out
    assert "scored on the same validation data: 4" in out
    assert len([line for line in out.splitlines() if "COMPLETE" in line]) == 2
    paths = tuner.plot()
    assert set(paths) == {"history", "importances"}
    for path in paths.values():
        with open(path, "rb") as f:
            assert f.read(4) == b"\x89PNG"


def test_direction_follows_the_objective(tmp_path):
    assert _tuner(tmp_path, objective="val_acc").mode == "max"
    assert _tuner(tmp_path, objective="val_loss", study_name="a").mode == "min"
    assert _tuner(tmp_path, objective="val_mae", study_name="b").mode == "min"
    assert _tuner(tmp_path, objective="val_score", direction="maximize", study_name="c").mode == "max"
    with pytest.raises(ConfigError, match="direction='min'"):
        _tuner(tmp_path, objective="val_score")
    with pytest.raises(ConfigError, match="direction must be"):
        _tuner(tmp_path, direction="up")


def test_training_objective_warns(tmp_path):
    with pytest.warns(UserWarning, match="training metric"):
        _tuner(tmp_path, objective="acc")


def test_evaluate_best_reports_test_score_and_warns_on_a_large_gap(tmp_path):
    tuner = _search(_tuner(tmp_path, algorithm="random"))
    _, _, (x_test, y_test) = digits_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ValidationOverfitWarning)
        report = tuner.evaluate_best(x_test, y_test, tolerance=0.5)
    assert report["configurations_scored"] == 4 and report["trial"] == tuner.best_trial.number
    assert report["validation"] == tuner.best_value
    assert report["gap"] == pytest.approx(report["validation"] - report["test"])
    shuffled = np.random.RandomState(0).permutation(y_test)
    with pytest.warns(ValidationOverfitWarning, match="among 4 configurations"):
        report = tuner.evaluate_best(x_test, shuffled)
    assert report["test"] < 0.3


def test_validation_uses_counts_configurations_per_validation_set(tmp_path):
    tuner = _search(_tuner(tmp_path, algorithm="random", max_trials=3))
    assert tuner.validation_uses == 3
    (x, y), val, _ = digits_data()
    other = _tuner(tmp_path, algorithm="random", max_trials=5)
    other.search(x[:300], y[:300], validation_data=(val[0][:100], val[1][:100]), epochs=1)
    assert other.validation_uses == 2 and len(other.trials) == 5
    assert _tuner(tmp_path).validation_uses == 3  # a new Tuner uses the first trial's validation data


def test_validation_split_holds_out_the_last_fraction_once(tmp_path):
    (x, y), _, _ = digits_data()
    tuner = _tuner(tmp_path, algorithm="random", max_trials=2)
    tuner.search(x[:500], y[:500], validation_split=0.2, epochs=1)
    x_val, y_val = tuner.validation_data
    np.testing.assert_array_equal(x_val, x[400:500])
    assert tuner.validation_uses == 2


def test_cross_validation_scores_the_mean_of_the_folds(tmp_path):
    (x, y), _, _ = digits_data()
    tuner = _tuner(tmp_path, algorithm="random", max_trials=2)
    tuner.search(x[:300], y[:300], cv=3, epochs=1, batch_size=32)
    for trial in tuner.completed_trials:
        assert len(trial.fold_values) == 3
        assert trial.value == pytest.approx(sum(trial.fold_values) / 3)
    assert len(tuner.validation_data[0]) == 100
    model = tuner.best_model()  # the first fold's model
    acc = model.evaluate(*tuner.validation_data, batch_size=32, verbose=0, return_dict=True)["acc"]
    assert acc == pytest.approx(tuner.best_trial.fold_values[0], abs=1e-6)
    with pytest.raises(ConfigError, match="cv="):
        tuner.search(x, y, cv=3, validation_split=0.2)


def test_search_without_validation_data_is_refused(tmp_path):
    (x, y), _, _ = digits_data()
    with pytest.raises(ConfigError, match="validation_data"):
        _tuner(tmp_path).search(x, y, epochs=1)


def test_missing_objective_lists_the_logged_metrics(tmp_path):
    tuner = _tuner(tmp_path, objective="val_auc")
    with pytest.raises(ConfigError, match=r"\['acc', 'loss', 'val_acc', 'val_loss'\]"):
        _search(tuner, samples=100, epochs=1)
    assert [t.state for t in tuner.trials] == ["FAIL"]


def test_build_must_return_a_compiled_model(tmp_path):
    def build(hp):
        return loom.Sequential([loom.Input((64,)), layers.Dense(hp.Int("units", 1, 4))])
    with pytest.raises(ConfigError, match="not compiled"):
        _search(_tuner(tmp_path, build=build), samples=100, epochs=1)


def test_nan_trials_fail_and_the_search_gives_up_after_too_many(tmp_path):
    def build(hp):
        model = loom.Sequential([loom.Input((64,)), layers.Dense(1)])
        model.compile(optimizer=optimizers.SGD(learning_rate=hp.Float("lr", 1e8, 1e9)), loss="mse")
        return model
    (x, y), val, _ = digits_data()
    tuner = _tuner(tmp_path, build=build, objective="val_loss", max_consecutive_failures=2)
    with pytest.raises(TrainingError, match="2 trials in a row failed"):
        tuner.search(x[:200], y[:200].astype("float32"), validation_data=(val[0], val[1].astype("float32")), epochs=2)
    assert [t.state for t in tuner.trials] == ["FAIL", "FAIL"]
    assert all("NaN" in t.fail_reason or "infinite" in t.fail_reason for t in tuner.trials)


def test_rerun_resumes_and_overwrite_restarts(tmp_path):
    _search(_tuner(tmp_path, algorithm="random", max_trials=3), samples=100, epochs=1)
    again = _search(_tuner(tmp_path, algorithm="random", max_trials=3), samples=100, epochs=1)
    assert len(again.trials) == 3  # already done: nothing runs
    more = _search(_tuner(tmp_path, algorithm="random", max_trials=5), samples=100, epochs=1)
    assert len(more.trials) == 5
    fresh = _tuner(tmp_path, algorithm="random", max_trials=2, overwrite=True)
    assert fresh.trials == []
    with pytest.raises(ConfigError, match="optimizes val_acc, not val_auc"):
        _tuner(tmp_path, objective="val_auc").trials
    with pytest.raises(ConfigError, match="exists and maximizes"):
        _tuner(tmp_path, objective="val_loss").trials


def test_each_trial_logs_to_tensorboard_with_its_hyperparameters(tmp_path):
    tuner = _search(_tuner(tmp_path, algorithm="random", max_trials=2, tensorboard=True), samples=100, epochs=1)
    for trial in tuner.trials:
        trial_dir = os.path.join(tmp_path, "build_mlp", f"trial_{trial.number:04d}")
        assert {"train", "validation", "hparams"} <= set(os.listdir(trial_dir))
        hparams_dir = os.path.join(trial_dir, "hparams")
        root_events = [f for f in os.listdir(hparams_dir) if f.startswith("events.out")]
        with open(os.path.join(hparams_dir, root_events[0]), "rb") as f:
            content = f.read()
        assert b"_hparams_/session_start_info" in content and b"units" in content and b"lr" in content


def test_timeout_stops_starting_trials(tmp_path):
    class Slow(loom.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            time.sleep(0.3)

    tuner = _tuner(tmp_path, algorithm="random", max_trials=50, timeout=0.5)
    _search(tuner, samples=64, epochs=2, callbacks=[Slow()])
    assert 1 <= len(tuner.trials) <= 2 and all(t.state == "COMPLETE" for t in tuner.trials)


def test_user_callbacks_run_in_every_trial_and_do_not_keep_models(tmp_path):
    class Count(loom.callbacks.Callback):
        fits = 0

        def on_train_begin(self, logs=None):
            Count.fits += 1

    counter = Count()
    _search(_tuner(tmp_path, algorithm="random", max_trials=3), samples=100, epochs=1, callbacks=[counter])
    assert Count.fits == 3 and counter.model is None


def test_ensemble_calls_loom_ensembles_lazily(tmp_path, monkeypatch):
    tuner = _tuner(tmp_path)
    calls = []
    fake = types.ModuleType("loom.ensembles.from_search")
    fake.ensemble_from_tuner = lambda t, **kw: calls.append((t, kw)) or "ensemble"
    monkeypatch.setitem(sys.modules, "loom.ensembles", types.ModuleType("loom.ensembles"))
    monkeypatch.setitem(sys.modules, "loom.ensembles.from_search", fake)
    assert tuner.ensemble(top_k=3, x_val=1) == "ensemble"
    assert calls == [(tuner, {"top_k": 3, "method": "caruana", "diversity": None, "x_val": 1})]


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return math.nan


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads RSS from /proc (Linux)")
def test_memory_stays_flat_over_50_trials(tmp_path):
    class RecordRss(loom.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.rss = []

        def on_train_end(self, logs=None):
            self.rss.append(_rss_mb())

    def build(hp):
        model = loom.Sequential([loom.Input((64,)), layers.Dense(hp.Int("units", 8, 64, step=8), activation="relu"),
                                 layers.Dense(10, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["acc"])
        return model

    record = RecordRss()
    tuner = _tuner(tmp_path, build=build, algorithm="random", max_trials=50, tensorboard=True)
    _search(tuner, samples=128, epochs=1, callbacks=[record])
    assert len(record.rss) == 50
    growth = record.rss[49] - record.rss[9]
    assert growth < 25, f"RSS grew by {growth:.1f} MB from trial 10 to trial 50: {record.rss}"


def test_executions_per_trial_average_models_trained_with_their_own_seeds(tmp_path):
    one = _search(_tuner(tmp_path / "one", objective="val_loss", max_trials=1), samples=200, epochs=1)
    two = _search(_tuner(tmp_path / "two", objective="val_loss", max_trials=1, executions_per_trial=2),
                  samples=200, epochs=1)
    again = _search(_tuner(tmp_path / "again", objective="val_loss", max_trials=1, executions_per_trial=2),
                    samples=200, epochs=1)
    assert one.best_params == two.best_params  # the same configuration...
    assert two.best_value != pytest.approx(one.best_value, rel=1e-6)  # ...averaged with a differently seeded model
    assert again.best_value == pytest.approx(two.best_value, rel=1e-6)  # seeded: reproducible
    model = two.best_model()  # the first execution's model, the one a single execution trains
    loss = model.evaluate(*two.validation_data, batch_size=32, verbose=0, return_dict=True)["loss"]
    assert loss == pytest.approx(one.best_value, rel=1e-5)
    with pytest.raises(ConfigError, match="executions_per_trial"):
        _tuner(tmp_path / "bad", executions_per_trial=0)


def test_a_trial_another_worker_took_for_dead_is_dropped_with_a_warning_and_redone(tmp_path):
    # What a second worker's stale-trial check does when this worker's heartbeat is late: it fails the trial.
    tuner = _tuner(tmp_path, algorithm="random", max_trials=3)
    taken = []

    def take_the_running_trial(logs=None):
        if not taken:
            study = optuna.load_study(study_name=tuner.study_name, storage=tuner._storage)
            taken.extend(t.number for t in study.get_trials() if t.state.name == "RUNNING")
            study.tell(taken[0], state=optuna.trial.TrialState.FAIL)
    with pytest.warns(UserWarning, match="trial 0 was marked failed by another worker.*redone"):
        _search(tuner, samples=200, epochs=1,
                callbacks=[loom.callbacks.LambdaCallback(on_train_begin=take_the_running_trial)])
    assert taken == [0]
    assert [t.state for t in tuner.trials] == ["FAIL", "COMPLETE", "COMPLETE", "COMPLETE"]

"""KerasTuner's API on loom's tuner: the book's tuning-chapter cells (DLwP 2nd ed. ch. 13, 3rd ed. ch. 18) run as
written with ``import loom.tuning as kt``, on scikit-learn's digits instead of MNIST, with few trials and epochs."""

import contextlib
import io
import os
import pathlib
import subprocess
import sys

import numpy as np
import optuna
import pytest

import loom as keras
import loom.tuning as kt
from loom import layers
from loom.errors import ConfigError
from tests.tuning.digits import digits_data


def book_data():
    """The book's split: train, validation (the last samples), the full training set, and test."""
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = digits_data()
    x_train_full, y_train_full = np.concatenate([x_train, x_val]), np.concatenate([y_train, y_val])
    return x_train, y_train, x_val, y_val, x_train_full, y_train_full, x_test, y_test


# The book's model-building function, as written (3rd edition, listing 18.1; the 2nd edition's is the same).
def build_model(hp):
    units = hp.Int(name="units", min_value=16, max_value=64, step=16)
    model = keras.Sequential(
        [
            layers.Dense(units, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    optimizer = hp.Choice(name="optimizer", values=["rmsprop", "adam"])
    model.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


# The book's HyperModel, as written (its __init__ does not call super().__init__).
class SimpleMLP(kt.HyperModel):
    def __init__(self, num_classes):
        self.num_classes = num_classes

    def build(self, hp):
        units = hp.Int(name="units", min_value=16, max_value=64, step=16)
        model = keras.Sequential(
            [
                layers.Dense(units, activation="relu"),
                layers.Dense(self.num_classes, activation="softmax"),
            ]
        )
        optimizer = hp.Choice(name="optimizer", values=["rmsprop", "adam"])
        model.compile(
            optimizer=optimizer,
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model


def printed(function, *args, **kwargs) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        function(*args, **kwargs)
    return out.getvalue()


def test_book_chapter_cells_run_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tuner = kt.BayesianOptimization(
        build_model,
        objective="val_accuracy",
        max_trials=3,  # the book: 20 (3rd ed.), 100 (2nd ed.)
        executions_per_trial=2,
        directory="mnist_kt_test",
        overwrite=True,
        seed=0,  # added: a deterministic test
    )
    summary = printed(tuner.search_space_summary)
    assert summary.splitlines()[:2] == ["Search space summary", "Default search space size: 2"]
    assert "units (Int)\n{'default': 16, 'conditions': [], 'min_value': 16, 'max_value': 64, 'step': 16, " \
           "'sampling': 'linear'}" in summary
    assert "optimizer (Choice)\n{'default': 'rmsprop', 'conditions': [], 'values': ['rmsprop', 'adam'], " \
           "'ordered': False}" in summary

    x_train, y_train, x_val, y_val, x_train_full, y_train_full, x_test, y_test = book_data()
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=5),
    ]
    tuner.search(
        x_train,
        y_train,
        batch_size=128,
        epochs=2,  # the book: 100
        validation_data=(x_val, y_val),
        callbacks=callbacks,
        verbose=2,
    )
    assert os.path.exists(os.path.join("mnist_kt_test", "untitled_project", "study.db"))

    top_n = 2  # the book: 4
    best_hps = tuner.get_best_hyperparameters(top_n)
    assert len(best_hps) == top_n
    for hp in best_hps:
        assert hp.get("units") in (16, 32, 48, 64) and hp["optimizer"] in ("rmsprop", "adam")
    scores = [t.value for t in tuner.tuner.completed_trials]
    assert scores == sorted(scores, reverse=True) and all(0.0 <= s <= 1.0 for s in scores)

    def get_best_epoch(hp):
        model = build_model(hp)
        callbacks = [
            keras.callbacks.EarlyStopping(
                monitor="val_loss", mode="min", patience=10
            )
        ]
        history = model.fit(
            x_train,
            y_train,
            validation_data=(x_val, y_val),
            epochs=3,  # the book: 100
            batch_size=128,
            callbacks=callbacks,
            verbose=0,  # added: quiet test output
        )
        val_loss_per_epoch = history.history["val_loss"]
        best_epoch = val_loss_per_epoch.index(min(val_loss_per_epoch)) + 1
        print(f"Best epoch: {best_epoch}")
        return best_epoch

    def get_best_trained_model(hp):
        best_epoch = get_best_epoch(hp)
        model = build_model(hp)
        model.fit(
            x_train_full, y_train_full, batch_size=128, epochs=int(best_epoch * 1.2), verbose=0
        )
        return model

    best_models = []
    for hp in best_hps:
        model = get_best_trained_model(hp)
        loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
        assert np.isfinite(loss) and 0.0 <= accuracy <= 1.0
        best_models.append(model)

    best_models = tuner.get_best_models(top_n)
    assert len(best_models) == top_n
    for model, hp in zip(best_models, best_hps):
        assert model.layers[0].units == hp.get("units")
        assert model.predict(x_test[:5], verbose=0).shape == (5, 10)


def test_book_hypermodel_subclass_and_results_summary(tmp_path):
    hypermodel = SimpleMLP(num_classes=10)
    tuner = kt.RandomSearch(hypermodel, objective=kt.Objective("val_accuracy", direction="max"), max_trials=2,
                            directory=str(tmp_path), project_name="mlp", seed=1)
    x_train, y_train, x_val, y_val, *_ = book_data()
    tuner.search(x_train, y_train, epochs=1, validation_data=(x_val, y_val), verbose=0, batch_size=128)
    assert tuner.hypermodel is hypermodel

    best_hp = tuner.get_best_hyperparameters()[0]
    model = tuner.hypermodel.build(best_hp)
    model.fit(x_train, y_train, epochs=1, verbose=0)
    assert model.layers[-1].units == 10 and model.layers[0].units == best_hp.values["units"]

    text = printed(tuner.results_summary)
    lines = text.splitlines()
    assert lines[:4] == ["Results summary", f"Results in {os.path.join(str(tmp_path), 'mlp')}",
                         "Showing 10 best trials", 'Objective(name="val_accuracy", direction="max")']
    best = tuner.tuner.best_trial
    assert f"Trial {best.number:02d} summary\nHyperparameters:\nunits: {best.params['units']}\n" \
           f"optimizer: {best.params['optimizer']}\nScore: {best.value}" in text
    assert text.count("summary\nHyperparameters:") == 2


def test_get_best_models_evaluate_to_the_trial_score(tmp_path):
    x_train, y_train, x_val, y_val, *_ = book_data()
    tuner = kt.RandomSearch(build_model, objective="val_accuracy", max_trials=2, seed=3, directory=str(tmp_path))
    tuner.search(x_train, y_train, epochs=3, validation_data=(x_val, y_val), verbose=0, batch_size=128)
    models = tuner.get_best_models(num_models=2)
    for model, trial in zip(models, tuner.tuner.completed_trials):
        _, accuracy = model.evaluate(x_val, y_val, verbose=0)
        assert accuracy == pytest.approx(trial.value, abs=1e-6)


def test_overwrite_false_resumes_the_project(tmp_path):
    x_train, y_train, x_val, y_val, *_ = book_data()
    options = dict(objective="val_accuracy", directory=str(tmp_path), project_name="resumed", seed=0)
    first = kt.RandomSearch(build_model, max_trials=2, **options)
    first.search(x_train, y_train, epochs=1, validation_data=(x_val, y_val), verbose=0, batch_size=128)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        tuner = kt.RandomSearch(build_model, max_trials=3, **options)
    assert out.getvalue() == f"Reloading Tuner from {os.path.join(str(tmp_path), 'resumed')}\n"
    assert len(tuner.tuner.completed_trials) == 2 and tuner.remaining_trials == 1
    tuner.search(x_train, y_train, epochs=1, validation_data=(x_val, y_val), verbose=0, batch_size=128)
    assert [t.number for t in tuner.tuner.trials] == [0, 1, 2] and tuner.remaining_trials == 0

    fresh = kt.RandomSearch(build_model, max_trials=3, overwrite=True, **options)
    assert fresh.tuner.trials == [] and fresh.remaining_trials == 3


def test_hyperband_uses_max_epochs_and_factor(tmp_path):
    x_train, y_train, x_val, y_val, *_ = book_data()
    tuner = kt.Hyperband(build_model, objective="val_accuracy", max_epochs=3, factor=3, seed=0,
                         directory=str(tmp_path))
    assert tuner.max_trials == kt.kerastuner.hyperband_trials(3, 3) == 5
    assert isinstance(tuner.tuner.pruner, optuna.pruners.HyperbandPruner)
    # search's epochs give way to max_epochs, as in KerasTuner
    tuner.search(x_train, y_train, epochs=50, validation_data=(x_val, y_val), verbose=0, batch_size=128)
    trials = tuner.tuner.trials
    assert len(trials) == 5 and all(t.state in ("COMPLETE", "PRUNED") for t in trials)
    assert all(1 <= t.epochs_run <= 3 for t in trials)
    assert all(t.epochs_run == 3 for t in trials if t.state == "COMPLETE")
    assert kt.kerastuner.hyperband_trials(100, 3) == 172 and kt.kerastuner.hyperband_trials(10, 2) == 27


def build_conditional(hp):
    """KerasTuner's model-selection pattern: each branch's hyperparameters live under its conditional scope."""
    model_type = hp.Choice("model_type", ["shallow", "deep"])
    model = keras.Sequential([keras.Input((64,)), layers.Dense(16, activation="relu")])
    with hp.conditional_scope("model_type", ["deep"]):
        extra_units = hp.Int("extra_units", 8, 24, step=8)  # None unless model_type == "deep"
        if model_type == "deep":
            model.add(layers.Dense(extra_units, activation="relu"))
    if hp.Boolean("dropout", parent_name="model_type", parent_values=["shallow"]):
        model.add(layers.Dropout(0.2))
    model.add(layers.Dense(10, activation="softmax"))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_conditional_scope_is_active_only_under_its_parent_value(tmp_path):
    hp = kt.HyperParameters(values={"model_type": "shallow"})
    build_conditional(hp)
    assert hp.values == {"model_type": "shallow", "dropout": False} and "extra_units" in hp.space
    assert "extra_units" not in hp
    with pytest.raises(ConfigError, match="inactive"):
        hp.get("extra_units")
    hp = kt.HyperParameters(values={"model_type": "deep", "extra_units": 24})
    assert len(build_conditional(hp).layers) == 3 and hp.values == {"model_type": "deep", "extra_units": 24}

    tuner = kt.RandomSearch(build_conditional, objective="val_accuracy", max_trials=6, seed=0,
                            directory=str(tmp_path))
    summary = printed(tuner.search_space_summary)
    assert "Default search space size: 3" in summary
    assert "extra_units (Int)\n{'default': 8, 'conditions': [{'class_name': 'Parent', 'config': {'name': " \
           "'model_type', 'values': ['deep']}}]" in summary
    x_train, y_train, x_val, y_val, *_ = book_data()
    tuner.search(x_train, y_train, epochs=1, validation_data=(x_val, y_val), verbose=0, batch_size=128)
    params = [t.params for t in tuner.tuner.trials]
    assert {p["model_type"] for p in params} == {"shallow", "deep"}
    for p in params:
        assert ("extra_units" in p) == (p["model_type"] == "deep")
        assert ("dropout" in p) == (p["model_type"] == "shallow")


def test_grid_search_tries_every_combination(tmp_path):
    def build(hp):
        model = keras.Sequential([keras.Input((64,)), layers.Dense(hp.Int("units", 8, 20, step=8)),
                                  layers.Dense(10, activation="softmax")])
        model.compile(optimizer=hp.Choice("optimizer", ["sgd", "adam"]), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model

    tuner = kt.GridSearch(build, objective="val_loss", directory=str(tmp_path), seed=0)
    assert tuner.remaining_trials == 4
    x_train, y_train, x_val, y_val, *_ = book_data()
    tuner.search(x_train, y_train, epochs=1, validation_data=(x_val, y_val), verbose=0, batch_size=128)
    combos = sorted((t.params["units"], t.params["optimizer"]) for t in tuner.tuner.trials)
    assert combos == [(8, "adam"), (8, "sgd"), (16, "adam"), (16, "sgd")]  # 20 is off the step grid
    assert tuner.remaining_trials == 0


class TunedBatchSize(kt.HyperModel):
    """KerasTuner's way to tune training: ``fit`` draws a hyperparameter and calls ``model.fit``."""

    def build(self, hp):
        return build_model(hp)

    def fit(self, hp, model, *args, **kwargs):
        return model.fit(*args, batch_size=hp.Choice("batch_size", [32, 128]), **kwargs)


def test_hypermodel_fit_tunes_training_arguments(tmp_path):
    tuner = kt.RandomSearch(TunedBatchSize(), objective="val_accuracy", max_trials=2, seed=0,
                            directory=str(tmp_path))
    x_train, y_train, x_val, y_val, *_ = book_data()
    tuner.search(x_train, y_train, epochs=1, validation_split=0.2, verbose=0)
    best = tuner.get_best_hyperparameters()[0]
    assert sorted(best.values) == ["batch_size", "optimizer", "units"] and best["batch_size"] in (32, 128)


def test_kerastuner_hyperparameter_signatures_sample_their_grids():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(30):
        hp = kt.HyperParameters(trial=study.ask())
        assert hp.Int(name="units", min_value=16, max_value=64, step=16) in (16, 32, 48, 64)
        assert hp.Int("layers", 6, 13, step=3) in (6, 9, 12)
        assert hp.Int("batch", 16, 128, step=2, sampling="log") in (16, 32, 64, 128)
        assert 1e-4 <= hp.Float("lr", min_value=1e-4, max_value=1e-2, sampling="log") <= 1e-2
        assert hp.Float("dropout", 0.0, 0.5, step=0.25) in (0.0, 0.25, 0.5)
        assert isinstance(hp.Boolean("bn"), bool) and hp.Fixed("seed", 7) == 7
    hp = kt.HyperParameters()
    assert (hp.Int("units", min_value=16, max_value=64, step=16), hp.Float("lr", 1e-4, 1e-2, sampling="log"),
            hp.Choice("act", ["relu", "tanh"]), hp.Choice("norm", ["batch", None])) == (16, 1e-4, "relu", None)
    assert hp.Int("units", low=16, high=64, step=16) == 16  # loom's names still work
    assert kt.HyperParameters(values={"batch": 64}).Int("batch", 16, 128, step=2, sampling="log") == 64


def test_objectives_and_bad_arguments(tmp_path):
    directory = str(tmp_path)
    assert kt.RandomSearch(build_model, directory=directory).objective == kt.Objective("val_loss", "min")
    assert str(kt.GridSearch(build_model, objective="val_accuracy", directory=directory).objective) == \
        'Objective(name="val_accuracy", direction="max")'
    with pytest.raises(ConfigError, match="direction must be 'min' or 'max'"):
        kt.Objective("val_accuracy", direction="up")
    with pytest.raises(ConfigError, match="several objectives"):
        kt.RandomSearch(build_model, objective=["val_loss", "val_accuracy"], directory=directory)
    with pytest.raises(ConfigError, match="hypermodel must be"):
        kt.RandomSearch(objective="val_loss", directory=directory)
    with pytest.raises(ConfigError, match="unknown argument"):
        kt.RandomSearch(build_model, max_trial=3, directory=directory)
    with pytest.raises(ConfigError, match="not supported"):
        kt.RandomSearch(build_model, hyperparameters=kt.HyperParameters(), directory=directory)
    with pytest.raises(ConfigError, match="factor"):
        kt.Hyperband(build_model, max_epochs=10, factor=1, directory=directory)
    tuner = kt.RandomSearch(build_model, directory=directory)
    with pytest.raises(ConfigError, match="verbose"):
        tuner.search(np.zeros((8, 4)), np.zeros(8), verbose=-1)
    with pytest.raises(ConfigError, match="pass the training data"):
        tuner.search(epochs=2)
    with pytest.raises(NotImplementedError, match="build"):
        kt.HyperModel().build(kt.HyperParameters())


@pytest.mark.slow
def test_kerastuner_example_runs_with_smoke(tmp_path):
    script = pathlib.Path(__file__).parents[2] / "examples" / "kerastuner_search.py"
    env = {**os.environ, "PYTHONPATH": str(script.parent.parent)}
    proc = subprocess.run([sys.executable, str(script), "--smoke"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, f"{script.name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    for section in ("Search space summary", "Results summary", "Best epoch:", "Hyperband's best:"):
        assert section in proc.stdout

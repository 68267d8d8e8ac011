"""Pruning: the median rule and Hyperband stop hopeless trials (counted); 'none' never does."""

import optuna
import pytest

import loom
from loom import layers, optimizers
from loom.errors import ConfigError
from loom.tuning import PruningCallback, Tuner
from loom.tuning.pruning import make_pruner
from tests.tuning.digits import digits_data

EPOCHS = 4


def build_half_hopeless(hp):
    """Half of the learning rates are far too small to learn anything in a few epochs."""
    model = loom.Sequential([loom.Input((64,)), layers.Dense(16, activation="relu"),
                             layers.Dense(10, activation="softmax")])
    lr = hp.Choice("lr", [1e-2, 3e-3, 1e-7, 1e-8])
    model.compile(optimizer=optimizers.Adam(learning_rate=lr), loss="sparse_categorical_crossentropy",
                  metrics=["acc"])
    return model


def _search(tmp_path, pruner, max_trials=10):
    (x, y), val, _ = digits_data()
    tuner = Tuner(build_half_hopeless, objective="val_acc", algorithm="random", max_trials=max_trials,
                  pruner=pruner, seed=3, directory=tmp_path, tensorboard=False, verbose=0)
    tuner.search(x[:400], y[:400], validation_data=val, epochs=EPOCHS, batch_size=32)
    return tuner


@pytest.mark.parametrize("pruner", ["median", "hyperband"])
def test_pruner_stops_hopeless_trials(pruner, tmp_path):
    tuner = _search(tmp_path, pruner)
    pruned = [t for t in tuner.trials if t.state == "PRUNED"]
    assert len(pruned) >= 2  # Hyperband ranks trials within brackets: which ones it stops is noisier
    assert len(tuner.trials) == 10  # pruned trials count toward max_trials
    for t in pruned:
        assert t.epochs_run < EPOCHS and t.pruned_at == t.epochs_run - 1
    assert tuner.best_params["lr"] > 1e-3
    if pruner == "median":
        assert sum(t.params["lr"] < 1e-6 for t in pruned) >= 1


def test_no_pruner_trains_every_epoch(tmp_path):
    tuner = _search(tmp_path, "none", max_trials=5)
    assert [t.state for t in tuner.trials] == ["COMPLETE"] * 5
    assert {t.epochs_run for t in tuner.trials} == {EPOCHS}


def test_make_pruner_names_and_instances():
    assert isinstance(make_pruner("hyperband", 9), optuna.pruners.HyperbandPruner)
    custom = optuna.pruners.PercentilePruner(25.0)
    assert make_pruner(custom, 9) is custom
    with pytest.raises(ConfigError, match="median"):
        make_pruner("asha", 9)


def test_pruning_callback_reports_each_epoch_and_stops_the_model():
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=0.5))
    trial = study.ask()
    model = loom.Sequential([loom.Input((2,)), layers.Dense(1)])
    callback = PruningCallback(trial, "val_acc")
    callback.set_model(model)
    callback.on_train_begin()
    callback.on_epoch_end(0, {"val_acc": 0.7})
    callback.on_epoch_end(1, {"loss": 1.0})  # no validation this epoch: nothing reported
    assert callback.pruned_at is None and not getattr(model, "stop_training", False)
    callback.on_epoch_end(2, {"val_acc": 0.3})
    assert callback.pruned_at == 2 and model.stop_training
    assert study.trials[0].intermediate_values == {0: 0.7, 2: 0.3}

"""Every algorithm runs a real search on scikit-learn's digits and beats the default configuration."""

import pytest

import loom
from loom import layers, optimizers
from loom.errors import ConfigError
from loom.tuning import Tuner
from loom.tuning.algorithms import make_sampler, startup_trials
from tests.tuning.digits import build_mlp, default_val_acc, digits_data

EPOCHS = 3


def build_grid(hp):
    """A grid-friendly space: 2 learning rates x 3 widths (the default, lr 1e-5 with 4 units, barely learns)."""
    model = loom.Sequential([loom.Input((64,)), layers.Dense(hp.Int("units", 4, 64, step=30), activation="relu"),
                             layers.Dense(10, activation="softmax")])
    model.compile(optimizer=optimizers.Adam(learning_rate=hp.Choice("lr", [1e-5, 1e-2])),
                  loss="sparse_categorical_crossentropy", metrics=["acc"])
    return model


@pytest.mark.parametrize("algorithm", ["random", "tpe", "bayesian", "evolutionary", "nsga2", "grid"])
def test_search_beats_default_configuration(algorithm, tmp_path):
    build = build_grid if algorithm == "grid" else build_mlp
    (x, y), val, _ = digits_data()
    tuner = Tuner(build, objective="val_acc", algorithm=algorithm, max_trials=6, pruner=None, seed=0,
                  directory=tmp_path, tensorboard=False, verbose=0)
    tuner.search(x[:600], y[:600], validation_data=val, epochs=EPOCHS, batch_size=64)
    assert len(tuner.completed_trials) == 6
    assert tuner.best_value > default_val_acc(build, EPOCHS, samples=600) + 0.3
    if algorithm == "grid":  # every grid point exactly once
        points = {(t.params["units"], t.params["lr"]) for t in tuner.completed_trials}
        assert points == {(u, lr) for u in (4, 34, 64) for lr in (1e-5, 1e-2)}


def test_grid_is_capped_at_its_size(tmp_path):
    (x, y), val, _ = digits_data()
    tuner = Tuner(build_grid, objective="val_acc", algorithm="grid", max_trials=50, pruner=None,
                  directory=tmp_path, tensorboard=False, verbose=0)
    tuner.search(x[:200], y[:200], validation_data=val, epochs=1)
    assert len(tuner.trials) == 6


def test_grid_needs_steps_on_floats(tmp_path):
    tuner = Tuner(build_mlp, objective="val_acc", algorithm="grid", directory=tmp_path, verbose=0)
    (x, y), val, _ = digits_data()
    with pytest.raises(ConfigError, match="step"):
        tuner.search(x, y, validation_data=val)


def test_unknown_algorithm_lists_the_valid_ones(tmp_path):
    with pytest.raises(ConfigError, match="tpe"):
        Tuner(build_mlp, algorithm="hyperopt", directory=tmp_path)
    with pytest.raises(ConfigError, match="random"):
        make_sampler("annealing")


def test_model_based_samplers_start_with_a_third_of_the_budget_at_random():
    assert [startup_trials(n) for n in (3, 12, 60, None)] == [2, 4, 10, 10]
    sampler = make_sampler("tpe", seed=0, max_trials=12)
    assert sampler._n_startup_trials == 4

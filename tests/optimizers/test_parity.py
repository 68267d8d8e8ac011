"""Every optimizer against Keras 3 (torch backend): several steps on the same parameters and gradients."""

import pytest

from loom import optimizers, schedules
from tests.keras_oracle import keras
from tests.optimizers.helpers import assert_same_params, make_problem, run_keras, run_loom

CASES = [
    ("SGD", {}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"momentum": 0.5, "weight_decay": 0.05, "clipnorm": 0.5}),
    ("RMSprop", {}),
    ("RMSprop", {"momentum": 0.9, "centered": True}),
    ("RMSprop", {"rho": 0.8, "centered": True, "clipvalue": 0.2}),
    ("Adam", {}),
    ("Adam", {"amsgrad": True}),
    ("Adam", {"learning_rate": 0.01, "beta_1": 0.8, "epsilon": 1e-3, "weight_decay": 0.1}),
    ("Adam", {"global_clipnorm": 1.0}),
    ("AdamW", {}),
    ("AdamW", {"weight_decay": 0.1, "amsgrad": True, "clipnorm": 0.3}),
    ("Nadam", {}),
    ("Nadam", {"beta_2": 0.99, "weight_decay": 0.01, "global_clipnorm": 0.5}),
    ("Adamax", {}),
    ("Adamax", {"learning_rate": 0.01, "clipvalue": 0.5}),
    ("Adagrad", {}),
    ("Adagrad", {"initial_accumulator_value": 0.5, "learning_rate": 0.1}),
    ("Adadelta", {}),
    ("Adadelta", {"learning_rate": 1.0, "rho": 0.9, "weight_decay": 0.01}),
    ("SGD", {"loss_scale_factor": 8.0}),
    ("Lion", {}),
    ("Lion", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9, "weight_decay": 0.1}),
    ("Lamb", {}),
    ("Lamb", {"learning_rate": 0.01, "beta_1": 0.8, "epsilon": 1e-3, "global_clipnorm": 1.0}),
    ("Ftrl", {}),
    ("Ftrl", {"learning_rate": 0.1, "l1_regularization_strength": 0.01, "l2_regularization_strength": 0.02,
              "l2_shrinkage_regularization_strength": 0.01, "beta": 0.1, "learning_rate_power": -0.7}),
    ("Adafactor", {}),
    ("Adafactor", {"learning_rate": 0.01, "beta_2_decay": -0.5, "clip_threshold": 0.5, "epsilon_2": 0.1}),
    ("ScheduleFreeAdamW", {}),
    ("Muon", {}),
    ("Muon", {"learning_rate": 0.01, "nesterov": False, "rms_rate": None, "adam_lr_ratio": 0.5,
              "weight_decay": 0.1, "adam_weight_decay": 0.01, "ns_steps": 3}),
    ("ScheduleFreeAdamW", {"learning_rate": 0.01, "beta_1": 0.8, "warmup_steps": 3, "weight_decay": 0.05}),
]


@pytest.mark.parametrize("cls_name,kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_keras(cls_name, kwargs):
    init, grads = make_problem(seed=len(kwargs))
    theirs = run_keras(getattr(keras.optimizers, cls_name)(**kwargs), init, grads)
    ours = run_loom(getattr(optimizers, cls_name)(**kwargs), init, grads)
    assert_same_params(ours, theirs)


SCHEDULES = [
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 2, "decay_rate": 0.5}),
    ("PiecewiseConstantDecay", {"boundaries": [1, 3], "values": [0.1, 0.05, 0.01]}),
    ("CosineDecay", {"initial_learning_rate": 0.0, "decay_steps": 3, "warmup_target": 0.1, "warmup_steps": 2}),
]


@pytest.mark.parametrize("cls_name", ["SGD", "Adam", "Nadam"])
@pytest.mark.parametrize("schedule_name,schedule_kwargs", SCHEDULES)
def test_schedules_drive_the_rate_like_keras(cls_name, schedule_name, schedule_kwargs):
    init, grads = make_problem(seed=3)
    theirs = run_keras(getattr(keras.optimizers, cls_name)(
        learning_rate=getattr(keras.optimizers.schedules, schedule_name)(**schedule_kwargs)), init, grads)
    opt = getattr(optimizers, cls_name)(learning_rate=getattr(schedules, schedule_name)(**schedule_kwargs))
    assert_same_params(run_loom(opt, init, grads), theirs)


@pytest.mark.parametrize("cls_name", ["SGD", "RMSprop", "Adam"])
def test_learning_rate_set_mid_training_matches_keras(cls_name):
    init, grads = make_problem(seed=4, steps=6)

    def lower_at_step_3(i, optimizer):
        if i == 3:
            optimizer.learning_rate = 0.5 * optimizer.learning_rate

    theirs = run_keras(getattr(keras.optimizers, cls_name)(learning_rate=0.02, weight_decay=0.1), init, grads,
                       lower_at_step_3)
    ours = run_loom(getattr(optimizers, cls_name)(learning_rate=0.02, weight_decay=0.1), init, grads,
                    lower_at_step_3)
    assert_same_params(ours, theirs)


def test_apply_gradients_matches_keras():
    import torch
    init, grads = make_problem(seed=5)
    theirs = run_keras(keras.optimizers.Adam(amsgrad=True), init, grads)
    params = [torch.nn.Parameter(torch.tensor(x)) for x in init]
    opt = optimizers.Adam(amsgrad=True)
    for step_grads in grads:
        opt.apply_gradients(zip([torch.tensor(g) for g in step_grads], params))
    assert opt.iterations == len(grads)
    assert_same_params([p.detach().numpy() for p in params], theirs)


@pytest.mark.parametrize("exclude_layers", [None, ["head"]])
def test_muon_routes_embeddings_and_excluded_layers_to_adamw_like_keras(exclude_layers):
    import numpy as np

    import loom
    from tests.tolerance import assert_allclose_scaled

    def make(lib):
        lib.utils.set_random_seed(0)
        inputs = lib.Input((3,), dtype="int32")
        h = lib.layers.Flatten()(lib.layers.Embedding(7, 4)(inputs))
        model = lib.Model(inputs, lib.layers.Dense(1, name="head")(lib.layers.Dense(5, name="body")(h)))
        model.compile(optimizer=lib.optimizers.Muon(0.01, exclude_layers=exclude_layers), loss="mse")
        return model

    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 7, size=(16, 3)).astype("int32"), rng.normal(size=(16, 1)).astype("float32")
    theirs, ours = make(keras), make(loom)
    ours.set_weights(theirs.get_weights())
    theirs.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    ours.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        assert_allclose_scaled(a, b, rel=1e-5)

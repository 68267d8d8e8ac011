"""Gradient accumulation and weight EMA on every optimizer, against Keras 3: eager, in fit, and compiled."""

import warnings

import numpy as np
import pytest
import torch

import loom
from loom import optimizers, schedules
from loom.errors import ConfigError
from tests.keras_oracle import keras
from tests.optimizers.helpers import assert_same_params, make_problem, run_keras, run_loom
from tests.tolerance import assert_allclose_scaled

OPTIMIZERS = [("SGD", {"learning_rate": 0.1, "momentum": 0.9}), ("Adam", {"learning_rate": 0.01}),
              ("Nadam", {"learning_rate": 0.01}), ("Lion", {"learning_rate": 0.01}),
              ("Adafactor", {"learning_rate": 0.01}), ("RMSprop", {"centered": True})]
EXTRAS = [{"use_ema": True},
          {"use_ema": True, "ema_momentum": 0.5, "ema_overwrite_frequency": 2},
          {"gradient_accumulation_steps": 2},
          {"gradient_accumulation_steps": 3, "use_ema": True, "ema_momentum": 0.8, "clipnorm": 0.5,
           "weight_decay": 0.1, "loss_scale_factor": 4.0}]


def _keras_averages(opt):
    return [keras.ops.convert_to_numpy(v) for v in opt._model_variables_moving_average]


def _loom_averages(opt):
    return [opt.state[p]["average"].numpy() for p in opt._flat_params()]


@pytest.mark.parametrize("extra", EXTRAS, ids=["ema", "ema_overwrite", "accumulate", "accumulate_ema_clip"])
@pytest.mark.parametrize("cls_name,kwargs", OPTIMIZERS, ids=[c[0] for c in OPTIMIZERS])
def test_weights_and_averages_match_keras(cls_name, kwargs, extra):
    init, grads = make_problem(seed=2, steps=7)
    theirs_opt = getattr(keras.optimizers, cls_name)(**kwargs, **extra)
    ours_opt = getattr(optimizers, cls_name)(**kwargs, **extra)
    theirs, ours = run_keras(theirs_opt, init, grads), run_loom(ours_opt, init, grads)
    assert_same_params(ours, theirs, rtol=1e-5, atol=1e-6)
    assert ours_opt.iterations == int(theirs_opt.iterations) and ours_opt._iterations == 7
    if extra.get("use_ema"):
        assert_same_params(_loom_averages(ours_opt), _keras_averages(theirs_opt), rtol=1e-5, atol=1e-6)


def test_accumulation_with_a_schedule_matches_keras():
    init, grads = make_problem(seed=3, steps=6)
    make = lambda lib: lib.optimizers.Adam(  # noqa: E731
        lib.optimizers.schedules.ExponentialDecay(0.1, 1, 0.5), gradient_accumulation_steps=2)
    assert_same_params(run_loom(make(loom), init, grads), run_keras(make(keras), init, grads))


def test_state_round_trip_keeps_averages_and_accumulators():
    init, grads = make_problem(seed=4, steps=5)
    opt = optimizers.Adam(0.01, use_ema=True, gradient_accumulation_steps=2)
    params = [torch.nn.Parameter(torch.tensor(x)) for x in init]
    run_loom(opt, init, grads[:3], params=params)
    state = opt.get_state_tensors()
    assert {"0.average", "0.gradient_accumulator"} <= set(state)
    clone_params = [torch.nn.Parameter(p.detach().clone()) for p in params]
    clone = optimizers.Adam(0.01, use_ema=True, gradient_accumulation_steps=2)
    clone.build(clone_params)
    clone.set_state_tensors(state)
    a = run_loom(opt, init, grads[3:], params=params)
    b = run_loom(clone, init, grads[3:], params=clone_params)
    assert_same_params(a, b, rtol=0, atol=0)
    assert_same_params(_loom_averages(opt), _loom_averages(clone), rtol=0, atol=0)


def test_config_round_trip_and_keras_config_load():
    opt = optimizers.Lion(use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=5, gradient_accumulation_steps=4)
    config = opt.get_config()
    assert config["use_ema"] is True and config["gradient_accumulation_steps"] == 4
    theirs = keras.optimizers.Lion(use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=5,
                                   gradient_accumulation_steps=4).get_config()
    assert {k: v for k, v in config.items() if k not in ("name", "learning_rate")} == {
        k: v for k, v in theirs.items() if k not in ("name", "learning_rate")}
    assert optimizers.deserialize(keras.optimizers.serialize(keras.optimizers.Lion(**{
        k: config[k] for k in ("use_ema", "gradient_accumulation_steps")}))).gradient_accumulation_steps == 4


@pytest.mark.parametrize("kwargs,match", [
    ({"gradient_accumulation_steps": 1}, r"gradient_accumulation_steps.*>= 2.*=1"),
    ({"gradient_accumulation_steps": 0}, "gradient_accumulation_steps=0"),
    ({"gradient_accumulation_steps": 2.5}, "gradient_accumulation_steps=2.5"),
    ({"use_ema": True, "ema_momentum": 1.5}, r"ema_momentum.*\[0, 1\].*1.5"),
    ({"use_ema": True, "ema_overwrite_frequency": 0}, "ema_overwrite_frequency=0"),
])
def test_bad_values_are_config_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        optimizers.Adam(**kwargs)


def _fit(lib, optimizer_kwargs, jit_compile=False, epochs=2):
    lib.utils.set_random_seed(0)
    inputs = lib.Input((4,))
    model = lib.Model(inputs, lib.layers.Dense(1)(lib.layers.Dense(3, activation="tanh")(inputs)))
    kwargs = {"jit_compile": jit_compile} if lib is loom else {}
    model.compile(optimizer=lib.optimizers.Adam(**optimizer_kwargs), loss="mse", **kwargs)
    return model


@pytest.mark.parametrize("jit_compile", [False, True], ids=["eager", "compiled"])
def test_fit_with_ema_and_accumulation_matches_keras(jit_compile):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(24, 4)).astype("float32"), rng.normal(size=(24, 1)).astype("float32")
    config = {"learning_rate": 0.05, "use_ema": True, "ema_momentum": 0.7, "gradient_accumulation_steps": 2}
    theirs, ours = _fit(keras, config), _fit(loom, config, jit_compile=jit_compile)
    ours.set_weights(theirs.get_weights())
    k_hist = theirs.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0).history["loss"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        l_hist = ours.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0).history["loss"]
    assert not [w for w in caught if "continues eagerly" in str(w.message)]  # the update ran in the graph
    assert_allclose_scaled(l_hist, k_hist, rel=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):  # both end on the averages
        assert_allclose_scaled(a, b, rel=1e-5)
    assert ours.optimizer.iterations == int(theirs.optimizer.iterations) == 6

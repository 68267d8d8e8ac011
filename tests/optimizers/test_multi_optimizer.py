"""MultiOptimizer and OptimizerMap against Keras 3: routing by weight path, updates, configs, errors."""

import numpy as np
import pytest

import loom
from loom import optimizers
from loom.errors import ConfigError
from tests.keras_oracle import keras
from tests.tolerance import assert_allclose_scaled


def _model(lib):
    lib.utils.set_random_seed(0)
    inputs = lib.Input((4,))
    h = lib.layers.Dense(5, activation="tanh", name="body")(inputs)
    model = lib.Model(inputs, lib.layers.Dense(1, name="head")(h))
    optimizer_map = lib.optimizers.OptimizerMap(lib.optimizers.Adam(0.01),
                                                {"head/.*": lib.optimizers.SGD(0.1, momentum=0.9),
                                                 "body/bias": lib.optimizers.Lion(0.001, use_ema=True)})
    model.compile(optimizer=lib.optimizers.MultiOptimizer(optimizer_map), loss="mse")
    return model


@pytest.mark.parametrize("jit_compile", [False, True], ids=["eager", "compiled"])
def test_fit_matches_keras(jit_compile):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(24, 4)).astype("float32"), rng.normal(size=(24, 1)).astype("float32")
    theirs, ours = _model(keras), _model(loom)
    if jit_compile:
        ours.compile(optimizer=ours.optimizer, loss="mse", jit_compile=True)
    ours.set_weights(theirs.get_weights())
    k_hist = theirs.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0).history["loss"]
    l_hist = ours.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0).history["loss"]
    assert_allclose_scaled(l_hist, k_hist, rel=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        assert_allclose_scaled(a, b, rel=1e-5)
    assert [type(o).__name__ for o in ours.optimizer.optimizers] == ["SGD", "Lion", "Adam"]
    assert [o.iterations for o in ours.optimizer.optimizers] == [6, 6, 6]


def test_config_round_trip_and_keras_config_load():
    theirs = keras.optimizers.MultiOptimizer(keras.optimizers.OptimizerMap(
        keras.optimizers.Adam(0.01), {"head/.*": keras.optimizers.SGD(0.5)}), loss_scale_factor=2.0)
    ours = optimizers.deserialize(keras.optimizers.serialize(theirs))
    assert isinstance(ours, optimizers.MultiOptimizer) and ours.loss_scale_factor == 2.0
    assert [type(o).__name__ for o in ours.optimizers] == ["SGD", "Adam"]
    assert ours.optimizers[0].loss_scale_factor == 2.0
    clone = optimizers.deserialize(optimizers.serialize(ours))
    assert clone._optimizer_map["head/kernel"].learning_rate == 0.5


def test_state_round_trip():
    model = _model(loom)
    x = np.ones((8, 4), "float32")
    model.fit(x, x[:, :1], epochs=1, batch_size=4, verbose=0)
    state = model.optimizer.get_state_tensors()
    other = _model(loom)
    other.optimizer.build(other.trainable_weights)
    other.optimizer.set_state_tensors(state)
    assert [o.iterations for o in other.optimizer.optimizers] == [2, 2, 2]


def test_bad_uses_are_config_errors():
    with pytest.raises(ConfigError, match="default_optimizer"):
        optimizers.OptimizerMap("adam")
    opt_map = optimizers.OptimizerMap(optimizers.SGD(), {"a.*": optimizers.Adam(), ".*b": optimizers.Adam()})
    with pytest.raises(ConfigError, match="multiple optimizers.*'ab'"):
        opt_map["ab"]
    with pytest.raises(ConfigError, match="already exists"):
        opt_map["a.*"] = optimizers.SGD()
    with pytest.raises(ConfigError, match="sub-optimizers"):
        optimizers.MultiOptimizer(opt_map).learning_rate

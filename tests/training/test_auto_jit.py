"""``compile(jit_compile="auto")`` (the default): eager for short calls, compiled for long ones, the same
training results either way, and never a recompilation in the middle of a fit."""

import os
import sys

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError
from loom.training import auto_jit
from tests.tolerance import assert_allclose_scaled, assert_weights_close

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from bench.models import SPECS  # noqa: E402


def small_data(name: str, n: int = 8):
    x, y = SPECS[name].make_data(n, np.random.default_rng(0))
    if name == "M4":  # two token sequences of length 100: a few tokens are enough here
        x = [a[:, :6] for a in x]
    return (x if len(x) > 1 else x[0]), y


def train(name: str, jit, steps: int = 2, batch_size: int = 4):
    loom.utils.set_random_seed(0)
    model = SPECS[name].build(loom)
    model.compile(optimizer="sgd", loss=SPECS[name].loss, metrics=["accuracy"], **jit)
    x, y = small_data(name, steps * batch_size)
    history = model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
    return model, history.history


def mlp():
    model = loom.Sequential([loom.Input((6,)), loom.layers.Dense(8, activation="relu"),
                              loom.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


def unique_graphs() -> int:
    from torch._dynamo.utils import counters
    return counters["stats"]["unique_graphs"]


# ------------------------------------------------------------------------------------------------ policy
def test_auto_is_the_default_and_a_short_fit_stays_eager():
    model = mlp()
    assert model.jit_compile == "auto" and model.get_compile_config()["jit_compile"] == "auto"
    x, y = np.random.default_rng(0).random((32, 6), dtype=np.float32), np.arange(32) % 3
    model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    model.predict(x, verbose=0)
    decisions = model._jit_decision
    assert not decisions["train"].compile and not decisions["predict"].compile
    assert "expected gain" in decisions["train"].reason and decisions["train"].steps == 12


def test_estimate_compiles_a_long_mlp_fit_but_never_a_recurrent_or_custom_model():
    model = mlp()
    assert not auto_jit.estimate(model, "train", 1_000).compile
    long = auto_jit.estimate(model, "train", 10_000_000)
    assert long.compile and long.expected_gain_s > long.expected_cost_s
    rnn = loom.Sequential([loom.Input((5, 3)), loom.layers.LSTM(4)])
    assert "recurrent" in auto_jit.estimate(rnn, "train", 10_000_000).reason

    class Custom(torch.nn.Module):
        def forward(self, x):
            return x
    wrapped = loom.Sequential([loom.Input((3,)), loom.layers.TorchModuleWrapper(Custom())])
    assert "custom module" in auto_jit.estimate(wrapped, "predict", 10_000_000).reason
    assert not auto_jit.estimate(model, "train", None).compile


def test_repeated_calls_compile_once_their_eager_steps_cost_a_compilation():
    model = mlp()
    policy = auto_jit.JitPolicy("auto")
    one_call = auto_jit.estimate(model, "train", 20_000)
    calls_to_pay = int(one_call.expected_cost_s // one_call.expected_gain_s) + 1
    decisions = [policy.decide(model, "train", 20_000) for _ in range(calls_to_pay + 2)]
    assert [d.compile for d in decisions] == [False] * calls_to_pay + [True, True]
    assert "earlier calls ran eagerly" in decisions[calls_to_pay].reason
    assert decisions[calls_to_pay].expected_gain_s >= decisions[calls_to_pay].expected_cost_s
    assert policy.eager_steps["train"] == 20_000 * calls_to_pay
    assert not policy.decide(model, "predict", 20_000).compile  # each kind counts its own steps


def test_repeated_fits_switch_to_the_compiled_step_between_calls_and_train_as_eager(monkeypatch):
    monkeypatch.setitem(auto_jit.COMPILE_BASE_S, "train", 0.0)  # a compilation "costs" 2 x 0.5 s ...
    monkeypatch.setitem(auto_jit.GAIN_PER_LAYER_S["cpu"], "train", 0.01)  # ... and a step saves 2 x 0.01 s
    x, y = np.random.default_rng(2).random((40, 6), dtype=np.float32), np.arange(40) % 3
    weights = {}
    for jit in ("auto", False):
        loom.utils.set_random_seed(4)
        model = mlp()
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", jit_compile=jit)
        compiled = []
        for _ in range(6):  # 10 steps a call: the 6th call follows 50 eager steps (1 s saved > 1 s)
            before = unique_graphs()
            model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
            compiled.append(unique_graphs() > before)
        weights[jit] = model.get_weights()
        if jit == "auto":
            assert compiled == [False] * 5 + [True]
            assert model._jit_decision["train"].compile
    assert_weights_close(weights["auto"], weights[False], rel=1e-4)


def test_forced_settings_and_bad_values():
    assert auto_jit.JitPolicy(True).uses("train") and not auto_jit.JitPolicy(False).uses("predict")
    assert not auto_jit.JitPolicy(True, run_eagerly=True).uses("train")
    with pytest.raises(ConfigError, match="jit_compile"):
        loom.Sequential([loom.Input((2,)), loom.layers.Dense(1)]).compile(loss="mse", jit_compile="yes")


# ------------------------------------------------------------------------------------- same results
@pytest.mark.parametrize("name", ["M1", "M2", "M3", "M4", "M5"])
def test_auto_trains_like_eager_on_the_bench_models(name):
    before = unique_graphs()
    auto, auto_history = train(name, {})
    assert unique_graphs() == before  # a short fit compiles nothing
    assert not auto._jit_decision["train"].compile
    eager, eager_history = train(name, {"jit_compile": False})
    assert_allclose_scaled(auto_history["loss"], eager_history["loss"])
    assert_weights_close(auto.get_weights(), eager.get_weights())


@pytest.mark.slow  # compiles each model (10-30 s apiece for M3-M5 on a loaded 2-core CPU)
@pytest.mark.parametrize("name", ["M1", "M2", "M3", "M4", "M5"])
def test_auto_trains_like_forced_compilation_on_the_bench_models(name):
    auto, auto_history = train(name, {})
    compiled, compiled_history = train(name, {"jit_compile": True})
    assert_allclose_scaled(auto_history["loss"], compiled_history["loss"], rel=1e-3)
    assert_weights_close(auto.get_weights(), compiled.get_weights(), rel=1e-3)


@pytest.mark.slow
def test_a_long_fit_compiles_once_before_its_first_step_and_matches_both_forced_settings():
    x, y = np.random.default_rng(1).random((16, 6), dtype=np.float32), np.arange(16) % 3
    graphs_at_batch = []

    def stop_after_three(batch, logs):
        graphs_at_batch.append(unique_graphs())
        if len(graphs_at_batch) == 3:
            models["auto"].stop_training = True
    models, losses = {}, {}
    for key, jit in (("auto", "auto"), ("eager", False), ("compiled", True)):
        loom.utils.set_random_seed(3)
        models[key] = mlp()
        models[key].compile(optimizer="sgd", loss="sparse_categorical_crossentropy", jit_compile=jit)
        # a million epochs on paper (so "auto" expects a long fit); three batches in fact
        epochs, callbacks = (1_000_000, [loom.callbacks.LambdaCallback(on_train_batch_end=stop_after_three)]) \
            if key == "auto" else (1, [])
        before = unique_graphs()
        history = models[key].fit(x[:12] if key != "auto" else x, y[:12] if key != "auto" else y,
                                  batch_size=4, epochs=epochs, shuffle=False, verbose=0, callbacks=callbacks)
        losses[key] = history.history["loss"][0]
        if key == "auto":
            decision = models[key]._jit_decision["train"]
            assert decision.compile and decision.steps == 4_000_000
            assert graphs_at_batch[0] > before  # compiled for the first batch...
            assert graphs_at_batch == [graphs_at_batch[0]] * 3  # ...and never again during the fit
    for key in ("eager", "compiled"):
        assert_allclose_scaled(losses["auto"], losses[key], rel=1e-4)
        assert_weights_close(models["auto"].get_weights(), models[key].get_weights())

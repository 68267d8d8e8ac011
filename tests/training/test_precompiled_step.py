"""Precompiled train steps: the step function, the ledger, the background builder and loading a library.

One test builds a real library (AOTInductor, in the builder process the ledger starts: ~15-30 s on 2 cores);
the others trace or read files only.
"""

import json
import os

import numpy as np
import pytest
import torch

import loom
from loom.training import auto_jit, precompile_ledger, precompile_worker, precompiled_step
from tests.training.precompiling import use_folder, wait_for_build


@pytest.fixture
def precompiling(tmp_path, monkeypatch):
    """Precompiled steps on, in a cache folder of the test's own (the builder process inherits both)."""
    return use_folder(tmp_path, monkeypatch)


def mlp(activation="relu", seed=3, optimizer="adam"):
    """The same model (names included, so the same library key) every call."""
    loom.utils.set_random_seed(seed)
    model = loom.Sequential([loom.Input((16,), name="x"), loom.layers.Dense(8, activation, name="hidden"),
                             loom.layers.Dense(4, "softmax", name="out")], name="mlp")
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def data(n=256):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 16)).astype("float32"), rng.integers(0, 4, n)


def assert_same_weights(a, b, rtol=1e-4):
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        scale = max(float(np.abs(wb).max()), 1.0)
        np.testing.assert_allclose(wa, wb, rtol=rtol, atol=1e-5 * scale)


def test_step_function_computes_the_eager_step():
    x, y = data(32)
    model, twin = mlp(), mlp()
    model.train_on_batch(x, y)  # plans the step and builds the optimizer; twin does the same below
    twin.train_on_batch(x, y)
    function = precompiled_step.StepFunction.of(model)
    xs, ys = [torch.from_numpy(x)], [torch.from_numpy(y)]
    new, total, parts, outs = function.split(function.function(*function.inputs(xs, ys, None)))
    torch._foreach_copy_(function.targets, new)
    model.optimizer.graph_done()
    expected = twin.train_on_batch(x, y, return_dict=True)
    assert_same_weights(model, twin)
    assert float(total) == pytest.approx(expected["loss"], rel=1e-5)
    assert int(model.optimizer.iterations) == int(twin.optimizer.iterations) == 2
    assert outs[0].shape == (32, 4) and not outs[0].requires_grad


def test_only_auto_eager_cpu_float32_graph_models_are_eligible(precompiling, monkeypatch):
    def eligible(model, **kwargs):
        model.optimizer.build(model._trainable_params())
        return precompiled_step.eligible(model, model.optimizer, model._trainable_params(), kwargs.get("autocast"),
                                         None)
    assert eligible(mlp())
    forced = mlp()
    forced.compile(optimizer="adam", loss="mse", jit_compile=False)
    assert not eligible(forced)
    assert not eligible(mlp(), autocast=("cpu", torch.bfloat16))
    bn = loom.Sequential([loom.Input((4,)), loom.layers.BatchNormalization(), loom.layers.Dense(1)])
    bn.compile(optimizer="adam", loss="mse")
    assert not eligible(bn)
    conv = loom.Sequential([loom.Input((8, 8, 1)), loom.layers.Conv2D(2, 3), loom.layers.Flatten(),
                            loom.layers.Dense(1)])
    conv.compile(optimizer="adam", loss="mse")
    assert not eligible(conv)  # compute-bound: nothing to gain
    assert precompiled_step.unprecompiled_layer(conv) == "conv2d"
    monkeypatch.setenv("LOOM_PRECOMPILE", "0")
    assert not eligible(mlp())


def test_a_step_drawing_random_numbers_is_never_built(precompiling):
    model = loom.Sequential([loom.Input((16,)), loom.layers.Dense(8), loom.layers.Dropout(0.5),
                             loom.layers.Dense(4, "softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = data(32)
    model.train_on_batch(x, y)
    function = precompiled_step.StepFunction.of(model)
    with pytest.raises(loom.LoomError, match="random numbers"):
        precompiled_step.build(model, function, [torch.from_numpy(x)], [torch.from_numpy(y)], None,
                               str(precompiling / "never.pt2"))
    assert not os.path.exists(precompiling / "never.pt2")


def test_key_names_model_compile_configuration_and_batch_shapes():
    x, y = data(32)
    signature = precompiled_step.batch_signature([torch.from_numpy(x)], [torch.from_numpy(y)], None)
    key = precompiled_step.step_key(mlp(), signature)
    assert key == precompiled_step.step_key(mlp(seed=5), signature)  # weights' values are inputs, not code
    assert key != precompiled_step.step_key(mlp(activation="tanh"), signature)
    assert key != precompiled_step.step_key(mlp(optimizer="rmsprop"), signature)
    smaller = precompiled_step.batch_signature([torch.from_numpy(x[:16])], [torch.from_numpy(y[:16])], None)
    assert key != precompiled_step.step_key(mlp(), smaller)
    jit = mlp()
    jit.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=True)
    assert precompiled_step.step_key(jit, signature) == key  # how the step would otherwise run is not in it


def test_ledger_records_long_eager_runs_and_asks_for_a_build_only_after_enough(precompiling):
    x, y = data(64)
    model = mlp()
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    step = model._train_step()
    assert isinstance(step, precompiled_step.PrecompiledStep) and step.loaded() == 0
    (signature, key), = step.keys.items()
    assert step.eager_counts[signature] == 2
    precompile_ledger.record_all()  # 2 steps: too short to write down
    assert not os.path.exists(precompile_ledger.ledger_path(key))
    per_step = auto_jit.train_gain_per_step(model)
    step.eager_counts[signature] = int(precompile_ledger.RECORD_AFTER_S / per_step) + 1
    precompile_ledger.record_all()
    precompile_ledger.record_all()  # nothing new since
    with open(precompile_ledger.ledger_path(key)) as f:
        entry = json.load(f)
    assert entry["runs"] == 1 and entry["overhead_s"] >= precompile_ledger.RECORD_AFTER_S
    assert not precompile_ledger.maybe_build(step, signature, key)  # earlier runs have not spent enough
    precompile_ledger._write(precompile_ledger.ledger_path(key), {"overhead_s": 10.0, "runs": 9})
    precompile_ledger.set_aside(key, "a test")
    assert not precompile_ledger.maybe_build(step, signature, key)  # never after a failure
    assert json.load(open(precompiling / f"{key}.failed.json")) == {"reason": "a test"}


def test_runs_that_write_the_ledger_together_all_count(precompiling):
    import threading

    def run():
        for _ in range(25):
            precompile_ledger.add_overhead("together", 0.5)

    writers = [threading.Thread(target=run) for _ in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    entry = json.load(open(precompile_ledger.ledger_path("together")))
    assert entry == {"overhead_s": 50.0, "runs": 100}


def test_builder_refuses_a_request_its_rebuilt_model_does_not_match(precompiling):
    x, y = data(32)
    model = mlp()
    model.train_on_batch(x, y)
    signature = precompiled_step.batch_signature([torch.from_numpy(x)], [torch.from_numpy(y)], None)
    os.makedirs(precompiling)
    request = precompiling / "wrong.request.json"
    request.write_text(json.dumps({"key": "wrong", "model": loom.models.to_json(model),
                                   "compile": model.get_compile_config(),
                                   "signature": precompiled_step._jsonable_signature(signature)}))
    assert precompile_worker.main(str(request)) == 1
    assert not request.exists()
    assert "another step key" in json.load(open(precompiling / "wrong.failed.json"))["reason"]
    assert not os.path.exists(precompiled_step.library_path("wrong"))


def test_builder_writes_a_library_that_later_runs_load_and_train_with_as_eagerly(precompiling, monkeypatch):
    x, y = data()
    first = mlp()
    first.fit(x, y, batch_size=32, epochs=1, verbose=0)
    (signature, key), = first._train_step().keys.items()
    precompile_ledger._write(precompile_ledger.ledger_path(key),  # as after earlier runs of this script
                             {"overhead_s": precompile_ledger.BUILD_AFTER_S, "runs": 3})
    second = mlp()
    second.fit(x, y, batch_size=32, epochs=1, verbose=0)  # starts the builder in the background, trains eagerly
    library = wait_for_build(precompiling, key)

    model = mlp()  # a later run: loads the library, checks it, trains with it
    history = model.fit(x, y, batch_size=32, epochs=3, verbose=0)
    assert model._train_step().loaded() == 1
    # Bad labels are refused before the library runs, as in the eager loop.
    with pytest.raises(loom.LoomError, match=r"class indices in 0\.\.3"):
        model.fit(x, y + 4, batch_size=32, epochs=1, verbose=0)
    auto_jit.decide_for(model, "train", 10_000_000)  # a fit long enough to compile: the library serves it
    assert not model._jit_decision["train"].compile and "precompiled" in model._jit_decision["train"].reason
    monkeypatch.setenv("LOOM_PRECOMPILE", "0")
    eager = mlp()
    expected = eager.fit(x, y, batch_size=32, epochs=3, verbose=0)
    assert not isinstance(eager._train_step(), precompiled_step.PrecompiledStep)
    assert_same_weights(model, eager)
    np.testing.assert_allclose(history.history["loss"], expected.history["loss"], rtol=1e-5)
    np.testing.assert_allclose(history.history["accuracy"], expected.history["accuracy"], rtol=1e-6)
    assert int(model.optimizer.iterations) == int(eager.optimizer.iterations) == 24

    # A library that does not compute this model's step (another activation, same shapes) is set aside.
    monkeypatch.setenv("LOOM_PRECOMPILE", "1")
    other = mlp(activation="tanh")
    other_key = precompiled_step.step_key(other, signature)
    with open(library, "rb") as source, open(precompiled_step.library_path(other_key), "wb") as target:
        target.write(source.read())
    history = other.fit(x, y, batch_size=32, epochs=1, verbose=0)
    assert other._train_step().loaded() == 0 and np.isfinite(history.history["loss"][0])
    assert not os.path.exists(precompiled_step.library_path(other_key))
    assert "differ" in json.load(open(precompiling / f"{other_key}.failed.json"))["reason"]


def test_a_builder_that_cannot_start_leaves_no_request_and_the_run_trains_eagerly(precompiling, monkeypatch):
    x, y = data(64)
    first = mlp()
    first.fit(x, y, batch_size=32, epochs=1, verbose=0)
    (signature, key), = first._train_step().keys.items()
    precompile_ledger._write(precompile_ledger.ledger_path(key), {"overhead_s": 1.0, "runs": 4})
    monkeypatch.setattr(precompile_ledger.sys, "executable", str(precompiling / "no-such-python"))
    model = mlp()
    history = model.fit(x, y, batch_size=32, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and model._train_step().loaded() == 0
    assert not os.path.exists(precompiling / f"{key}.request.json")  # a later run may try again
    assert not os.path.exists(precompiling / f"{key}.failed.json")

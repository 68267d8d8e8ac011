"""Precompiled predict steps: eligibility, the traced function, the ledger, the builder and loading a library.

One test builds a real library (AOTInductor, in the builder process the ledger starts: ~15 s on 2 cores); the
others trace or read files only. Timing a library against the eager plan is replaced by a fixed verdict
(``_timed_alternately``) so no test depends on the machine's speed; one test checks the rule itself.
"""

import copy
import json
import os

import numpy as np
import pytest
import torch

import loom
from loom.training import auto_jit, precompile_ledger, precompile_worker, precompiled_predict, precompiled_step
from tests.training.precompiling import use_folder, wait_for_build


@pytest.fixture
def precompiling(tmp_path, monkeypatch):
    """Precompiled steps on, in a cache folder of the test's own; a library counts as twice as fast."""
    monkeypatch.setattr(precompiled_predict, "_timed_alternately", lambda library, eager: (0.5, 1.0))
    return use_folder(tmp_path, monkeypatch)


def convnet(seed=5, activation="relu"):
    """The same model (names included, so the same library key) every call."""
    loom.utils.set_random_seed(seed)
    inputs = loom.Input((40, 40, 3), name="image")
    x = loom.layers.SeparableConv2D(8, 3, activation=activation, name="sep")(inputs)
    x = loom.layers.MaxPooling2D(2, name="pool")(x)
    x = loom.layers.Conv2D(8, 3, activation="relu", name="conv")(x)
    x = loom.layers.GlobalAveragePooling2D(name="gap")(x)
    x = loom.layers.Dropout(0.5, name="drop")(x)
    model = loom.Model(inputs, loom.layers.Dense(4, activation="softmax", name="out")(x), name="convnet")
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
    return model


def images(n=40, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 40, 40, 3)).astype("float32")


def test_only_auto_cpu_float32_convnets_without_batchnorm_are_eligible(precompiling, monkeypatch):
    assert precompiled_predict.eligible(convnet())
    forced = convnet()
    forced.compile(optimizer="rmsprop", loss="mse", jit_compile=False)
    assert not precompiled_predict.eligible(forced)
    inputs = loom.Input((40, 40, 3))
    bn = loom.Model(inputs, loom.layers.BatchNormalization()(loom.layers.Conv2D(4, 3)(inputs)))
    bn.compile(loss="mse")
    assert not precompiled_predict.eligible(bn)  # the eager plan folds it: faster than a library
    dense = loom.Sequential([loom.Input((4,)), loom.layers.Dense(2)])
    dense.compile(loss="mse")
    assert not precompiled_predict.eligible(dense)  # no convolution: nothing to fuse
    monkeypatch.setenv("LOOM_PRECOMPILE", "0")
    assert not precompiled_predict.eligible(convnet())


def test_predict_function_computes_the_eager_forward_pass(precompiling):
    model = convnet()
    x = torch.from_numpy(images(8))
    function = precompiled_predict.PredictFunction(model)
    model.eval()
    with torch.no_grad():
        got = function.function(*function.inputs([x]))
        expected = model(x)
    assert len(got) == 1 and not got[0].requires_grad
    torch.testing.assert_close(got[0], expected, rtol=1e-5, atol=1e-6)


def test_ledger_records_a_share_of_eager_predict_time_and_asks_for_a_build_only_after_enough(precompiling):
    model = convnet()
    model.predict(images(), batch_size=16, verbose=0)
    forward = model._predict_forward()
    assert isinstance(forward, precompiled_predict.PrecompiledPredict) and forward.loaded() == 0
    assert forward is model._predict_forward()  # kept between calls
    assert len(forward.keys) == 2  # batches of 16 and the last one of 8
    signature = next(s for s in forward.keys if s[0][0][0] == 16)
    key = forward.keys[signature]
    forward.eager_seconds = {signature: precompile_ledger.RECORD_AFTER_S / precompiled_predict.GAIN_SHARE * 2}
    precompile_ledger.record_all()
    precompile_ledger.record_all()  # nothing new since
    entry = json.load(open(precompile_ledger.ledger_path(key)))
    assert entry["runs"] == 1 and entry["overhead_s"] == pytest.approx(2 * precompile_ledger.RECORD_AFTER_S)
    assert not precompile_ledger.maybe_build(forward, signature, key)  # earlier runs have not spent enough
    assert forward.build_request(signature)["kind"] == "predict"


def test_builder_refuses_a_predict_request_its_rebuilt_model_does_not_match(precompiling):
    model = convnet()
    os.makedirs(precompiling)
    request = precompiling / "wrong.request.json"
    request.write_text(json.dumps({"key": "wrong", "kind": "predict", "model": loom.models.to_json(model),
                                   "signature": [[[[16, 40, 40, 3], "float32"]], [], None]}))
    assert precompile_worker.main(str(request)) == 1
    assert "another predict key" in json.load(open(precompiling / "wrong.failed.json"))["reason"]
    assert not os.path.exists(precompiled_step.library_path("wrong"))


def test_builder_writes_a_library_that_later_runs_load_and_predict_with_as_eagerly(precompiling, monkeypatch):
    x = images()
    first = convnet()
    first.predict(x, batch_size=16, verbose=0)
    keys = first._predict_forward().keys
    signature = next(s for s in keys if s[0][0][0] == 16)
    key = keys[signature]
    precompile_ledger._write(precompile_ledger.ledger_path(key),  # as after earlier runs of this script
                             {"overhead_s": precompile_ledger.BUILD_AFTER_S, "runs": 3})
    convnet().predict(x, batch_size=16, verbose=0)  # starts the builder in the background, predicts eagerly
    library = wait_for_build(precompiling, key)

    monkeypatch.setenv("LOOM_PRECOMPILE", "0")
    eager = convnet()
    expected = eager.predict(x, batch_size=16, verbose=0)
    monkeypatch.setenv("LOOM_PRECOMPILE", "1")
    model = convnet()  # a later run: loads the library, checks it, predicts with it
    got = model.predict(x, batch_size=16, verbose=0)
    forward = model._predict_forward()
    assert forward.loaded() == 1  # batches of 16; the last, of 8, ran eagerly
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    auto_jit.decide_for(model, "predict", 10_000_000)  # a predict long enough to compile: the library serves it
    assert not model._jit_decision["predict"].compile and "precompiled" in model._jit_decision["predict"].reason

    # The weights are the library's inputs: new weights are used at once.
    weights = [w * 0.5 for w in model.get_weights()]
    model.set_weights(weights)
    eager.set_weights(weights)
    np.testing.assert_allclose(model.predict(x, batch_size=16, verbose=0), eager.predict(x, batch_size=16, verbose=0),
                               rtol=1e-5, atol=1e-6)
    # A forward hook must see the layers run: the eager plan runs while one is registered.
    seen = []
    handle = model.get_layer("conv").register_forward_hook(lambda *args: seen.append(1))
    model.predict(x, batch_size=16, verbose=0)
    handle.remove()
    assert len(seen) == 3
    # A copy of the model starts without the library (its weights are its own).
    twin = copy.deepcopy(model)
    twin.set_weights([w * 2 for w in weights])
    assert not np.allclose(twin.predict(x, batch_size=16, verbose=0), model.predict(x, batch_size=16, verbose=0))

    # A library that does not compute this model's forward pass (another activation, same shapes) is set aside.
    other = convnet(activation="tanh")
    other_key = precompiled_predict.predict_key(other, signature)
    with open(library, "rb") as source, open(precompiled_step.library_path(other_key), "wb") as target:
        target.write(source.read())
    other.predict(x, batch_size=16, verbose=0)
    assert other._predict_forward().loaded() == 0
    assert not os.path.exists(precompiled_step.library_path(other_key))
    assert "differ" in json.load(open(precompiling / f"{other_key}.failed.json"))["reason"]

    # A library clearly slower than the eager plan on this machine is set aside too.
    monkeypatch.setattr(precompiled_predict, "_timed_alternately", lambda library, eager: (1.1, 1.0))
    slow = convnet()
    slow.predict(x, batch_size=16, verbose=0)
    assert slow._predict_forward().loaded() == 0 and not os.path.exists(library)
    assert "slower" in json.load(open(precompiling / f"{key}.failed.json"))["reason"]


def test_timing_alternates_and_keeps_the_fastest_run_of_each():
    calls = []
    library, eager = precompiled_predict._timed_alternately(lambda: calls.append("library"),
                                                           lambda: calls.append("eager"))
    assert calls == ["library", "eager"] * precompiled_predict.TIMED_RUNS
    assert library >= 0 and eager >= 0

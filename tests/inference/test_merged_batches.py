"""predict() merges consecutive batches of in-memory data (loom.inference.merged_batch_size) only where no one
could tell: same outputs, and the user's batch size wherever callbacks, hooks, steps or the layers would see it."""

import numpy as np
import pytest
import torch

import loom
from loom import layers
from loom.inference import InferencePlan, merged_batch_size, plan_for

from tests.tolerance import assert_allclose_scaled


def _mlp():
    x = loom.Input((6,))
    h = layers.Dense(8, activation="relu")(x)
    h = layers.BatchNormalization()(h)
    h = layers.Dropout(0.5)(h)
    model = loom.Model(x, layers.Dense(3, activation="softmax")(h))
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
    return model


def _batch_sizes_run(model, monkeypatch):
    """Record the batch size of every forward pass the inference plan runs."""
    seen = []
    original = InferencePlan.run

    def run(plan, values):
        seen.append(int(values[0].shape[0]))
        return original(plan, values)
    monkeypatch.setattr(InferencePlan, "run", run)
    return seen


def _data(n=1000):
    return np.random.default_rng(0).standard_normal((n, 6)).astype("float32")


def test_merged_batches_give_the_graphs_outputs_in_fewer_passes(monkeypatch):
    model = _mlp()
    x = _data()
    seen = _batch_sizes_run(model, monkeypatch)
    merged = model.predict(x, batch_size=10, verbose=0)
    assert seen == [1000]  # 100 batches of 10 in one pass: 8 activations per sample fit the 16 MiB budget
    with torch.no_grad():
        expected = model.eval()(torch.from_numpy(x)).numpy()
    assert_allclose_scaled(merged, expected, rel=1e-5)


def test_merging_stops_at_the_piece_budget_in_whole_batches(monkeypatch):
    monkeypatch.setenv("LOOM_INFERENCE_CHUNK_BYTES", str(8 * 4 * 64))  # 64 samples of the widest activation
    model = _mlp()
    seen = _batch_sizes_run(model, monkeypatch)
    model.predict(_data(250), batch_size=20, verbose=0)
    assert seen == [60, 60, 60, 60, 10]  # three batches of 20 per pass; the last pass holds what is left
    assert merged_batch_size(plan_for(model).run, 20) == 60
    assert merged_batch_size(plan_for(model).run, 100) == 100  # a batch above the budget is never merged


def test_only_small_activations_merge():
    x = loom.Input((6,))
    wide = loom.Model(x, layers.Dense(3)(layers.Dense(4096)(x)))  # 16 KiB a sample: 64 samples in 1 MiB
    assert merged_batch_size(plan_for(wide).run, 20) == 60
    assert merged_batch_size(plan_for(wide).run, 128) == 128


def test_zero_budget_never_merges(monkeypatch):
    monkeypatch.setenv("LOOM_INFERENCE_CHUNK_BYTES", "0")
    model = _mlp()
    seen = _batch_sizes_run(model, monkeypatch)
    model.predict(_data(50), batch_size=20, verbose=0)
    assert seen == [20, 20, 10]


class _BatchWatcher(loom.callbacks.Callback):
    def __init__(self, hook):
        super().__init__()
        self.sizes = []
        if hook == "begin":
            self.on_predict_batch_begin = lambda batch, logs=None: self.sizes.append(batch)
        else:
            self.on_predict_batch_end = lambda batch, logs=None: self.sizes.append(len(logs["outputs"]))


@pytest.mark.parametrize("hook", ["begin", "end"])
def test_callbacks_that_watch_batches_see_the_users_batches(hook, monkeypatch):
    model = _mlp()
    seen = _batch_sizes_run(model, monkeypatch)
    watcher = _BatchWatcher(hook)
    model.predict(_data(50), batch_size=20, verbose=0, callbacks=[watcher])
    assert seen == [20, 20, 10]
    assert watcher.sizes == ([0, 1, 2] if hook == "begin" else [20, 20, 10])


def test_steps_and_forward_hooks_keep_the_users_batches(monkeypatch):
    model = _mlp()
    seen = _batch_sizes_run(model, monkeypatch)
    model.predict(_data(50), batch_size=20, verbose=0, steps=2)
    assert seen == [20, 20]
    seen.clear()
    hooked_sizes = []
    handle = model.layers[1].register_forward_hook(lambda m, i, o: hooked_sizes.append(int(o.shape[0])))
    model.predict(_data(50), batch_size=20, verbose=0)
    handle.remove()
    assert hooked_sizes == [20, 20, 10]


def test_a_progress_bar_on_a_terminal_sees_every_batch_and_a_log_counts_the_users_batches(monkeypatch, capsys):
    model = _mlp()
    seen = _batch_sizes_run(model, monkeypatch)
    model.predict(_data(50), batch_size=20, verbose=1)  # not a terminal: one line at the end, batches merged
    assert seen == [50]
    assert "3/3" in capsys.readouterr().out
    seen.clear()
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    model.predict(_data(50), batch_size=20, verbose=1)
    assert seen == [20, 20, 10]


@pytest.mark.parametrize("make", [
    lambda x: layers.LSTM(4)(layers.Reshape((2, 3))(x)),   # recurrent layers never run in pieces
    lambda x: layers.Lambda(lambda t: t - t.mean(0))(x),   # code loom does not know may mix samples
])
def test_models_that_may_mix_samples_keep_the_users_batches(make, monkeypatch):
    x = loom.Input((6,))
    model = loom.Model(x, layers.Dense(2)(make(x)))
    seen = _batch_sizes_run(model, monkeypatch)
    model.predict(_data(50), batch_size=20, verbose=0)
    assert seen == [20, 20, 10]


def test_generators_keep_their_own_batches(monkeypatch):
    model = _mlp()
    seen = _batch_sizes_run(model, monkeypatch)
    x = _data(30)
    model.predict((x[i:i + 10] for i in range(0, 30, 10)), verbose=0)
    assert seen == [10, 10, 10]

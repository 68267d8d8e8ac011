"""Issue 19: no-gradient shortcuts never change results. One test per case the issue reported."""

import numpy as np
import pytest
import torch

import loom
from loom import layers
from loom.inference import plan_for


@pytest.fixture
def small_pieces(monkeypatch):
    """CPU inference splits batches into pieces of a few samples (the budget is read when a plan is made)."""
    monkeypatch.setenv("LOOM_INFERENCE_CHUNK_BYTES", "64")


def _seeded_dense_relu():
    loom.utils.set_random_seed(0)
    x = loom.Input((6,))
    d = layers.Dense(5, name="dense")(x)
    return loom.Model(x, layers.Activation("relu", name="relu")(d)), torch.randn(16, 6)


@pytest.mark.parametrize("how", ["predict", "optimized call"])
def test_a_forward_hook_keeps_the_tensor_it_was_given(how):
    model, data = _seeded_dense_relu()
    saved = []
    model.get_layer("dense").register_forward_hook(lambda m, i, out: saved.append(out))
    true_min = float(model.get_layer("dense")(data).min())
    assert true_min < 0
    if how == "predict":
        model.predict(data.numpy(), batch_size=16, verbose=0)
    else:
        with torch.no_grad():
            model.optimize_for_inference()(data)
    assert float(saved[-1].min()) == pytest.approx(true_min)


def test_a_global_forward_hook_switches_the_shortcuts_off():
    model, data = _seeded_dense_relu()
    saved = []
    handle = torch.nn.modules.module.register_module_forward_hook(
        lambda m, i, out: saved.append(out) if m is model.get_layer("dense") else None)
    try:
        assert not plan_for(model).shortcuts_allowed()
        model.predict(data.numpy(), batch_size=16, verbose=0)
    finally:
        handle.remove()
    assert float(saved[-1].min()) < 0
    with torch.no_grad():
        assert plan_for(model).shortcuts_allowed()


@pytest.mark.parametrize("mixing", [
    lambda h: layers.Concatenate(axis=0)([h, layers.Dense(4)(h)]),
    lambda h: layers.Softmax(axis=0)(h),
])
def test_layers_on_the_batch_axis_see_the_whole_batch(mixing, small_pieces):
    loom.utils.set_random_seed(1)
    x = loom.Input((6,))
    model = loom.Model(x, mixing(layers.Dense(4)(x)))
    data = torch.randn(12, 6)
    expected = model(data).detach().numpy()
    np.testing.assert_allclose(model.predict(data.numpy(), batch_size=12, verbose=0), expected, rtol=1e-5,
                               atol=1e-6)


def test_hooks_see_the_whole_batch_once(small_pieces):
    loom.utils.set_random_seed(2)
    x = loom.Input((6,))
    model = loom.Model(x, layers.Dense(3)(layers.Dense(8, activation="relu", name="hidden")(x)))
    assert plan_for(model).inference_chunk is not None and plan_for(model).inference_chunk < 12
    sizes = []
    model.get_layer("hidden").register_forward_pre_hook(lambda m, args: sizes.append(args[0].shape[0]))
    model.predict(np.ones((12, 6), "float32"), batch_size=12, verbose=0)
    assert sizes == [12]


class _ShiftedActivation(layers.Activation):
    def call(self, inputs):
        return super().call(inputs) + 1.0


class _ShiftedBatchNorm(layers.BatchNormalization):
    def call(self, inputs, mask=None):
        return super().call(inputs, mask=mask) * 2.0


class _ShiftedAdd(layers.Add):
    def call(self, inputs, mask=None):
        return super().call(inputs, mask=mask) - 3.0


@pytest.mark.parametrize("make", [
    lambda d: _ShiftedActivation("relu")(d),
    lambda d: _ShiftedBatchNorm()(d),
    lambda d: _ShiftedAdd()([layers.Dense(5)(d), d]),  # its first input fresh and read once: in place
])
def test_a_subclass_overriding_call_runs_as_written(make):
    loom.utils.set_random_seed(3)
    x = loom.Input((6,))
    model = loom.Model(x, make(layers.Dense(5)(x)))
    data = torch.randn(8, 6)
    expected = model(data).detach()
    with torch.no_grad():
        torch.testing.assert_close(model(data), expected)
        torch.testing.assert_close(model.optimize_for_inference()(data), expected)
    torch.testing.assert_close(torch.from_numpy(model.predict(data.numpy(), verbose=0)), expected)


def test_an_embedding_subclass_feeding_a_recurrent_layer_gets_its_input_as_given():
    class Offset(layers.Embedding):
        def call(self, inputs):
            assert inputs.shape[1] == 7, f"got {tuple(inputs.shape)}"
            return super().call(inputs) + 1.0
    loom.utils.set_random_seed(4)
    tokens = loom.Input((7,), dtype="int32")
    model = loom.Model(tokens, layers.LSTM(3)(Offset(20, 4)(tokens)))
    data = torch.randint(0, 20, (4, 7), generator=torch.Generator().manual_seed(0))
    expected = model(data).detach().numpy()
    np.testing.assert_allclose(model.predict(data.numpy(), verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_a_plain_call_with_no_grad_matches_the_call_with_gradients():
    model, data = _seeded_dense_relu()
    kept = data.clone()
    expected = model(data).detach()
    with torch.no_grad():
        torch.testing.assert_close(model(data), expected, rtol=0, atol=0)
    torch.testing.assert_close(data, kept, rtol=0, atol=0)

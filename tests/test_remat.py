"""RematScope: layers made inside recompute their call in the backward pass, with unchanged results."""

import pytest
import torch

import loom
from loom.errors import ConfigError


class CountingDense(loom.layers.Dense):
    calls = 0

    def call(self, inputs):
        if inputs.device.type != "meta":  # shape inference runs the call on meta tensors
            CountingDense.calls += 1
        return super().call(inputs)


def _grads(mode, **kwargs):
    loom.utils.set_random_seed(0)
    CountingDense.calls = 0
    with loom.RematScope(mode=mode, **kwargs):
        layer = CountingDense(64, activation="relu", name="big")
    x = torch.randn(8, 32, requires_grad=True)
    layer(x).square().sum().backward()
    return layer.kernel.grad.clone(), x.grad.clone(), CountingDense.calls


@pytest.mark.parametrize("mode,kwargs,recomputed", [
    ("full", {}, True), (None, {}, False), ("list_of_layers", {"layer_names": ["big"]}, True),
    ("list_of_layers", {"layer_names": ["other"]}, False), ("larger_than", {"output_size_threshold": 100}, True),
    ("larger_than", {"output_size_threshold": 10_000}, False), ("activations", {}, False)])
def test_gradients_unchanged_and_call_recomputed_per_mode(mode, kwargs, recomputed):
    kernel_ref, x_ref, _ = _grads(None)
    kernel, x, calls = _grads(mode, **kwargs)
    torch.testing.assert_close(kernel, kernel_ref)
    torch.testing.assert_close(x, x_ref)
    assert calls == (2 if recomputed else 1)


def test_layers_made_outside_the_scope_are_untouched():
    layer = loom.layers.Dense(2)
    with loom.RematScope():
        inside = loom.layers.Dense(2)
    assert layer._remat_mode is None and inside._remat_mode.mode == "full"


def test_inference_recomputes_nothing():
    CountingDense.calls = 0
    with loom.RematScope():
        layer = CountingDense(4)
    with torch.no_grad():
        layer(torch.ones(2, 3))
    assert CountingDense.calls == 1


def test_fit_inside_a_remat_model_matches_plain():
    def run(remat):
        loom.utils.set_random_seed(1)
        scope = loom.RematScope() if remat else loom.RematScope(mode=None)
        with scope:
            model = loom.Sequential([loom.Input((6,)), loom.layers.Dense(8, activation="relu"), loom.layers.Dense(1)])
        model.compile("sgd", "mse", jit_compile=False)
        x, y = torch.randn(32, 6), torch.randn(32, 1)
        return model.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False).history["loss"]
    assert run(True) == pytest.approx(run(False), rel=1e-5)


def test_bad_mode_is_named():
    with pytest.raises(ConfigError, match="mode"):
        loom.RematScope(mode="everything")

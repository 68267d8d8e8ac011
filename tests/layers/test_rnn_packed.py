"""Padding masks through the fused kernels (packed sequences): Keras parity, gradients, fallbacks."""

import numpy as np
import pytest
import torch

import loom
import loom.layers.rnn_base as rnn_base
from tests.keras_oracle import keras

B, T, D, U = 4, 6, 4, 5
LENGTHS = np.array([6, 3, 1, 4])
POST = np.arange(T)[None] < LENGTHS[:, None]
PRE = np.arange(T)[None] >= (T - LENGTHS)[:, None]


@pytest.fixture
def packed_calls(monkeypatch):
    """Counts the calls that the packed path served (a ``None`` result means the loop ran instead)."""
    calls = []
    original = rnn_base.run_padded

    def counting(*args, **kwargs):
        result = original(*args, **kwargs)
        calls.append(result is not None)
        return result
    monkeypatch.setattr(rnn_base, "run_padded", counting)
    return calls


def _pair(name, kwargs):
    k = getattr(keras.layers, name)(U, **kwargs)
    k.build((None, T, D))
    rng = np.random.default_rng(1)
    weights = [rng.normal(size=w.shape).astype("float32") * 0.5 for w in k.get_weights()]
    k.set_weights(weights)
    layer = getattr(loom.layers, name)(U, **kwargs)
    layer(torch.zeros(1, T, D))
    layer.set_weights(weights)
    return k, layer


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("kwargs", [{"return_sequences": True, "return_state": True},
                                    {"return_sequences": True, "go_backwards": True},
                                    {"zero_output_for_mask": True, "return_sequences": True, "return_state": True},
                                    {"zero_output_for_mask": True}])
def test_post_and_pre_padding_match_keras(name, kwargs, packed_calls):
    k, layer = _pair(name, kwargs)
    x = np.random.default_rng(0).normal(size=(B, T, D)).astype("float32")
    states = [np.random.default_rng(5 + i).normal(size=(B, U)).astype("float32")
              for i in range(2 if name == "LSTM" else 1)]
    for mask in (POST, PRE):
        for initial in (None, states):
            keras_out = k(x, mask=mask, initial_state=initial)
            loom_out = layer(x, mask=torch.tensor(mask),
                             initial_state=None if initial is None else [torch.tensor(s) for s in initial])
            keras_out = keras_out if isinstance(keras_out, (list, tuple)) else [keras_out]
            loom_out = loom_out if isinstance(loom_out, (list, tuple)) else [loom_out]
            for a, b in zip(keras_out, loom_out):
                np.testing.assert_allclose(b.detach().numpy(), keras.ops.convert_to_numpy(a), atol=1e-5)
    assert packed_calls == [True] * 4


@pytest.mark.parametrize("mask", [POST, PRE])
def test_gradients_equal_the_step_loop(mask, monkeypatch):
    layer = loom.layers.GRU(U, return_sequences=True, return_state=True)
    x = torch.randn(B, T, D, requires_grad=True)

    def gradients():
        x.grad = None
        layer.zero_grad()
        outputs = layer(x, mask=torch.tensor(mask))
        sum((o * torch.linspace(-1, 1, o.numel()).reshape(o.shape)).sum() for o in outputs).backward()
        return [x.grad.clone()] + [p.grad.clone() for p in layer.parameters()]
    packed = gradients()
    monkeypatch.setattr(rnn_base, "run_padded", lambda *args, **kwargs: None)
    for a, b in zip(packed, gradients()):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_holes_and_empty_sequences_fall_back_to_the_loop(packed_calls):
    layer = loom.layers.LSTM(U, return_sequences=True)
    x = torch.randn(B, T, D)
    holes = torch.tensor(POST)
    holes[0, 2] = False
    empty = torch.tensor(POST)
    empty[1] = False
    assert layer(x, mask=holes).shape == layer(x, mask=empty).shape == (B, T, U)
    assert packed_calls == [False, False]
    assert (layer(x, mask=empty)[1] == 0).all()


def test_bidirectional_with_post_padding_matches_keras():
    k = keras.layers.Bidirectional(keras.layers.LSTM(U, return_sequences=True))
    k.build((None, T, D))
    layer = loom.layers.Bidirectional(loom.layers.LSTM(U, return_sequences=True))
    layer(torch.zeros(1, T, D))
    layer.set_weights(k.get_weights())
    x = np.random.default_rng(2).normal(size=(B, T, D)).astype("float32")
    np.testing.assert_allclose(layer(x, mask=torch.tensor(POST)).detach().numpy(),
                               keras.ops.convert_to_numpy(k(x, mask=POST)), atol=1e-5)

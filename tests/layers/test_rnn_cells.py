"""SimpleRNNCell, LSTMCell, GRUCell against Keras 3: weight layout, one step (outputs, states, gradients),
dropout masks and configs."""

import json

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, InputError
from tests.keras_oracle import keras

B, D, U = 3, 4, 5
CELLS = {"SimpleRNNCell": 1, "LSTMCell": 2, "GRUCell": 1}
VARIANTS = [("SimpleRNNCell", {}), ("SimpleRNNCell", {"activation": "relu", "use_bias": False}),
            ("LSTMCell", {}), ("LSTMCell", {"unit_forget_bias": False, "activation": "relu"}),
            ("GRUCell", {}), ("GRUCell", {"reset_after": False}), ("GRUCell", {"use_bias": False})]


def _np(seed, shape):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def cell_pair(name, kwargs, features=D, seed=1):
    """A Keras cell and a loom cell of class ``name`` with the same random weights."""
    k = getattr(keras.layers, name)(U, **kwargs)
    k.build((None, features))
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=w.shape).astype("float32") * 0.5 for w in k.get_weights()]
    k.set_weights(weights)
    cell = getattr(loom.layers, name)(U, **kwargs)
    cell.build((None, features))
    cell.set_weights(weights)
    return k, cell


@pytest.mark.parametrize("name,kwargs", VARIANTS)
def test_one_step_outputs_states_and_gradients_match_keras(name, kwargs):
    k, cell = cell_pair(name, kwargs)
    assert [w.shape for w in cell.get_weights()] == [w.shape for w in k.get_weights()]
    x = _np(0, (B, D))
    states = [_np(10 + i, (B, U)) for i in range(CELLS[name])]
    k_out, k_states = k(torch.tensor(x), [torch.tensor(s) for s in states])
    out, new_states = cell(torch.tensor(x), [torch.tensor(s) for s in states])
    assert len(new_states) == len(k_states) == CELLS[name]
    for a, b in zip([k_out, *k_states], [out, *new_states]):
        np.testing.assert_allclose(b.detach().numpy(), keras.ops.convert_to_numpy(a), atol=1e-5, rtol=1e-5)
    (k_out.sum() + sum(s.sum() for s in k_states)).backward()
    (out.sum() + sum(s.sum() for s in new_states)).backward()
    for kv, lv in zip(k.trainable_weights, cell.trainable_weights):
        np.testing.assert_allclose(lv.grad.numpy(), kv.value.grad.numpy(), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(CELLS))
def test_config_matches_keras_and_round_trips(name):
    cell = getattr(loom.layers, name)(U, dropout=0.25, seed=3)
    k_config = getattr(keras.layers, name)(U, dropout=0.25, seed=3).get_config()
    config = json.loads(json.dumps(cell.get_config()))
    assert set(config) == set(k_config)
    for key in ("units", "dropout", "recurrent_dropout", "seed", "use_bias", "activation"):
        assert config[key] == k_config[key], key
    clone = type(cell).from_config(config)
    assert clone.get_config() == cell.get_config()


@pytest.mark.parametrize("name", sorted(CELLS))
def test_dropout_masks_apply_in_training_only_and_are_cached_until_reset(name):
    cell = getattr(loom.layers, name)(U, dropout=0.5, recurrent_dropout=0.5, seed=0)
    x = torch.ones(B, D)
    states = [torch.ones(B, U)] * CELLS[name]
    cell.build((None, D))
    inference, _ = cell(x, states)
    assert torch.equal(inference, cell(x, states, training=False)[0])
    first, _ = cell(x, states, training=True)
    again, _ = cell(x, states, training=True)  # the same masks until reset (one mask per sequence)
    assert torch.equal(first, again) and not torch.allclose(first, inference)
    masks = cell.get_dropout_mask(x)
    if name != "SimpleRNNCell":  # per-gate masks with recurrent dropout (Keras's implementation=1)
        assert isinstance(masks, list) and len(masks) == {"LSTMCell": 4, "GRUCell": 3}[name]
    cell.reset_dropout_mask()
    cell.reset_recurrent_dropout_mask()
    assert cell.get_dropout_mask(x) is not masks


def test_bad_arguments_and_states_are_refused():
    with pytest.raises(ConfigError, match="units"):
        loom.layers.LSTMCell(0)
    with pytest.raises(ConfigError, match="dropout"):
        loom.layers.GRUCell(2, dropout="high")
    cell = loom.layers.LSTMCell(U)
    cell.build((None, D))
    with pytest.raises(InputError, match="2 state tensor"):
        cell(torch.ones(B, D), [torch.zeros(B, U)])

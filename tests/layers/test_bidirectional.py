"""Bidirectional against Keras 3: every merge mode, masks, states, weights order, config, errors."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, InputError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test

B, T, D, U = 3, 6, 4, 5


def _x(seed=0, shape=(B, T, D)):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _mask():
    mask = np.ones((B, T), bool)
    mask[0, 4:] = False
    mask[1, [0, 3]] = False
    return mask


def _pair(rnn, merge_mode, **kwargs):
    k = keras.layers.Bidirectional(getattr(keras.layers, rnn)(U, **kwargs), merge_mode=merge_mode)
    k.build((None, T, D))
    rng = np.random.default_rng(1)
    weights = [rng.normal(size=w.shape).astype("float32") * 0.5 for w in k.get_weights()]
    k.set_weights(weights)
    layer = loom.layers.Bidirectional(getattr(loom.layers, rnn)(U, **kwargs), merge_mode=merge_mode)
    layer(torch.zeros(1, T, D))
    layer.set_weights(weights)
    return k, layer


def _assert_same(keras_out, loom_out):
    keras_out = list(keras_out) if isinstance(keras_out, (list, tuple)) else [keras_out]
    loom_out = list(loom_out) if isinstance(loom_out, (list, tuple)) else [loom_out]
    assert len(keras_out) == len(loom_out)
    for a, b in zip(keras_out, loom_out):
        np.testing.assert_allclose(b.detach().numpy(), keras.ops.convert_to_numpy(a), atol=1e-5, rtol=1e-5)


def test_layer_checks_and_parity():
    run_layer_test(loom.layers.Bidirectional, {"layer": loom.layers.LSTM(U, return_sequences=True)},
                   input_shape=(B, T, D), expected_output_shape=(B, T, 2 * U), expected_num_trainable_weights=6,
                   supports_masking=True, keras_cls=keras.layers.Bidirectional,
                   keras_init_kwargs={"layer": keras.layers.LSTM(U, return_sequences=True)})


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("rnn", ["LSTM", "GRU", "SimpleRNN"])
def test_merge_modes_masks_and_states_match_keras(merge_mode, rnn):
    for kwargs in ({}, {"return_sequences": True, "return_state": True}):
        k, layer = _pair(rnn, merge_mode, **kwargs)
        x = _x()
        _assert_same(k(x), layer(x))
        _assert_same(k(x, mask=_mask()), layer(x, mask=torch.tensor(_mask())))


def test_initial_state_is_split_between_directions():
    k, layer = _pair("LSTM", "concat", return_sequences=True)
    states = [_x(i, (B, U)) for i in range(4)]
    _assert_same(k(_x(), initial_state=states), layer(_x(), initial_state=[torch.tensor(s) for s in states]))
    with pytest.raises(InputError, match="even"):
        layer(torch.tensor(_x()), initial_state=[torch.zeros(B, U)] * 3)


def test_in_a_model_with_embedding_masks_like_keras():
    def build(lib):
        ids = lib.Input((None,), dtype="int32")
        hidden = lib.layers.Embedding(30, 4, mask_zero=True)(ids)
        hidden = lib.layers.Bidirectional(lib.layers.GRU(3, return_sequences=True), merge_mode="ave")(hidden)
        return lib.Model(ids, lib.layers.Bidirectional(lib.layers.LSTM(2))(hidden))
    k, m = build(keras), build(loom)
    assert m.outputs[0].shape == (None, 4)
    assert [w.shape for w in m.get_weights()] == [w.shape for w in k.get_weights()]
    m.set_weights(k.get_weights())
    ids = np.random.default_rng(0).integers(1, 30, size=(4, 7))
    ids[0, 4:] = 0
    ids[2, :3] = 0
    np.testing.assert_allclose(m(ids).detach().numpy(), k.predict(ids, verbose=0), atol=1e-5)


def test_sublayers_names_weights_and_config_round_trip():
    layer = loom.layers.Bidirectional(loom.layers.GRU(U, return_sequences=True, name="g"), merge_mode="mul")
    layer(torch.zeros(1, T, D))
    assert (layer.forward_layer.name, layer.backward_layer.name) == ("forward_g", "backward_g")
    assert layer.backward_layer.go_backwards and layer.forward_layer.zero_output_for_mask
    assert len(layer.get_weights()) == 6
    clone = loom.layers.Bidirectional.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    clone(torch.zeros(1, T, D))
    clone.set_weights(layer.get_weights())
    x = torch.tensor(_x())
    torch.testing.assert_close(clone(x), layer(x))


def test_custom_backward_layer_weights_argument_and_errors():
    backward = loom.layers.LSTM(3, go_backwards=True, return_sequences=True)
    layer = loom.layers.Bidirectional(loom.layers.LSTM(U, return_sequences=True), backward_layer=backward)
    assert layer(torch.tensor(_x())).shape == (B, T, U + 3)
    first = loom.layers.Bidirectional(loom.layers.SimpleRNN(2))
    first(torch.zeros(1, T, D))
    again = loom.layers.Bidirectional(loom.layers.SimpleRNN(2), weights=first.get_weights())
    again(torch.zeros(1, T, D))
    for a, b in zip(again.get_weights(), first.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ConfigError, match="merge_mode"):
        loom.layers.Bidirectional(loom.layers.LSTM(2), merge_mode="max")
    with pytest.raises(ConfigError, match="recurrent"):
        loom.layers.Bidirectional(loom.layers.Dense(2))
    with pytest.raises(ConfigError, match="go_backwards"):
        loom.layers.Bidirectional(loom.layers.LSTM(2), backward_layer=loom.layers.LSTM(2))
    with pytest.raises(ConfigError, match="return_sequences"):
        loom.layers.Bidirectional(loom.layers.LSTM(2), backward_layer=loom.layers.LSTM(2, go_backwards=True,
                                                                                       return_sequences=True))

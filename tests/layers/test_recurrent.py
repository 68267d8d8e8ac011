"""SimpleRNN, LSTM, GRU against Keras 3: weights layout, fused and step-loop paths, masks, initial states,
dropout masks, stateful carry-over, shape inference and configs."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, InputError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test

B, T, D, U = 3, 6, 4, 5
RNNS = ["SimpleRNN", "LSTM", "GRU"]
STATES = {"SimpleRNN": 1, "LSTM": 2, "GRU": 1}


def _x(seed=0, shape=(B, T, D)):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _mask():
    mask = np.ones((B, T), bool)
    mask[0, 4:] = False  # right padding
    mask[1, [0, 3]] = False  # holes, including the first step
    mask[2, :] = False  # nothing at all
    return mask


def _pair(name, kwargs, seed=1):
    """A Keras layer and a loom layer of class ``name`` with the same random weights."""
    k = getattr(keras.layers, name)(U, **kwargs)
    k.build((None, T, D))
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=w.shape).astype("float32") * 0.5 for w in k.get_weights()]
    k.set_weights(weights)
    layer = getattr(loom.layers, name)(U, **kwargs)
    layer(torch.zeros(1, T, D))
    layer.set_weights(weights)
    for mine, theirs in zip(layer.get_weights(), weights):
        np.testing.assert_array_equal(mine, theirs)
    return k, layer


def _assert_same(keras_out, loom_out, atol=1e-5):
    keras_out = keras_out if isinstance(keras_out, (list, tuple)) else [keras_out]
    loom_out = loom_out if isinstance(loom_out, (list, tuple)) else [loom_out]
    assert len(keras_out) == len(loom_out)
    for a, b in zip(keras_out, loom_out):
        np.testing.assert_allclose(b.detach().numpy(), keras.ops.convert_to_numpy(a), atol=atol, rtol=1e-5)


@pytest.mark.parametrize("name", RNNS)
def test_layer_checks_and_parity(name):
    out_shape = [(B, T, U)] + [(B, U)] * STATES[name]
    run_layer_test(getattr(loom.layers, name), {"units": U, "return_sequences": True, "return_state": True},
                   input_shape=(B, T, D), expected_output_shape=out_shape, expected_num_trainable_weights=3,
                   supports_masking=True, keras_cls=getattr(keras.layers, name))


CONFIGS = [{}, {"return_sequences": True, "go_backwards": True}, {"use_bias": False, "return_state": True},
           {"activation": "relu", "return_sequences": True}, {"zero_output_for_mask": True, "return_sequences": True}]


@pytest.mark.parametrize("name", RNNS)
@pytest.mark.parametrize("kwargs", CONFIGS)
def test_outputs_match_keras_with_and_without_mask_and_initial_state(name, kwargs):
    variants = [kwargs, {**kwargs, "reset_after": False}] if name == "GRU" else [kwargs]
    for kw in variants:
        k, layer = _pair(name, kw)
        x = _x()
        states = [_x(7 + i, (B, U)) for i in range(STATES[name])]
        _assert_same(k(x), layer(x))
        _assert_same(k(x, mask=_mask()), layer(x, mask=torch.tensor(_mask())))
        _assert_same(k(x, initial_state=states), layer(x, initial_state=[torch.tensor(s) for s in states]))
        _assert_same(k(x, initial_state=states, mask=_mask()),
                     layer(x, initial_state=[torch.tensor(s) for s in states], mask=torch.tensor(_mask())))


@pytest.mark.parametrize("name", RNNS)
def test_fused_kernel_and_step_loop_agree(name):
    layer = getattr(loom.layers, name)(U, return_sequences=True, return_state=True)
    x = torch.tensor(_x())
    fused = layer(x)
    looped = layer(x, mask=torch.ones(B, T, dtype=torch.bool))
    for a, b in zip(fused, looped):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def _masks(rng, count, shape, rate):
    return [((rng.random(shape) >= rate) / (1 - rate)).astype("float32") for _ in range(count)]


@pytest.mark.parametrize("name,gates", [("SimpleRNN", 1), ("LSTM", 4), ("GRU", 3)])
@pytest.mark.parametrize("rates", [(0.3, 0.0), (0.0, 0.4), (0.3, 0.4)])
def test_dropout_masks_are_applied_as_keras_does(name, gates, rates):
    """The same dropout masks given to both: Keras's cached cell masks, loom's mask draw."""
    dropout, recurrent = rates
    k, layer = _pair(name, {"dropout": dropout, "recurrent_dropout": recurrent, "return_sequences": True})
    rng = np.random.default_rng(3)
    per_gate = recurrent > 0 and gates > 1
    in_masks = _masks(rng, gates if per_gate else 1, (B, D), dropout) if dropout else None
    rec_masks = _masks(rng, gates, (B, U), recurrent) if recurrent else None
    as_tensor = keras.ops.convert_to_tensor
    if in_masks:
        k.cell._dropout_mask = [as_tensor(m) for m in in_masks] if per_gate else as_tensor(in_masks[0])
    if rec_masks:
        k.cell._recurrent_dropout_mask = [as_tensor(m) for m in rec_masks] if gates > 1 else as_tensor(rec_masks[0])
    expected = k(_x(), training=True)

    def loom_order(masks):  # loom keeps GRU gates in torch's order r, z, h; Keras's is z, r, h
        t = torch.tensor(np.stack(masks))
        return t[[1, 0, 2]] if name == "GRU" and len(masks) == 3 else t
    queue = [loom_order(m) for m in (in_masks, rec_masks) if m]
    layer._draw_mask = lambda shape, rate, like: queue.pop(0)
    _assert_same(expected, layer(_x(), training=True))
    assert not queue


def test_dropout_is_random_in_training_and_off_in_inference():
    layer = loom.layers.LSTM(U, dropout=0.5, recurrent_dropout=0.5, seed=1)
    x = torch.tensor(_x())
    assert torch.equal(layer(x), layer(x))
    a, b = layer(x, training=True), layer(x, training=True)
    assert not torch.equal(a, b)
    assert not torch.equal(a, layer(x))


def test_embedding_mask_zero_feeds_an_lstm_like_keras():
    def build(lib):
        ids = lib.Input((None,), dtype="int32")
        hidden = lib.layers.Embedding(20, 4, mask_zero=True)(ids)
        hidden = lib.layers.LSTM(5, return_sequences=True)(hidden)
        return lib.Model(ids, lib.layers.GRU(3, go_backwards=True)(hidden))
    k, m = build(keras), build(loom)
    m.set_weights(k.get_weights())
    ids = np.random.default_rng(0).integers(1, 20, size=(4, 7))
    ids[0, 5:] = 0
    ids[1, :2] = 0
    ids[2, 3] = 0
    np.testing.assert_allclose(m(ids).detach().numpy(), k.predict(ids, verbose=0), atol=1e-5)


def test_symbolic_initial_state_return_state_and_unknown_lengths():
    def build(lib):
        seq, h0, c0 = lib.Input((None, D)), lib.Input((U,)), lib.Input((U,))
        out, h, c = lib.layers.LSTM(U, return_sequences=True, return_state=True)(seq, initial_state=[h0, c0])
        last = lib.layers.SimpleRNN(U)(out, initial_state=h)
        return lib.Model([seq, h0, c0], [out, h, c, last])
    k, m = build(keras), build(loom)
    assert [t.shape for t in m.outputs] == [(None, None, U), (None, U), (None, U), (None, U)]
    m.set_weights(k.get_weights())
    data = [_x(), _x(1, (B, U)), _x(2, (B, U))]
    for a, b in zip(k.predict(data, verbose=0), m(data)):
        np.testing.assert_allclose(b.detach().numpy(), a, atol=1e-5)


def test_masks_propagate_only_with_return_sequences():
    ids = loom.Input((None,), dtype="int32")
    emb = loom.layers.Embedding(10, 3, mask_zero=True)(ids)
    seq = loom.layers.GRU(4, return_sequences=True)(emb)
    last, state = loom.layers.GRU(4, return_state=True)(seq)
    assert seq.has_mask and not last.has_mask and not state.has_mask


def test_weight_layout_initialization_and_regularizers():
    lstm = loom.layers.LSTM(U, kernel_regularizer="l2")
    lstm(torch.zeros(1, T, D))
    kernel, recurrent, bias = lstm.get_weights()
    assert kernel.shape == (D, 4 * U) and recurrent.shape == (U, 4 * U) and bias.shape == (4 * U,)
    np.testing.assert_array_equal(bias, np.r_[np.zeros(U), np.ones(U), np.zeros(2 * U)])  # unit_forget_bias
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(U), atol=1e-5)  # orthogonal rows, as Keras
    np.testing.assert_allclose(lstm.losses[0].item(), 0.01 * (kernel ** 2).sum(), rtol=1e-5)
    gru = loom.layers.GRU(U)
    gru(torch.zeros(1, T, D))
    weights = [np.arange(w.size, dtype="float32").reshape(w.shape) for w in gru.get_weights()]
    gru.set_weights(weights)  # gate reordering to torch's layout is invertible
    for a, b in zip(gru.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    plain = loom.layers.GRU(U, reset_after=False)
    plain(torch.zeros(1, T, D))
    assert [w.shape for w in plain.get_weights()] == [(D, 3 * U), (U, 3 * U), (3 * U,)]


def test_stateful_layers_carry_states_between_calls():
    x = torch.tensor(_x())
    for name in RNNS:
        plain = getattr(loom.layers, name)(U, return_sequences=True)
        full = plain(x)
        stateful = getattr(loom.layers, name)(U, return_sequences=True, stateful=True)
        stateful(x[:, :1])
        stateful.set_weights(plain.get_weights())
        stateful.reset_states()
        halves = torch.cat([stateful(x[:, :2]), stateful(x[:, 2:])], dim=1)
        torch.testing.assert_close(halves, full)
        with pytest.raises(InputError, match="reset_states"):
            stateful(x[:1])


def test_config_round_trip_keeps_every_argument():
    layer = loom.layers.GRU(U, activation="relu", recurrent_activation="hard_sigmoid", reset_after=False,
                            dropout=0.1, recurrent_dropout=0.2, return_sequences=True, go_backwards=True,
                            kernel_regularizer="l1", recurrent_constraint="non_neg", seed=4, name="g")
    config = layer.get_config()
    assert loom.layers.GRU.from_config(config).get_config() == config
    keras_keys = set(keras.layers.GRU(U).get_config())
    assert keras_keys <= set(config)
    assert set(keras.layers.LSTM(U).get_config()) <= set(loom.layers.LSTM(U).get_config())
    assert set(keras.layers.SimpleRNN(U).get_config()) <= set(loom.layers.SimpleRNN(U).get_config())


def test_errors_are_clear():
    with pytest.raises(ConfigError, match="units"):
        loom.layers.LSTM(0)
    with pytest.raises(ConfigError, match="use_cudnn"):
        loom.layers.GRU(3, use_cudnn="yes")
    lstm = loom.layers.LSTM(U)
    with pytest.raises(InputError, match="2 initial state"):
        lstm(torch.tensor(_x()), initial_state=[torch.zeros(B, U)])
    with pytest.raises(InputError, match="shape"):
        lstm(torch.tensor(_x()), initial_state=[torch.zeros(B, U + 1)] * 2)
    with pytest.raises(InputError, match="mask"):
        lstm(torch.tensor(_x()), mask=torch.ones(B, T + 1, dtype=torch.bool))
    torch.testing.assert_close(lstm(torch.tensor(_x()), mask=torch.tensor(_mask())[..., None]),
                               lstm(torch.tensor(_x()), mask=torch.tensor(_mask())))
    with pytest.raises(loom.errors.ShapeError):
        loom.layers.SimpleRNN(U)(loom.Input((D,)))
    with pytest.raises(ConfigError, match="stateful"):
        loom.layers.SimpleRNN(U).reset_states()

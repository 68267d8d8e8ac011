"""ConvLSTM1D/2D/3D against Keras 3: weights, padding, strides, dilation, data formats, states, masks,
gradients, configs and bad input."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, InputError, ShapeError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test

SHAPES = {1: (2, 4, 9, 3), 2: (2, 3, 7, 6, 2), 3: (1, 3, 5, 4, 6, 2)}
VARIANTS = [(1, {}), (1, {"padding": "same", "return_sequences": True, "go_backwards": True}),
            (1, {"dilation_rate": 2, "return_state": True}), (1, {"data_format": "channels_first", "padding": "same"}),
            (2, {}), (2, {"strides": 2, "padding": "same", "return_state": True}),
            (2, {"kernel_size": 2, "padding": "same", "return_sequences": True, "use_bias": False}),
            (2, {"data_format": "channels_first", "strides": (2, 1)}), (3, {"padding": "same"}),
            (3, {"strides": 2, "return_sequences": True})]


def _np(seed, shape):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _pair(rank, kwargs, x, seed=1):
    kwargs = dict(kwargs)
    kernel = kwargs.pop("kernel_size", 3)
    k = getattr(keras.layers, f"ConvLSTM{rank}D")(4, kernel, **kwargs)
    layer = getattr(loom.layers, f"ConvLSTM{rank}D")(4, kernel, **kwargs)
    k(x)
    layer(torch.tensor(x))
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=w.shape).astype("float32") * 0.3 for w in k.get_weights()]
    k.set_weights(weights)
    layer.set_weights(weights)
    return k, layer


def _inputs(rank, kwargs):
    x = _np(0, SHAPES[rank])
    return np.moveaxis(x, -1, 2).copy() if kwargs.get("data_format") == "channels_first" else x


def _flat(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


def _assert_same(keras_out, loom_out, atol=1e-5):
    keras_out, loom_out = _flat(keras_out), _flat(loom_out)
    assert len(keras_out) == len(loom_out)
    for a, b in zip(keras_out, loom_out):
        np.testing.assert_allclose(b.detach().numpy(), keras.ops.convert_to_numpy(a), atol=atol, rtol=1e-5)


@pytest.mark.parametrize("rank,kwargs", VARIANTS)
def test_outputs_match_keras(rank, kwargs):
    x = _inputs(rank, kwargs)
    k, layer = _pair(rank, kwargs, x)
    assert [w.shape for w in layer.get_weights()] == [w.shape for w in k.get_weights()]
    _assert_same(k(x), layer(torch.tensor(x)))


def test_layer_checks_and_keras_parity():
    run_layer_test(loom.layers.ConvLSTM2D, {"filters": 3, "kernel_size": 3, "padding": "same",
                                            "return_sequences": True, "return_state": True},
                   input_shape=(2, 3, 5, 5, 2), expected_output_shape=[(2, 3, 5, 5, 3), (2, 5, 5, 3), (2, 5, 5, 3)],
                   expected_num_trainable_weights=3, supports_masking=True, keras_cls=keras.layers.ConvLSTM2D)


def test_initial_state_mask_and_gradients_match_keras():
    x = _np(0, (2, 4, 6, 6, 2))
    k, layer = _pair(2, {"padding": "same", "return_sequences": True}, x)
    states = [_np(5, (2, 6, 6, 4)), _np(6, (2, 6, 6, 4))]
    mask = np.array([[True, True, False, False], [True, False, True, True]])
    k_out = k(torch.tensor(x), initial_state=[torch.tensor(s) for s in states], mask=torch.tensor(mask))
    out = layer(torch.tensor(x), initial_state=[torch.tensor(s) for s in states], mask=torch.tensor(mask))
    _assert_same(k_out, out)
    (k_out ** 2).sum().backward()
    (out ** 2).sum().backward()
    for kv, lv in zip(k.trainable_weights, layer.trainable_weights):
        np.testing.assert_allclose(lv.grad.numpy(), kv.value.grad.numpy(), atol=1e-4, rtol=1e-4)


def test_config_matches_keras_and_symbolic_shapes():
    layer = loom.layers.ConvLSTM1D(3, 2, strides=2, dropout=0.1, seed=4, return_state=True)
    k_config = keras.layers.ConvLSTM1D(3, 2, strides=2, dropout=0.1, seed=4, return_state=True).get_config()
    config = layer.get_config()
    assert set(config) == set(k_config)
    for key in ("filters", "padding", "data_format", "dropout", "seed", "return_state", "unroll"):
        assert config[key] == k_config[key], key
    assert tuple(config["kernel_size"]) == k_config["kernel_size"]
    out, h, c = layer(loom.Input((None, 9, 2)))
    assert out.shape == h.shape == c.shape == (None, 4, 3)  # (9 - 2) // 2 + 1
    assert layer.filters == 3 and layer.strides == (2,)


def test_dropout_only_in_training_and_stateful_carry_over():
    layer = loom.layers.ConvLSTM2D(2, 3, dropout=0.4, recurrent_dropout=0.4, seed=0)
    x = torch.tensor(_np(0, (2, 3, 5, 5, 1)))
    assert torch.equal(layer(x), layer(x))
    assert not torch.allclose(layer(x, training=True), layer(x))
    stateful = loom.layers.ConvLSTM2D(2, 3, padding="same", stateful=True, return_sequences=True)
    whole = loom.layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True)
    long = torch.tensor(_np(1, (2, 6, 5, 5, 1)))
    whole(long)
    stateful(long[:, :3])
    stateful.set_weights(whole.get_weights())
    stateful.reset_states()
    parts = torch.cat([stateful(long[:, :3]), stateful(long[:, 3:])], dim=1)
    torch.testing.assert_close(parts, whole(long), atol=1e-5, rtol=1e-5)


def test_bad_input_is_refused():
    with pytest.raises(ConfigError, match="dilation_rate"):
        loom.layers.ConvLSTM2D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ConfigError, match="padding"):
        loom.layers.ConvLSTM2D(2, 3, padding="causal")
    with pytest.raises(ConfigError, match="^ConvLSTM1D 'frames': filters must be a positive int"):
        loom.layers.ConvLSTM1D(0, 3, name="frames")  # the layer the user made, not its inner cell
    with pytest.raises(ShapeError, match="rank 5"):
        loom.layers.ConvLSTM2D(2, 3)(loom.Input((4, 5, 5)))
    with pytest.raises(ShapeError, match="^ConvLSTM2D 'clips' needs static"):
        loom.layers.ConvLSTM2D(2, 3, name="clips")(loom.Input((4, None, 5, 1)))
    with pytest.raises(ConfigError, match="^ConvLSTM3D 'volumes': .*dilation_rate"):
        loom.layers.ConvLSTM3D(2, 3, strides=2, dilation_rate=2, name="volumes")
    layer = loom.layers.ConvLSTM2D(2, 3)
    layer(torch.zeros(1, 2, 5, 5, 1))
    with pytest.raises(InputError, match=r"\(1, 3, 3, 2\)"):
        layer(torch.zeros(1, 2, 5, 5, 1), initial_state=[torch.zeros(1, 5, 5, 2)] * 2)


def test_bidirectional_conv_lstm_matches_keras():
    x = _np(0, (2, 3, 5, 5, 2))
    k = keras.layers.Bidirectional(keras.layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True))
    layer = loom.layers.Bidirectional(loom.layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True))
    k(x)
    layer(torch.tensor(x))
    layer.set_weights(k.get_weights())
    _assert_same(k(x), layer(torch.tensor(x)))

"""Masking: outputs, the mask it emits, and the mask reaching a recurrent layer, against Keras 3."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test


def _padded(seed=0, pad=-1.0):
    x = np.random.default_rng(seed).normal(size=(3, 6, 4)).astype("float32")
    x[0, 4:] = pad
    x[1, 1] = pad
    x[2, 2, :2] = pad  # partly equal to the pad value: not masked
    return x


def test_masking_layer_checks_and_parity():
    run_layer_test(loom.layers.Masking, {"mask_value": -1.0}, input_data=_padded(), expected_output_shape=(3, 6, 4),
                   expected_num_trainable_weights=0, supports_masking=True, keras_cls=keras.layers.Masking)


def test_outputs_zero_the_masked_steps_and_the_mask_matches_keras():
    x = _padded()
    layer = loom.layers.Masking(mask_value=-1.0)
    k = keras.layers.Masking(mask_value=-1.0)
    np.testing.assert_array_equal(layer(x).numpy(), keras.ops.convert_to_numpy(k(x)))
    mask = layer.compute_mask(torch.tensor(x))
    np.testing.assert_array_equal(mask.numpy(), keras.ops.convert_to_numpy(k.compute_mask(x)))
    assert mask.tolist()[0] == [True] * 4 + [False] * 2 and not mask[1, 1] and mask[2, 2]


def test_masked_steps_are_skipped_by_an_lstm_in_a_model_like_keras():
    def build(lib):
        inputs = lib.Input((None, 4))
        hidden = lib.layers.Masking(mask_value=-1.0)(inputs)
        outputs = lib.layers.LSTM(5, return_sequences=True)(hidden)
        return lib.Model(inputs, outputs)
    k, m = build(keras), build(loom)
    m.set_weights(k.get_weights())
    x = _padded()
    np.testing.assert_allclose(m(x).detach().numpy(), k.predict(x, verbose=0), atol=1e-5)
    assert m.outputs[0].shape == (None, None, 5) and m.outputs[0].has_mask


def test_config_and_errors():
    layer = loom.layers.Masking.from_config(loom.layers.Masking(mask_value=2.5, name="pad").get_config())
    assert layer.mask_value == 2.5 and layer.name == "pad"
    assert loom.layers.Masking().mask_value == 0.0
    with pytest.raises(ConfigError, match="mask_value"):
        loom.layers.Masking(mask_value="zero")

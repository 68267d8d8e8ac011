"""Masks carried on eager tensors (``_keras_mask``), as Keras does outside functional graphs
(loom/layers/eager_masks.py)."""

import numpy as np
import torch

import loom
from tests.keras_oracle import keras
from tests.tolerance import assert_allclose_scaled

TOKENS = np.array([[3, 5, 0, 0, 0], [1, 2, 7, 4, 0]], "int32")


def test_embedding_output_carries_its_mask_and_a_layer_taking_mask_receives_it():
    seen = []

    class Recorder(loom.layers.Layer):
        def call(self, inputs, mask=None):
            seen.append(mask)
            return inputs

    out = loom.layers.Embedding(10, 3, mask_zero=True)(TOKENS)
    np.testing.assert_array_equal(np.asarray(out._keras_mask), TOKENS != 0)
    Recorder()(out)
    np.testing.assert_array_equal(np.asarray(seen[-1]), TOKENS != 0)
    explicit = torch.ones(2, 5, dtype=torch.bool)
    Recorder()(out, mask=explicit)
    assert seen[-1] is explicit  # a mask the caller passes wins
    dense_out = loom.layers.Dense(2)(out)  # Dense supports masking: the mask goes on
    np.testing.assert_array_equal(np.asarray(dense_out._keras_mask), TOKENS != 0)
    assert getattr(loom.layers.Embedding(10, 3)(TOKENS), "_keras_mask", None) is None


def _subclassed(lib):
    class Encoder(lib.Model):
        def __init__(self):
            super().__init__()
            self.embed = lib.layers.Embedding(10, 4, mask_zero=True)
            self.lstm = lib.layers.LSTM(3)
            self.pool = lib.layers.GlobalAveragePooling1D()

        def call(self, inputs):
            h = self.embed(inputs)
            return lib.ops.concatenate([self.lstm(h), self.pool(h)], axis=-1)

    return Encoder()


def test_subclassed_model_passes_the_embedding_mask_to_lstm_and_pooling_as_keras():
    km, lm = _subclassed(keras), _subclassed(loom)
    km(TOKENS), lm(TOKENS)
    lm.set_weights(km.get_weights())
    out = lm.predict(TOKENS, verbose=0)
    assert_allclose_scaled(out, km.predict(TOKENS, verbose=0))
    table = lm.get_weights()[0]
    np.testing.assert_allclose(out[0, 3:], table[[3, 5]].mean(axis=0), rtol=1e-5)  # padding left out

"""ActivityPenalty (the activity_regularizer of Dense, convolutions and RNNs) against Keras 3."""

import numpy as np
import pytest

import loom
from loom.layers.activity_penalty import ActivityPenalty
from tests.keras_oracle import keras

_LAYERS = [
    ("Dense", (3,), {}, (4, 5)),
    ("Conv2D", (2, 3), {}, (2, 6, 6, 3)),
    ("SeparableConv2D", (2, 3), {}, (2, 6, 6, 3)),
    ("LSTM", (3,), {"return_state": True}, (2, 5, 4)),
    ("GRU", (3,), {"return_sequences": True}, (2, 5, 4)),
]


@pytest.mark.parametrize("name, args, kwargs, shape", _LAYERS, ids=[row[0] for row in _LAYERS])
def test_penalty_is_keras_sum_over_outputs(name, args, kwargs, shape):
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    layer = getattr(loom.layers, name)(*args, activity_regularizer=loom.regularizers.L1L2(0.1, 0.2), **kwargs)
    keras_layer = getattr(keras.layers, name)(*args, activity_regularizer=keras.regularizers.L1L2(0.1, 0.2),
                                             **kwargs)
    keras_layer(x)
    layer.build(shape)
    layer.set_weights(keras_layer.get_weights())
    keras_layer._clear_losses()
    keras_layer(x)
    layer(x)
    assert isinstance(layer, ActivityPenalty)
    assert len(layer.losses) == 1
    expected = sum(float(keras.ops.convert_to_numpy(loss)) for loss in keras_layer.losses)
    np.testing.assert_allclose(float(layer.losses[0].detach()), expected, rtol=1e-5)


def test_symbolic_calls_and_layers_without_regularizer_record_nothing():
    lstm = loom.layers.LSTM(2, activity_regularizer="l2", return_state=True)
    lstm(loom.Input((5, 4)))
    assert lstm.losses == []
    plain = loom.layers.Conv1D(2, 3)
    plain(np.ones((1, 5, 4), "float32"))
    assert plain.losses == []

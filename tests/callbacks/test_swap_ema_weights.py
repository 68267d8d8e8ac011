"""SwapEMAWeights against Keras 3: validation on the averages, the averages in the model between epochs."""

import numpy as np
import pytest

import loom
from loom.errors import ConfigError
from tests.keras_oracle import keras
from tests.tolerance import assert_allclose_scaled

RNG = np.random.default_rng(0)
X, Y = RNG.normal(size=(32, 3)).astype("float32"), RNG.normal(size=(32, 1)).astype("float32")


def _model(lib, use_ema=True):
    lib.utils.set_random_seed(1)
    inputs = lib.Input((3,))
    model = lib.Model(inputs, lib.layers.Dense(1)(lib.layers.Dense(4, activation="relu")(inputs)))
    model.compile(optimizer=lib.optimizers.SGD(0.05, momentum=0.5, use_ema=use_ema, ema_momentum=0.6), loss="mse")
    return model


class _Weights:
    """Records the first weight at every epoch end (after SwapEMAWeights, placed before it, has run)."""

    def __init__(self, lib):
        self.seen = []
        recorder = self

        class Record(lib.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                recorder.seen.append(np.array(self.model.get_weights()[0]))
        self.callback = Record()


@pytest.mark.parametrize("swap_on_epoch", [False, True])
def test_validation_and_weights_match_keras(swap_on_epoch):
    theirs, ours = _model(keras), _model(loom)
    ours.set_weights(theirs.get_weights())
    histories, seen = [], []
    for lib, model in ((keras, theirs), (loom, ours)):
        record = _Weights(lib)
        callbacks = [lib.callbacks.SwapEMAWeights(swap_on_epoch=swap_on_epoch), record.callback]
        histories.append(model.fit(X, Y, validation_data=(X, Y), epochs=3, batch_size=8, shuffle=False,
                                   verbose=0, callbacks=callbacks).history)
        seen.append(record.seen)
    for key in ("loss", "val_loss"):
        assert_allclose_scaled(histories[1][key], histories[0][key], rel=1e-5, err_msg=key)
    assert_allclose_scaled(np.stack(seen[1]), np.stack(seen[0]), rel=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        assert_allclose_scaled(a, b, rel=1e-5)


def test_evaluate_uses_averages_and_restores_weights():
    model = _model(loom)
    model.fit(X, Y, epochs=1, batch_size=8, verbose=0)  # ends with the weights set to their averages
    for _ in range(3):
        model.train_on_batch(X, Y)  # the weights move on from their averages
    before = [w.copy() for w in model.get_weights()]
    swap = loom.callbacks.SwapEMAWeights()
    with_swap = model.evaluate(X, Y, verbose=0, callbacks=[swap])
    assert [np.array_equal(a, b) for a, b in zip(model.get_weights(), before)] == [True] * len(before)
    assert with_swap != model.evaluate(X, Y, verbose=0)


def test_requires_an_ema_optimizer():
    model = _model(loom, use_ema=False)
    with pytest.raises(ConfigError, match="use_ema=True"):
        model.fit(X, Y, validation_data=(X, Y), epochs=1, verbose=0, callbacks=[loom.callbacks.SwapEMAWeights()])

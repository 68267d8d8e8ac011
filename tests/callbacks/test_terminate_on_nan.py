import numpy as np
import pytest

import loom
from loom.callbacks import TerminateOnNaN
from loom.errors import TrainingError
from tests.callbacks.fakes import FakeModel


def _model():
    model = loom.Sequential([loom.layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse")
    return model


def _data():
    x = np.ones((12, 2))
    x[5] = np.nan  # batch 2 of 6 with batch_size=2
    return x, np.ones((12, 1))


def test_stops_at_the_first_bad_batch():
    cb = TerminateOnNaN()
    model = FakeModel()
    cb.set_model(model)
    cb.on_train_batch_end(0, {"loss": 1.0})
    assert not model.stop_training
    cb.on_train_batch_end(1, {"loss": float("inf")})
    assert model.stop_training
    seen = []
    counter = loom.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(batch))
    x, y = _data()
    history = _model().fit(x, y, batch_size=2, shuffle=False, epochs=3, verbose=0,
                           callbacks=[counter, TerminateOnNaN()])
    assert seen == [0, 1, 2]  # a graceful stop: no batch after the bad one, History returned
    assert len(history.history["loss"]) == 1 and np.isnan(history.history["loss"][0])


def test_without_it_the_loop_raises_at_the_epoch_end():
    x, y = _data()
    with pytest.raises(TrainingError, match="batch 2"):
        _model().fit(x, y, batch_size=2, shuffle=False, verbose=0)


def test_raise_error():
    x, y = _data()
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch 2"):
        _model().fit(x, y, batch_size=2, shuffle=False, verbose=0, callbacks=[TerminateOnNaN(raise_error=True)])

import numpy as np

import loom
from loom.callbacks import History


def test_history_records_epochs_and_grows_across_fits():
    h = History()
    h.on_train_begin()
    h.on_epoch_end(0, {"loss": 1.0})
    h.on_epoch_end(1, {"loss": 0.5})
    assert h.history == {"loss": [1.0, 0.5]} and h.epoch == [0, 1]
    h.on_train_begin()
    h.on_epoch_end(0, {"loss": 0.25})
    assert h.history["loss"] == [1.0, 0.5, 0.25] and h.epoch == [0]


def test_fit_returns_history_attached_to_model():
    model = loom.Sequential([loom.layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(np.random.rand(8, 2), np.random.rand(8, 1), epochs=3, verbose=0)
    assert isinstance(history, History)
    assert model.history is history
    assert history.epoch == [0, 1, 2]
    assert len(history.history["loss"]) == 3
    assert all(isinstance(v, float) for v in history.history["loss"])
    assert history.params == {"verbose": 0, "epochs": 3, "steps": 1}

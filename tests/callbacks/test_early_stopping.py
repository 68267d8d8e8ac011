import numpy as np
import pytest

import loom
from loom.callbacks import EarlyStopping
from tests.callbacks.fakes import FakeModel, drive, losses
from tests.keras_oracle import keras

SEQUENCE = [1.0, 0.9, 0.91, 0.905, 0.95, 0.8, 0.85, 0.86, 0.79, 0.87, 0.88, 0.89]


@pytest.mark.parametrize("kwargs", [
    {}, {"patience": 1}, {"patience": 2}, {"patience": 3, "min_delta": 0.02},
    {"patience": 2, "restore_best_weights": True}, {"patience": 0, "restore_best_weights": True},
    {"patience": 2, "baseline": 0.85}, {"patience": 1, "baseline": 0.5, "restore_best_weights": True},
    {"patience": 1, "start_from_epoch": 4}, {"patience": 50, "restore_best_weights": True},
    {"monitor": "val_acc", "mode": "max", "patience": 2}, {"mode": "max", "patience": 1},
])
def test_matches_keras_on_the_same_logs(kwargs):
    key = kwargs.get("monitor", "val_loss")
    logs = losses(SEQUENCE if key == "val_loss" else [1 - v for v in SEQUENCE], key)
    ours, theirs = EarlyStopping(**kwargs), keras.callbacks.EarlyStopping(**kwargs)
    our_model, their_model = FakeModel(), FakeModel()
    ran = drive(ours, our_model, logs)[0]
    assert ran == drive(theirs, their_model, logs)[0]
    assert ours.stopped_epoch == theirs.stopped_epoch
    assert ours.wait == theirs.wait
    assert ours.best == pytest.approx(float(theirs.best))
    assert our_model.get_weights() == their_model.get_weights()


def test_missing_metric_warns_and_never_stops():
    cb = EarlyStopping(monitor="val_acc", patience=0)
    with pytest.warns(UserWarning, match="Available metrics are: loss,val_loss"):
        ran, _ = drive(cb, FakeModel(), losses([1.0, 2.0, 3.0]))
    assert ran == 3


def test_reusable_across_fits_and_state_round_trip():
    cb = EarlyStopping(patience=1, restore_best_weights=True)
    drive(cb, FakeModel(), losses([1.0, 2.0, 3.0, 4.0]))
    assert cb.stopped_epoch == 1
    state = cb.state_dict()
    assert state["best"] == 1.0 and state["wait"] == 1
    other = EarlyStopping(patience=1, restore_best_weights=True)
    other.load_state_dict(state)
    assert other.best_weights[0].tolist() == [0.0] and other.stopped_epoch == 1
    ran, _ = drive(cb, FakeModel(), losses([5.0, 4.0, 3.0]))  # on_train_begin resets
    assert ran == 3 and cb.stopped_epoch == 0


def test_stops_a_real_fit_and_restores_best_weights():
    loom.utils.set_random_seed(0)
    model = loom.Sequential([loom.layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.random.rand(32, 2), np.random.rand(32, 1)
    snapshots = []
    record = loom.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: snapshots.append(model.get_weights()))
    stop = EarlyStopping(monitor="loss", min_delta=100.0, patience=2, restore_best_weights=True, verbose=1)
    history = model.fit(x, y, epochs=10, verbose=0, callbacks=[record, stop])
    assert len(history.history["loss"]) == 3 and stop.stopped_epoch == 2 and stop.best_epoch == 0
    assert not np.array_equal(snapshots[0][0], snapshots[-1][0])  # training moved the weights...
    for got, expected in zip(model.get_weights(), snapshots[0]):  # ...and the best epoch's came back
        np.testing.assert_array_equal(got, expected)

import numpy as np
import pytest

import loom
from loom.callbacks import ReduceLROnPlateau
from loom.errors import ConfigError
from loom.optimizers import SGD
from tests.callbacks.fakes import FakeModel, drive, losses
from tests.keras_oracle import keras

SEQUENCE = [1.0, 0.9, 0.9, 0.9, 0.9, 0.85, 0.85, 0.85, 0.84, 0.8399, 0.84, 0.84, 0.84, 0.84]


@pytest.mark.parametrize("kwargs", [
    {"patience": 0}, {"patience": 1}, {"patience": 2, "factor": 0.5}, {"patience": 1, "cooldown": 2},
    {"patience": 1, "min_lr": 0.02}, {"patience": 1, "min_delta": 0.0}, {"patience": 1, "min_delta": 0.055},
    {"patience": 1, "mode": "max"},
])
def test_matches_keras_on_the_same_logs(kwargs):
    logs = losses(SEQUENCE)
    ours, theirs = ReduceLROnPlateau(**kwargs), keras.callbacks.ReduceLROnPlateau(**kwargs)
    our_model, their_model = FakeModel(0.1), FakeModel(0.1)
    _, our_rates = drive(ours, our_model, logs)
    _, their_rates = drive(theirs, their_model, logs)
    np.testing.assert_allclose(our_rates, their_rates, rtol=1e-6)
    assert (ours.wait, ours.cooldown_counter) == (theirs.wait, theirs.cooldown_counter)


def test_adds_learning_rate_to_logs_and_rejects_bad_factor():
    logs = {"val_loss": 1.0}
    cb = ReduceLROnPlateau()
    cb.set_model(FakeModel(0.3))
    cb.on_train_begin()
    cb.on_epoch_end(0, logs)
    assert logs["learning_rate"] == 0.3
    with pytest.raises(ConfigError, match="factor"):
        ReduceLROnPlateau(factor=1.0)
    with pytest.raises(ConfigError, match="epsilon"):
        ReduceLROnPlateau(epsilon=0.1)


def test_state_round_trip():
    cb = ReduceLROnPlateau(patience=3, cooldown=1)
    drive(cb, FakeModel(), losses([1.0, 2.0, 2.0]))
    other = ReduceLROnPlateau(patience=3, cooldown=1)
    other.load_state_dict(cb.state_dict())
    assert (other.best, other.wait, other.cooldown_counter) == (1.0, 2, 0)


def test_changes_the_rate_of_a_real_optimizer():
    model = loom.Sequential([loom.layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer=SGD(learning_rate=0.2), loss="mse")
    cb = ReduceLROnPlateau(monitor="loss", patience=0, min_delta=100.0, factor=0.5)
    history = model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=3, verbose=0, callbacks=[cb])
    assert history.history["learning_rate"] == [0.2, 0.2, 0.1]  # the first epoch always improves
    assert model.optimizer.learning_rate == 0.05
    assert model.optimizer.param_groups[0]["lr"] == 0.05

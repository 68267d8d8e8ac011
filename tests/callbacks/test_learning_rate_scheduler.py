import numpy as np
import pytest

import loom
from loom.callbacks import LearningRateScheduler
from loom.errors import ConfigError
from loom.optimizers import Adam
from tests.callbacks.fakes import FakeModel, drive, losses
from tests.keras_oracle import keras


@pytest.mark.parametrize("schedule", [
    lambda epoch, lr: lr * 0.5 if epoch % 2 else lr,
    lambda epoch: 0.1 / (epoch + 1),
])
def test_matches_keras(schedule):
    ours, theirs = LearningRateScheduler(schedule), keras.callbacks.LearningRateScheduler(schedule)
    our_model, their_model = FakeModel(0.1), FakeModel(0.1)
    logs = losses([1.0] * 5)
    np.testing.assert_allclose(drive(ours, our_model, logs)[1], drive(theirs, their_model, logs)[1], rtol=1e-6)


def test_bad_schedule_output_and_history_of_rates():
    cb = LearningRateScheduler(lambda epoch, lr: "fast")
    with pytest.raises(ConfigError, match="should be a float"):
        drive(cb, FakeModel(), losses([1.0]))
    with pytest.raises(ConfigError, match="callable"):
        LearningRateScheduler(0.1)
    model = loom.Sequential([loom.layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer=Adam(learning_rate=1.0), loss="mse")
    scheduler = LearningRateScheduler(lambda epoch, lr: np.float32(1.0 / 2 ** epoch), verbose=1)
    history = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=3, verbose=0, callbacks=[scheduler])
    assert history.history["learning_rate"] == [1.0, 0.5, 0.25]
    assert model.optimizer.param_groups[0]["lr"] == 0.25

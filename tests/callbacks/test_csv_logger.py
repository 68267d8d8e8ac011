import numpy as np
import pytest

import loom
from loom.callbacks import CSVLogger
from tests.callbacks.fakes import FakeModel, drive
from tests.keras_oracle import keras

LOGS = [{"loss": 0.5, "acc": 0.25, "val_loss": 0.75, "val_acc": 0.125},
        {"loss": 0.25, "acc": 0.5, "val_loss": 0.5, "val_acc": 0.375},
        {"loss": 0.125, "acc": [1, 2], "val_loss": 0.25}]


@pytest.mark.parametrize("separator", [",", ";"])
def test_same_file_as_keras_and_append(tmp_path, separator):
    ours, theirs = tmp_path / "ours.csv", tmp_path / "theirs.csv"
    for append in (False, True):
        drive(CSVLogger(ours, separator=separator, append=append), FakeModel(), LOGS)
        drive(keras.callbacks.CSVLogger(str(theirs), separator=separator, append=append), FakeModel(), LOGS)
        assert ours.read_bytes() == theirs.read_bytes()
    assert ours.read_text().count("epoch") == 1  # appending to a file with a header adds no header


def test_train_only_logs_get_val_columns(tmp_path):
    path = tmp_path / "log.csv"
    model = loom.Sequential([loom.layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0, callbacks=[CSVLogger(path)])
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch,loss,mae,val_loss,val_mae"
    assert [line.split(",")[0] for line in lines[1:]] == ["0", "1"]
    assert lines[1].endswith(",NA,NA")


def test_state_restores_rows_and_rewrites_the_file(tmp_path):
    path = tmp_path / "log.csv"
    cb = CSVLogger(path)
    drive(cb, FakeModel(), LOGS[:2])
    state = cb.state_dict()
    path.write_text("garbage from a killed run\n")
    resumed = CSVLogger(path)
    resumed.set_model(FakeModel())
    resumed.on_train_begin()
    resumed.load_state_dict(state)
    resumed.on_epoch_end(2, LOGS[2])
    expected = tmp_path / "expected.csv"
    drive(CSVLogger(expected), FakeModel(), LOGS)
    assert path.read_text() == expected.read_text()

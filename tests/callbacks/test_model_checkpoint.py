import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import loom
from loom.callbacks import ModelCheckpoint
from loom.errors import ConfigError
from tests.callbacks.fakes import FakeModel, drive
from tests.keras_oracle import keras

VAL_LOSS = [1.0, 0.8, 0.85, 0.7, 0.75, 0.72, 0.6]


def _logs():
    return [{"loss": 1.0, "val_loss": v, "val_acc": 1 - v} for v in VAL_LOSS]


@pytest.mark.parametrize("kwargs, weights_only", [
    ({}, True), ({"save_best_only": True}, True), ({"save_best_only": True, "monitor": "val_acc", "mode": "max"}, True),
    ({"save_best_only": True, "initial_value_threshold": 0.75}, True), ({"save_best_only": True}, False),
    ({"save_freq": 3}, True), ({"save_freq": 2, "save_best_only": False}, False),
])
def test_saves_what_keras_saves(tmp_path, kwargs, weights_only):
    name = "ckpt.{epoch:02d}-{val_loss:.2f}" if kwargs.get("save_freq", "epoch") == "epoch" else "ckpt.{epoch:02d}-{batch:02d}"
    path = str(tmp_path / (name + (".weights.h5" if weights_only else ".keras")))
    ours, theirs = FakeModel(), FakeModel()
    logs = _logs() if "save_freq" not in kwargs else [{"loss": 1.0}] * 3
    drive(ModelCheckpoint(path, save_weights_only=weights_only, **kwargs), ours, logs, batches_per_epoch=4)
    drive(keras.callbacks.ModelCheckpoint(path, save_weights_only=weights_only, **kwargs), theirs, logs,
          batches_per_epoch=4)
    assert ours.saved == theirs.saved and ours.saved


def test_bad_arguments_and_templates(tmp_path):
    with pytest.raises(ConfigError, match="save_freq"):
        ModelCheckpoint("x.loom", save_freq="batch")
    cb = ModelCheckpoint(str(tmp_path / "m.{val_acc:.2f}.loom"))
    cb.set_model(FakeModel())
    with pytest.raises(ConfigError, match="Available fields: \\['epoch', 'loss'\\]"):
        cb.on_epoch_end(0, {"loss": 1.0})
    os.mkdir(tmp_path / "dir.loom")
    cb = ModelCheckpoint(str(tmp_path / "dir.loom"))
    cb.set_model(FakeModel())
    with pytest.raises(ConfigError, match="directory"):
        cb.on_epoch_end(0, {"val_loss": 1.0})


def test_missing_monitor_warns_and_saves(tmp_path):
    model = FakeModel()
    with pytest.warns(UserWarning, match="Available metrics are: loss"):
        drive(ModelCheckpoint(str(tmp_path / "m.loom"), save_best_only=True), model, [{"loss": 1.0}])
    assert len(model.saved) == 1


def _model():
    model = loom.Sequential([loom.layers.Dense(4, activation="relu", input_shape=(3,)), loom.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def test_real_files_best_only_and_weights(tmp_path):
    x, y = np.random.rand(64, 3), np.random.rand(64, 1)
    model = _model()
    best = str(tmp_path / "sub" / "best.loom")
    snapshots = []
    record = loom.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: snapshots.append((logs["val_loss"], model.get_weights())))
    weights = ModelCheckpoint(str(tmp_path / "w.{epoch:02d}.weights.safetensors"), save_weights_only=True,
                              monitor="val_loss", verbose=1)
    model.fit(x, y, epochs=4, validation_split=0.25, verbose=0,
              callbacks=[record, ModelCheckpoint(best, save_best_only=True), weights])
    assert sorted(os.listdir(tmp_path)) == ["sub"] + [f"w.{i:02d}.weights.safetensors" for i in range(1, 5)]
    best_weights = min(snapshots, key=lambda s: s[0])[1]
    for got, expected in zip(loom.models.load_model(best).get_weights(), best_weights):
        np.testing.assert_array_equal(got, expected)
    other = _model()
    other.load_weights(str(tmp_path / "w.02.weights.safetensors"))
    for got, expected in zip(other.get_weights(), snapshots[1][1]):
        np.testing.assert_array_equal(got, expected)


SCRIPT = textwrap.dedent("""
    import sys, time, zipfile, numpy as np, loom
    target, marker, stall_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if stall_at:  # test harness: stall inside the N-th save, after its first zip entry was written
        writes, original = [], zipfile.ZipFile.writestr

        def slow_writestr(self, info, data, *args, **kwargs):
            if getattr(info, "filename", info) == "model.safetensors":
                writes.append(1)
                if len(writes) == stall_at:
                    open(marker, "w").close()
                    time.sleep(600)
            return original(self, info, data, *args, **kwargs)
        zipfile.ZipFile.writestr = slow_writestr
    loom.utils.set_random_seed(0)
    model = loom.Sequential([loom.layers.Dense(1024, input_shape=(1024,)), loom.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    x, y = np.random.rand(8, 1024), np.random.rand(8, 1)
    print("ready", flush=True)
    model.fit(x, y, batch_size=8, epochs=100000, verbose=0,
              callbacks=[loom.callbacks.ModelCheckpoint(target, save_freq=1)])
""")


def _check_folder(target, shapes):
    names = os.listdir(target.parent) if target.parent.exists() else []
    assert all(n == "model.loom" or (n.startswith(".model.loom.") and n.endswith(".tmp")) for n in names), names
    if target.exists():
        assert [w.shape for w in loom.models.load_model(str(target)).get_weights()] == shapes
    return names


@pytest.mark.slow
def test_never_leaves_a_partial_file_when_killed(tmp_path):
    """SIGKILL the saving process inside a write, then at random moments: the checkpoint is always a
    complete, loadable model; a killed write leaves only a hidden temporary file beside it."""
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    target, marker = tmp_path / "ckpt" / "model.loom", tmp_path / "marker"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    shapes = [(1024, 1024), (1024,), (1024, 1), (1,)]

    def launch(stall_at):
        return subprocess.Popen([sys.executable, str(script), str(target), str(marker), str(stall_at)], env=env,
                                stdout=subprocess.PIPE)

    proc = launch(stall_at=3)
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert len(_check_folder(target, shapes)) == 2 and target.exists()  # the 2nd save and the killed 3rd
    rng = random.Random(7)
    for _ in range(4):
        proc = launch(stall_at=0)
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 1.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        _check_folder(target, shapes)


def test_temporaries_of_a_killed_save_are_removed_when_training_starts(tmp_path):
    """A SIGKILL during an atomic write leaves ``.<name>.<random>.tmp``; the next fit removes exactly those."""
    folder = tmp_path / "ckpt"
    folder.mkdir()
    stale = [folder / ".epoch03.weights.h5.k2j4_x9a.tmp", folder / ".log.csv.abcdefgh.tmp"]
    keep = [folder / ".other.h5.abcdefgh.tmp", folder / "epoch01.weights.h5.tmp", folder / "notes.txt"]
    for path in stale + keep:
        path.write_bytes(b"partial")
    model = loom.Sequential([loom.layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse")
    callbacks = [ModelCheckpoint(str(folder / "epoch{epoch:02d}.weights.h5"), save_weights_only=True),
                 loom.callbacks.CSVLogger(str(folder / "log.csv"))]
    model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=1, verbose=0, callbacks=callbacks)
    assert not any(path.exists() for path in stale)
    assert all(path.exists() for path in keep)
    assert (folder / "epoch01.weights.h5").exists()

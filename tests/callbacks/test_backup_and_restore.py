"""BackupAndRestore: a run interrupted anywhere (an exception, kill -9 mid-epoch, kill -9 mid-save) and run
again ends with exactly the weights, history and CSV log of an uninterrupted run."""

import json
import os
import queue
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
import zipfile

import numpy as np
import pytest
import torch

import loom
from loom.callbacks import BackupAndRestore, EarlyStopping, ReduceLROnPlateau
from loom.callbacks import training_state
from loom.errors import ConfigError, ModelFileError
from loom.models import safetensors_io


def _build(seed=0, units=16):
    loom.utils.set_random_seed(seed)
    loom.backend.clear_session()
    model = loom.Sequential([
        loom.layers.Dense(units, activation="relu", input_shape=(6,)), loom.layers.Dropout(0.3),
        loom.layers.BatchNormalization(), loom.layers.Dropout(0.2, seed=5), loom.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


def _data():
    rng = np.random.default_rng(3)
    return rng.random((96, 6)).astype("float32"), rng.random((96, 1)).astype("float32")


class Crash(loom.callbacks.Callback):
    def __init__(self, epoch, batch=None):
        super().__init__()
        self.epoch, self.batch = epoch, batch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch and self.batch is None:
            raise KeyboardInterrupt("crash")

    def on_train_batch_end(self, batch, logs=None):
        if self.batch is not None and self.epoch == len(self.model.history.epoch) and batch == self.batch:
            raise KeyboardInterrupt("crash")


def _callbacks(backup, **kwargs):
    return [EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True),
            ReduceLROnPlateau(monitor="val_loss", patience=1, factor=0.5, min_delta=0.01),
            BackupAndRestore(backup, **kwargs)]


def _fit(model, backup, epochs=8, extra=(), **kwargs):
    x, y = _data()
    return model.fit(x, y, batch_size=16, epochs=epochs, validation_split=0.25, verbose=0,
                     callbacks=[*extra, *_callbacks(backup, **kwargs)])


def _assert_same_weights(a, b):
    for u, v in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(u, v)


class LastWeights(loom.callbacks.Callback):
    """The weights at the last epoch end (before EarlyStopping puts the best ones back)."""

    def on_epoch_end(self, epoch, logs=None):
        self.weights = self.model.get_weights()


def test_resumes_after_an_exception_exactly(tmp_path):
    reference, reference_last = _build(), LastWeights()
    expected = _fit(reference, tmp_path / "reference", extra=[reference_last]).history
    model = _build()
    with pytest.raises(KeyboardInterrupt):
        _fit(model, tmp_path / "backup", extra=[Crash(epoch=4)])
    assert os.listdir(tmp_path / "backup") == ["training_state.zip"]
    resumed, last = _build(), LastWeights()
    history = _fit(resumed, tmp_path / "backup", extra=[last])
    assert history.history == expected and history.epoch == list(range(len(expected["loss"])))
    _assert_same_weights(resumed, reference)
    for a, b in zip(last.weights, reference_last.weights, strict=True):
        np.testing.assert_array_equal(a, b)
    assert resumed.optimizer.iterations == reference.optimizer.iterations
    assert resumed.optimizer.learning_rate == reference.optimizer.learning_rate
    assert not os.path.exists(tmp_path / "backup")  # delete_checkpoint=True


def test_a_stopped_run_stays_stopped_and_restores_best_weights(tmp_path):
    reference = _build()
    expected = _fit(reference, tmp_path / "reference", epochs=40, delete_checkpoint=False)
    assert len(expected.epoch) < 40  # EarlyStopping stopped it
    again = _build()
    history = _fit(again, tmp_path / "reference", epochs=40)
    assert history.history == expected.history
    _assert_same_weights(again, reference)


def test_state_file_holds_every_callbacks_state(tmp_path):
    model = _build()
    with pytest.raises(KeyboardInterrupt):
        _fit(model, tmp_path, extra=[Crash(epoch=3)])
    document, tensors = training_state.read_state(str(tmp_path / "training_state.zip"))
    assert document["epoch"] == 3 and not document["stop_training"]
    assert sorted(document["callbacks"]) == ["Crash", "EarlyStopping", "History", "ReduceLROnPlateau"]
    assert document["callbacks"]["History"]["epoch"] == [0, 1, 2]
    assert set(document["callbacks"]["EarlyStopping"]) >= {"best", "wait", "best_weights"}
    assert {"rng/torch", "rng/numpy", "optimizer/iterations", "model/dense.kernel"} <= set(tensors)
    assert any(k.startswith("rng/module/dropout_1/") for k in tensors)
    with zipfile.ZipFile(tmp_path / "training_state.zip") as archive:  # no pickle anywhere
        assert sorted(archive.namelist()) == ["state.json", "state.safetensors"]


def test_batch_save_freq_resumes_the_interrupted_epoch(tmp_path):
    model = _build()
    with pytest.raises(KeyboardInterrupt):
        _fit(model, tmp_path / "b", extra=[Crash(epoch=2, batch=2)], save_freq=2)
    document, _ = training_state.read_state(str(tmp_path / "b" / "training_state.zip"))
    assert document["epoch"] == 2
    seen = []
    record = loom.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append(epoch))
    _fit(_build(), tmp_path / "b", extra=[record], save_freq=2)
    assert seen == list(range(2, len(seen) + 2))


def test_double_checkpoint_falls_back_to_the_previous_file(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _fit(_build(), tmp_path, extra=[Crash(epoch=3)], double_checkpoint=True)
    assert sorted(os.listdir(tmp_path)) == ["training_state.zip", "training_state.zip.prev"]
    (tmp_path / "training_state.zip").write_bytes(b"PK\x03\x04 truncated")
    seen = []
    record = loom.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append(epoch))
    _fit(_build(), tmp_path, extra=[record], double_checkpoint=True)
    assert seen[0] == 2


def test_errors_stale_temporaries_and_arguments(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _fit(_build(), tmp_path, extra=[Crash(epoch=2)])
    (tmp_path / ".training_state.zip.abc123.tmp").write_bytes(b"partial")
    with pytest.raises(ModelFileError, match="does not match this model"):
        _fit(_build(units=8), tmp_path)
    assert not (tmp_path / ".training_state.zip.abc123.tmp").exists()
    with pytest.raises(ConfigError, match="backup_dir"):
        BackupAndRestore("")
    with pytest.raises(ConfigError, match="save_freq"):
        BackupAndRestore(str(tmp_path), save_freq="batch")


# ------------------------------------------------------------------------------------- kill -9, for real
SCRIPT = textwrap.dedent("""
    import faulthandler, json, os, signal, sys, time, zipfile
    import numpy as np, loom

    faulthandler.register(signal.SIGUSR1, all_threads=True)  # the parent's stall report: every thread's stack
    from loom.callbacks import BackupAndRestore, CSVLogger, EarlyStopping, ReduceLROnPlateau

    out, backup, marker, stall = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    EPOCHS = 15

    # Test harness (never in library code): write a marker, then wait to be killed, either after batch B of
    # epoch E ("batch:E:B") or in the middle of writing the N-th backup file ("save:N", after its first zip
    # entry went to the temporary file).
    kind, *where = stall.split(":")
    where = tuple(map(int, where))

    def wait_for_the_kill():
        open(marker, "w").close()
        time.sleep(600)

    class Progress(loom.callbacks.Callback):  # the parent's clock: kills follow the work, not wall time
        def on_train_batch_end(self, batch, logs=None):
            print("b", flush=True)

    class Stall(loom.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            if (self.epoch, batch) == where:
                wait_for_the_kill()

    writes = []
    original_writestr = zipfile.ZipFile.writestr

    def slow_writestr(self, info, data, *args, **kwargs):
        name = getattr(info, "filename", info)
        if name == "state.safetensors":
            writes.append(name)
            if len(writes) == where[0]:
                wait_for_the_kill()
        return original_writestr(self, info, data, *args, **kwargs)

    if kind == "save":
        zipfile.ZipFile.writestr = slow_writestr

    loom.utils.set_random_seed(0)
    rng = np.random.default_rng(3)
    x, y = rng.random((256, 64)).astype("float32"), rng.random((256, 1)).astype("float32")
    model = loom.Sequential([  # big weights, little data: saving the backup takes much of each epoch
        loom.layers.Dense(1024, activation="relu", input_shape=(64,)), loom.layers.Dropout(0.3),
        loom.layers.Dense(1024, activation="relu"), loom.layers.BatchNormalization(),
        loom.layers.Dropout(0.2, seed=1), loom.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    print("ready", flush=True)
    callbacks = [Progress(), EarlyStopping(patience=4, restore_best_weights=True),
                 ReduceLROnPlateau(patience=1, factor=0.5, min_delta=0.001),
                 CSVLogger(os.path.join(out, "log.csv")), BackupAndRestore(backup)]
    if kind == "batch":
        callbacks.append(Stall())
    history = model.fit(x, y, batch_size=64, epochs=EPOCHS, validation_split=0.25, verbose=0, callbacks=callbacks)
    model.save_weights(os.path.join(out, "final.weights.safetensors"))
    with open(os.path.join(out, "history.json"), "w") as f:
        json.dump({"history": history.history, "epoch": history.epoch}, f)
""")


# The children compare bits across processes on whatever CPU CI has, so they run as BackupAndRestore's docstring
# tells users of machines whose numerics vary between processes: MKL's CNR mode (results independent of where NumPy
# put the data) and one thread (MKL and OpenMP promise the same bits only for the same team of threads; once, on a
# busy machine, two plain uninterrupted runs of the script with two threads ended up to 3e-6 apart).
REPRODUCIBLE_MKL = {"MKL_CBWR": "AUTO"}
REPRODUCIBLE = {**REPRODUCIBLE_MKL, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _launch(tmp_path, out, backup, stall="none"):
    script = tmp_path / "train.py"
    if not script.exists():
        script.write_text(SCRIPT)
    os.makedirs(out, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": os.getcwd(), **REPRODUCIBLE}
    args = [sys.executable, str(script), str(out), str(backup), str(tmp_path / "marker"), stall]
    return _Child(subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))


class _Child:
    """A training process whose output lines are read with a deadline: a child that stalls (no line for
    ``STALL_S``) fails the test with its threads' stacks instead of hanging the suite."""

    STALL_S = 300.0

    def __init__(self, proc):
        self.proc, self.lines, self.err = proc, queue.Queue(), []
        self.pumps = [threading.Thread(target=self._pump, args=(stream, put), daemon=True)
                      for stream, put in ((proc.stdout, self.lines.put), (proc.stderr, self.err.append))]
        for pump in self.pumps:
            pump.start()

    @staticmethod
    def _pump(stream, put):
        for line in iter(stream.readline, b""):
            put(line)
        put(b"")

    def readline(self) -> bytes:
        """The next output line, ``b""`` once the process closed its output."""
        try:
            return self.lines.get(timeout=self.STALL_S)
        except queue.Empty:
            self.proc.send_signal(signal.SIGUSR1)  # faulthandler in SCRIPT prints every thread's stack
            time.sleep(2.0)
            self.kill()
            pytest.fail(f"the training process wrote nothing for {self.STALL_S:.0f} s; its stacks:\n{self.stderr()}")

    def finish(self, timeout=300.0) -> bytes:
        """Everything the process still writes; it must end within ``timeout`` s."""
        self.proc.wait(timeout=timeout)
        rest = []
        while (line := self.readline()) != b"":
            rest.append(line)
        return b"".join(rest)

    def poll(self):
        return self.proc.poll()

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stderr(self) -> str:
        self.pumps[1].join(timeout=10)
        return b"".join(self.err).decode(errors="replace")[-3000:]


def _finish(child):
    child.finish()
    assert child.proc.returncode == 0, child.stderr()


OUTPUTS = ("final.weights.safetensors", "history.json", "log.csv")


def _outputs(out):
    return [(out / name).read_bytes() for name in OUTPUTS]


def _differing(out, expected):
    """What in ``out`` is not byte-identical to ``expected``: one line per differing output naming its first
    differences (pytest's own diff of megabytes of weights would outlast the test's timeout)."""
    report = []
    for name, got, want in zip(OUTPUTS, _outputs(out), expected, strict=True):
        if got != want:
            detail = _first_differences(name, got, want)
            report.append(f"{name}: {'; '.join(detail[:4]) or 'same values, other bytes'}")
    return report


def _first_differences(name, got, want):
    if name.endswith(".safetensors"):
        mine, theirs = safetensors_io.decode(got, name)[0], safetensors_io.decode(want, name)[0]
        return [f"{k}: max |diff| {(mine[k].double() - theirs[k].double()).abs().max().item():.3g}"
                if k in mine and k in theirs and mine[k].shape == theirs[k].shape else f"{k}: missing or reshaped"
                for k in sorted(set(mine) | set(theirs)) if k not in mine or not torch.equal(mine[k], theirs.get(k))]
    if name.endswith(".json"):
        mine, theirs = json.loads(got), json.loads(want)
        ours, their = {"epoch": mine["epoch"], **mine["history"]}, {"epoch": theirs["epoch"], **theirs["history"]}
        keys = sorted(set(ours) | set(their))
        return [f"{k}: got {ours.get(k)} want {their.get(k)}" for k in keys if ours.get(k) != their.get(k)] or \
            [f"key order {list(ours)} vs {list(their)}"]
    pairs = list(zip(got.decode().splitlines(), want.decode().splitlines()))
    return [f"got {a!r} want {b!r}" for a, b in pairs if a != b] or ["line counts differ"]


def _wait_for(path, proc, limit=120.0):
    deadline = time.monotonic() + limit
    while not path.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "the training script never reached the marker"
        time.sleep(0.02)


def _reference(tmp_path):
    _finish(_launch(tmp_path, tmp_path / "reference", tmp_path / "reference_backup"))
    return _outputs(tmp_path / "reference")


def _kill_at_marker(tmp_path, out, backup, stall):
    child = _launch(tmp_path, out, backup, stall)
    _wait_for(tmp_path / "marker", child)
    child.kill()
    (tmp_path / "marker").unlink()


@pytest.mark.slow
def test_kill_9_mid_epoch_and_mid_save_then_rerun_gives_identical_results(tmp_path):
    expected = _reference(tmp_path)
    out, backup = tmp_path / "run", tmp_path / "backup"
    _kill_at_marker(tmp_path, out, backup, "batch:3:2")  # in epoch 4: the backup holds 3 epochs
    assert training_state.read_state(str(backup / "training_state.zip"))[0]["epoch"] == 3
    _kill_at_marker(tmp_path, out, backup, "save:2")  # resumed at epoch 4, killed writing the 2nd backup
    assert training_state.read_state(str(backup / "training_state.zip"))[0]["epoch"] == 4
    assert [n for n in os.listdir(backup) if n.endswith(".tmp")]  # the half-written temporary file
    _finish(_launch(tmp_path, out, backup))
    differences = _differing(out, expected)
    assert not differences, "\n".join(differences)
    assert not backup.exists()


def _progress_lines(child, count):
    """Read ``count`` progress lines (fewer if the process ends); the duration of the last one."""
    last, step = time.monotonic(), 0.0
    for _ in range(count):
        if not child.readline():
            break
        now = time.monotonic()
        step, last = now - last, now
    return step


@pytest.mark.slow
def test_kill_9_at_random_moments_then_rerun_gives_identical_results(tmp_path):
    """Kill the same run again and again at seeded random moments, then let it finish: weights, history and
    CSV log are byte-identical to an uninterrupted run's, and every backup left behind is complete.

    Kill moments come from the run's own progress (one line per batch): after a random batch, plus a random
    fraction of that batch's duration, so a slow or busy machine moves them with the work (scripts/
    soak_resume.py does the same 50 times over)."""
    reference = _launch(tmp_path, tmp_path / "reference", tmp_path / "reference_backup")
    assert reference.readline().strip() == b"ready"
    out_text = reference.finish()
    assert reference.proc.returncode == 0, reference.stderr()
    batches = out_text.count(b"b\n")
    expected = _outputs(tmp_path / "reference")
    # A second uninterrupted run, in a process whose arguments (so heap layout) differ: were it to differ, the
    # cause would be the numerics of this machine, not resuming.
    _finish(_launch(tmp_path, tmp_path / "second", tmp_path / "second_run_backup"))
    differences = _differing(tmp_path / "second", expected)
    assert not differences, "two uninterrupted runs differ:\n" + "\n".join(differences)
    out, backup = tmp_path / "run", tmp_path / "backup"
    rng, kills = random.Random(11), []  # kills: (progress lines, fraction of a step, epoch in the backup)
    for _ in range(6):
        child = _launch(tmp_path, out, backup)
        assert child.readline().strip() == b"ready"
        lines, fraction = rng.randint(1, batches), rng.random()
        time.sleep(fraction * _progress_lines(child, lines))
        child.kill()
        state = None
        if (backup / "training_state.zip").exists():
            state = training_state.read_state(str(backup / "training_state.zip"))[0]  # never partial
        kills.append((lines, round(fraction, 2), state and state["epoch"]))
    _finish(_launch(tmp_path, out, backup))
    differences = _differing(out, expected)
    assert not differences, f"kills {kills} of a run of {batches} batches:\n" + "\n".join(differences)
    assert not [n for n in os.listdir(out) if n.endswith(".tmp")]


def test_the_documented_mkl_setting_makes_results_independent_of_numpy_alignment():
    """On MKL's SSE4.2 path (forced here) a Dense(1) over 1024 features gave 4 different predictions for the 16
    alignments of one input; with the docstring's MKL_CBWR=AUTO it gives one, so processes agree bit for bit."""
    script = textwrap.dedent("""
        import numpy as np, loom
        loom.utils.set_random_seed(0)
        model = loom.Sequential([loom.Input((1024,)), loom.layers.Dense(1)])
        values = np.random.default_rng(0).random((8, 1024)).astype("float32")
        outputs = set()
        for offset in range(16):  # the same values, at 16 alignments
            buffer = np.empty(values.size + 16, "float32")
            x = buffer[offset:offset + values.size].reshape(values.shape)
            x[...] = values
            outputs.add(model.predict(x, verbose=0).tobytes())
        print(len(outputs))
    """)
    env = {**os.environ, "PYTHONPATH": os.getcwd(), "MKL_ENABLE_INSTRUCTIONS": "SSE4_2", **REPRODUCIBLE_MKL}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-1] == "1"

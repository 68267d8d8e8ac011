"""Soak test of crash-resume: kill a training process with SIGKILL at random moments, resume, compare.

One uninterrupted run of a small model (``fit`` with ``BackupAndRestore``, ``EarlyStopping`` restoring the
best weights, ``ReduceLROnPlateau``, ``CSVLogger`` and two ``ModelCheckpoint`` files) gives the reference.
Then, ``--kills`` times (default 50), a fresh run is started, killed with SIGKILL at a random moment and
started again until it finishes; its final weights, optimizer state, History, CSV log and checkpoint files
are compared byte for byte with the reference, every file it left is loaded, and no temporary file may be
left behind. Kill moments are drawn from the run's own progress, not from wall time: the training process
prints one line per batch and per file write, the parent picks a random line of the reference's count and
kills after it plus a random fraction of the time the child took for the previous step, so a loaded machine
moves the kills with the work instead of pushing them all to the start.

Usage:
    python scripts/soak_resume.py                # 50 kills, prints "identical: 50/50"
    python scripts/soak_resume.py --kills 5 --seed 1

Exit status 0 when every resumed run matched. Not part of the default test run (it takes minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

EPOCHS = 12
FILES = ("final.weights.safetensors", "optimizer.safetensors", "history.json", "log.csv")


# ------------------------------------------------------------------------------------------- the child
def child(out: str, backup: str) -> None:
    """One training run: resumes from ``backup`` when it holds a state; writes the results into ``out``."""
    import numpy as np

    import loom
    from loom.callbacks import BackupAndRestore, CSVLogger, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau
    from loom import io_utils
    from loom.models import safetensors_io

    class Progress(loom.callbacks.Callback):
        """One line per batch and per epoch end, the parent's clock."""

        def on_train_batch_end(self, batch, logs=None):
            print("b", flush=True)

        def on_epoch_end(self, epoch, logs=None):
            print("e", flush=True)

    loom.utils.set_random_seed(0)
    rng = np.random.default_rng(3)
    x, y = rng.random((192, 8)).astype("float32"), rng.random((192, 1)).astype("float32")
    model = loom.Sequential([
        loom.layers.Dense(64, activation="relu", input_shape=(8,)), loom.layers.Dropout(0.3),
        loom.layers.Dense(64, activation="relu"), loom.layers.BatchNormalization(),
        loom.layers.Dropout(0.2, seed=1), loom.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    checkpoints = os.path.join(out, "checkpoints")
    callbacks = [Progress(), EarlyStopping(patience=4, restore_best_weights=True),
                 ReduceLROnPlateau(patience=1, factor=0.5, min_delta=0.001),
                 CSVLogger(os.path.join(out, "log.csv")),
                 ModelCheckpoint(os.path.join(checkpoints, "best.loom"), save_best_only=True),
                 ModelCheckpoint(os.path.join(checkpoints, "epoch{epoch:02d}.weights.h5"), save_weights_only=True),
                 BackupAndRestore(backup)]
    history = model.fit(x, y, batch_size=16, epochs=EPOCHS, validation_split=0.25, verbose=0, callbacks=callbacks)
    model.save_weights(os.path.join(out, "final.weights.safetensors"))
    io_utils.atomic_write(os.path.join(out, "optimizer.safetensors"),
                               safetensors_io.encode(model.optimizer.get_state_tensors()))
    io_utils.atomic_write(os.path.join(out, "history.json"),
                               json.dumps({"history": history.history, "epoch": history.epoch}).encode())
    print("done", flush=True)


# ------------------------------------------------------------------------------------------ the parent
def _launch(out: str, backup: str) -> subprocess.Popen:
    os.makedirs(out, exist_ok=True)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # Bits that depend neither on where NumPy put the data nor on the team of threads (BackupAndRestore's docstring)
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "MKL_CBWR": "AUTO", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child", out, backup], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> int:
    """Run to the end; the number of progress lines it printed."""
    out, err = proc.communicate(timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"training run failed ({proc.returncode}):\n{err[-3000:]}")
    return sum(1 for line in out.splitlines() if line in ("b", "e"))


def _kill_after(proc: subprocess.Popen, line: int, fraction: float) -> bool:
    """SIGKILL after the ``line``-th progress line plus ``fraction`` of the last step's duration.

    Returns whether the process was still running when killed.
    """
    seen, last, step = 0, time.monotonic(), 0.0
    while seen < line:
        text = proc.stdout.readline()
        if not text:
            break
        now = time.monotonic()
        step, last = now - last, now
        seen += text.strip() in ("b", "e")
    time.sleep(fraction * step)
    alive = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    proc.stdout.close()
    proc.stderr.close()
    return alive


def _results(out: str) -> dict[str, bytes]:
    files = {name: open(os.path.join(out, name), "rb").read() for name in FILES}
    folder = os.path.join(out, "checkpoints")
    for name in sorted(os.listdir(folder)):
        files[f"checkpoints/{name}"] = open(os.path.join(folder, name), "rb").read()
    return files


def _problems(out: str, expected: dict[str, bytes]) -> list[str]:
    """What differs from the reference, what does not load, and which temporary files are left."""
    import loom
    problems = []
    got = _results(out)
    if sorted(got) != sorted(expected):
        problems.append(f"files {sorted(set(got) ^ set(expected))}")
    problems += [f"{name} differs" for name in sorted(set(got) & set(expected)) if got[name] != expected[name]]
    for root, _, names in os.walk(out):
        problems += [f"left {name}" for name in names if name.endswith(".tmp")]
    folder = os.path.join(out, "checkpoints")
    for name in sorted(os.listdir(folder)):
        try:
            loom.models.load_model(os.path.join(folder, name)) if name.endswith(".loom") else None
        except loom.LoomError as e:
            problems.append(f"{name} does not load: {e}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=50, help="number of killed-and-resumed runs (default 50)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill moments (default 0)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory of runs that differ")
    parser.add_argument("--child", nargs=2, metavar=("OUT", "BACKUP"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    work = tempfile.mkdtemp(prefix="loom_soak_")
    reference = os.path.join(work, "reference")
    lines = _finish(_launch(reference, os.path.join(work, "reference_backup")))
    expected = _results(reference)
    rng = random.Random(args.seed)
    identical, started = 0, time.monotonic()
    for trial in range(args.kills):
        out, backup = os.path.join(work, f"run{trial}"), os.path.join(work, f"backup{trial}")
        line, fraction = rng.randint(0, lines + 1), rng.random()
        killed = _kill_after(_launch(out, backup), line, fraction)
        _finish(_launch(out, backup))
        problems = _problems(out, expected)
        identical += not problems
        print(f"kill {trial + 1}: after progress line {line}/{lines} + {fraction:.2f} step"
              f"{'' if killed else ' (had finished)'}: {'identical' if not problems else '; '.join(problems)}",
              flush=True)
        if not problems or not args.keep:
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(backup, ignore_errors=True)
    print(f"identical: {identical}/{args.kills} ({time.monotonic() - started:.0f} s)")
    if identical == args.kills or not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"differing runs kept in {work}")
    return 0 if identical == args.kills else 1


if __name__ == "__main__":
    sys.exit(main())

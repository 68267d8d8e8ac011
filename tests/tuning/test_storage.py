"""Storage: a search killed with SIGKILL resumes to max_trials; two workers share one PostgreSQL study."""

import os
import pathlib
import signal
import subprocess
import sys
import time

import optuna
import pytest

from loom.errors import ConfigError
from loom.tuning.storage import Heartbeat, _redact, count_trials, default_url, fail_stale_trials, open_storage
from tests.tuning.postgres import postgres_url  # noqa: F401  (fixture)

REPO = pathlib.Path(__file__).resolve().parents[2]

SCRIPT = '''"""A slow little search on the digits, for the storage tests."""
import glob, os, time
import loom
from tests.tuning.digits import build_mlp as build, digits_data

class Slow(loom.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        time.sleep({sleep})

def data():
    ready = os.path.join({barrier!r}, f"ready_{{os.getpid()}}")
    open(ready, "w").close()
    deadline = time.time() + 120
    while len(glob.glob(os.path.join({barrier!r}, "ready_*"))) < {workers} and time.time() < deadline:
        time.sleep(0.05)
    (x, y), val, _ = digits_data()
    return x[:200], y[:200], val

TUNER = dict(objective="val_acc", max_trials={max_trials}, pruner=None, seed=0, heartbeat_interval=1,
             tensorboard=False)
SEARCH = dict(epochs=2, batch_size=32, callbacks=[Slow()])
'''


def _write_script(tmp_path, sleep, max_trials, workers=1):
    barrier = tmp_path / "barrier"
    barrier.mkdir(exist_ok=True)
    path = tmp_path / "digits_search.py"
    path.write_text(SCRIPT.format(sleep=sleep, max_trials=max_trials, workers=workers, barrier=str(barrier)))
    return path


def _tune(*args, cwd):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "loom.cli", "tune", *map(str, args)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _load(url, name="digits_search"):
    return optuna.load_study(study_name=name, storage=open_storage(url, "unused"))


@pytest.mark.slow
def test_search_killed_with_sigkill_resumes_to_max_trials(tmp_path):
    script = _write_script(tmp_path, sleep=0.4, max_trials=5)
    directory = tmp_path / "tuning"
    url = default_url(str(directory))
    first = _tune(script, "--directory", directory, cwd=tmp_path)
    deadline = time.time() + 180
    states = {}
    while time.time() < deadline and first.poll() is None:
        time.sleep(0.2)
        if (directory / "study.db").exists():
            try:
                states = count_trials(_load(url))
            except KeyError:  # the study is not created yet
                continue
            if states[optuna.trial.TrialState.COMPLETE] >= 2 and states[optuna.trial.TrialState.RUNNING] == 1:
                break
    assert first.poll() is None, f"the search ended before it could be killed:\n{first.stdout.read()}"
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    states = count_trials(_load(url))
    assert states[optuna.trial.TrialState.RUNNING] == 1  # left behind by the dead process

    second = _tune(script, "--directory", directory, cwd=tmp_path)
    out, _ = second.communicate(timeout=300)
    assert second.returncode == 0, out
    trials = _load(url).get_trials()
    states = [t.state.name for t in trials]
    assert "RUNNING" not in states
    assert states.count("COMPLETE") == 5 and states.count("FAIL") == 1  # the killed trial failed by heartbeat
    assert "best trial" not in out and "Search 'digits_search'" in out
    for t in trials:
        if t.state.name == "COMPLETE":
            assert (directory / t.user_attrs["weights"]).exists()


@pytest.mark.service
@pytest.mark.slow
def test_two_workers_share_one_postgresql_study(tmp_path, postgres_url):  # noqa: F811
    script = _write_script(tmp_path, sleep=0.3, max_trials=8, workers=2)
    directory = tmp_path / "tuning"
    workers = [_tune("worker", script, "--storage", postgres_url, "--directory", directory, cwd=tmp_path)
               for _ in range(2)]
    outputs = [w.communicate(timeout=300)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], "\n".join(outputs)
    trials = _load(postgres_url).get_trials()
    finished = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) == 8
    assert all(t.state.name != "RUNNING" for t in trials)
    assert all(t.user_attrs.get("surplus") for t in trials if t.state.name == "FAIL")  # never ran
    assert len({t.user_attrs["worker"] for t in finished}) == 2  # both workers ran trials
    assert len({tuple(sorted(t.params.items())) for t in finished}) == 8  # no configuration twice
    weights = sorted(directory.glob("digits_search/trial_*/best.weights.safetensors"))
    assert len(weights) == 8
    status = subprocess.run([sys.executable, "-m", "loom.cli", "tune", "status", "--storage", postgres_url],
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True,
                            text=True, timeout=120)
    assert status.returncode == 0 and "Study 'digits_search': objective val_acc (max)" in status.stdout
    assert "8 complete" in status.stdout


def test_heartbeat_keeps_a_trial_alive_and_its_silence_fails_it(tmp_path):
    storage = open_storage(None, str(tmp_path), heartbeat_interval=1)
    study = optuna.create_study(storage=storage, study_name="s")
    with pytest.warns(UserWarning):
        beating, silent = study.ask(), study.ask()
    with Heartbeat(storage, beating):
        storage.record_heartbeat(silent._trial_id)
        time.sleep(3.5)  # > grace period (2 x interval) for the silent trial
        fail_stale_trials(study)
        states = {t.number: t.state.name for t in study.get_trials()}
    assert states == {beating.number: "RUNNING", silent.number: "FAIL"}


def test_open_storage_checks_its_arguments(tmp_path):
    with pytest.raises(ConfigError, match="SQLAlchemy URL"):
        open_storage("tuning.db", str(tmp_path))
    with pytest.raises(ConfigError, match="heartbeat_interval"):
        open_storage(None, str(tmp_path), heartbeat_interval=0)
    memory = optuna.storages.InMemoryStorage()
    assert open_storage(memory, str(tmp_path)) is memory
    assert default_url("/x/y") == "sqlite:////x/y/study.db"
    assert _redact("postgresql://loom:secret@db:5432/s") == "postgresql://loom:***@db:5432/s"

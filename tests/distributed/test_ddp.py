"""Real two-process runs under ``torchrun`` (gloo, CPU) compared with the same script in one process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import loom
from tests.distributed import ddp_script

SCRIPT = ddp_script.__file__
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(SCRIPT))))
pytestmark = pytest.mark.slow


def torchrun(out_dir: str, mode: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
               f"--master_port={loom.distributed.free_port()}", SCRIPT, out_dir, mode]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, cwd=out_dir)


def weights(out_dir, rank: int, tag: str) -> list[np.ndarray]:
    with np.load(os.path.join(out_dir, f"rank{rank}_{tag}_weights.npz")) as f:
        return [f[k] for k in sorted(f.files, key=lambda k: int(k.split("_")[1]))]


def results(out_dir, rank: int, tag: str) -> dict:
    with open(os.path.join(out_dir, f"rank{rank}_{tag}_results.json")) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """``(two-process output dir, one-process output dir, torchrun result)``."""
    two = str(tmp_path_factory.mktemp("two"))
    one = str(tmp_path_factory.mktemp("one"))
    completed = torchrun(two, "all")
    ddp_script.main(one, "all")
    return two, one, completed


def test_run_is_complete_and_exits_cleanly(runs):
    two, _, completed = runs
    assert all(os.path.exists(os.path.join(two, f"rank{r}_all_done")) for r in (0, 1)), completed.stderr[-3000:]
    assert completed.returncode == 0, completed.stderr[-3000:]


@pytest.mark.parametrize("tag", ["plain", "early", "bn", "loader"])
def test_two_processes_reach_the_weights_of_one(runs, tag):
    two, one, _ = runs
    reference, rank0, rank1 = weights(one, 0, tag), weights(two, 0, tag), weights(two, 1, tag)
    for a, b, ref in zip(rank0, rank1, reference):
        np.testing.assert_array_equal(a, b)  # ranks stay bit-identical
        np.testing.assert_allclose(a, ref, rtol=1e-5, atol=1e-6)  # bn: synchronized statistics


def test_history_evaluate_and_predict_are_global_on_every_rank(runs):
    two, one, _ = runs
    reference = results(one, 0, "plain")
    for rank in (0, 1):
        got = results(two, rank, "plain")
        assert got["epochs"] == [0, 1, 2]
        for key, values in reference["history"].items():
            np.testing.assert_allclose(got["history"][key], values, rtol=1e-5)
        for key, value in reference["evaluate"].items():
            np.testing.assert_allclose(got["evaluate"][key], value, rtol=1e-5)
        predicted = np.load(os.path.join(two, f"rank{rank}_plain_predict.npy"))
        assert predicted.shape == (21, 1)
        np.testing.assert_allclose(predicted, np.load(os.path.join(one, "rank0_plain_predict.npy")), atol=1e-5)


def test_data_loader_history_is_global(runs):
    two, one, _ = runs
    reference = results(one, 0, "loader")["history"]
    for rank in (0, 1):
        for key, values in reference.items():
            np.testing.assert_allclose(results(two, rank, "loader")["history"][key], values, rtol=1e-5)


def test_only_rank_zero_writes_files_and_prints(runs):
    two, _, completed = runs
    files = set(os.listdir(two))
    assert {"log_rank0.csv", "ckpt_rank0.loom", "saved_rank0.loom"} <= files
    assert not {"log_rank1.csv", "ckpt_rank1.loom", "saved_rank1.loom"} & files
    with open(os.path.join(two, "log_rank0.csv")) as f:
        assert len(f.read().strip().splitlines()) == 4  # header + 3 epochs
    assert completed.stdout.count("Epoch 1/3") == 1  # one progress line, from rank 0


def test_early_stopping_stops_both_ranks_at_the_same_epoch(runs):
    two, one, _ = runs
    assert results(one, 0, "early")["epochs"] == [0, 1]
    assert results(two, 0, "early")["epochs"] == results(two, 1, "early")["epochs"] == [0, 1]


def test_backup_and_restore_resumes_a_killed_two_process_run(runs, tmp_path):
    _, one, _ = runs
    crashed = torchrun(str(tmp_path), "crash")
    assert crashed.returncode != 0 and os.path.exists(tmp_path / "backup" / "training_state.zip")
    resumed = torchrun(str(tmp_path), "resume")
    assert all((tmp_path / f"rank{r}_resume_done").exists() for r in (0, 1)), resumed.stderr[-3000:]
    assert not (tmp_path / "backup").exists()  # rank 0 deleted it at the end
    for rank in (0, 1):
        assert results(tmp_path, rank, "resume")["epochs"] == [0, 1, 2]
        for a, ref in zip(weights(tmp_path, rank, "resume"), weights(one, 0, "plain")):
            np.testing.assert_allclose(a, ref, rtol=1e-5, atol=1e-6)


def _launched(out_dir: str) -> None:
    ddp_script.run_fit(out_dir, "launched", epochs=1)


def test_launch_runs_a_function_in_two_processes(runs, tmp_path):
    _, one, _ = runs
    loom.distributed.launch(_launched, nprocs=2, args=(str(tmp_path),))
    ddp_script.run_fit(str(tmp_path / "."), "single", epochs=1)
    reference = weights(tmp_path, 0, "single")
    for rank in (0, 1):
        for a, ref in zip(weights(tmp_path, rank, "launched"), reference):
            np.testing.assert_allclose(a, ref, rtol=1e-5, atol=1e-6)

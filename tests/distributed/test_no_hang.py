"""Two gloo processes never hang: a one-rank stop, sharded generators / Sequences, predict on every source."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import loom
from tests.distributed import nohang_script

SCRIPT = nohang_script.__file__
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(SCRIPT))))
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ranks(tmp_path_factory) -> list[dict]:
    out = str(tmp_path_factory.mktemp("nohang"))
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
               f"--master_port={loom.distributed.free_port()}", SCRIPT, out]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=150, cwd=out)
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = []
    for rank in (0, 1):
        with open(os.path.join(out, f"rank{rank}.json")) as f:
            results.append(json.load(f))
    return results


def test_a_stop_on_one_rank_mid_epoch_ends_both_at_the_next_agreement_point(ranks):
    zero, one = ranks[0]["stop_mid"], ranks[1]["stop_mid"]
    # rank 1 stops after batch 2; the ranks agree every 8 steps, so both leave after step 8 of epoch 0
    assert zero["epochs"] == one["epochs"] == [0]
    assert zero["iterations"] == one["iterations"] == loom.distributed.stopping.EVERY
    assert zero["callback_batches"] == 8 and one["callback_batches"] == 3  # rank 1 steps on quietly
    for a, b in zip(zero["weights"], one["weights"]):
        np.testing.assert_array_equal(a, b)


def test_a_stop_after_the_last_agreement_point_is_agreed_at_epoch_end(ranks):
    zero, one = ranks[0]["stop_late"], ranks[1]["stop_late"]
    assert zero["epochs"] == one["epochs"] == [0]
    assert zero["iterations"] == one["iterations"] == 10  # the whole first epoch


@pytest.mark.parametrize("case,epochs", [("generator", 1), ("sequence", 2)])
def test_generators_and_sequences_are_sharded_round_robin(ranks, case, epochs):
    zero, one = ranks[0][case], ranks[1][case]
    assert len(zero) == len(one) == epochs
    for a, b in zip(zero, one):
        assert not set(a) & set(b)  # no sample on both ranks
        assert sorted(a + b) == list(range(48))  # each once; the incomplete last round (2 batches) is skipped
        if case == "generator":  # fit(shuffle=True) reorders a Sequence's batches each epoch, as Keras
            assert a[:4] == [0, 1, 2, 3] and b[:4] == [4, 5, 6, 7]


@pytest.mark.parametrize("source", ["array", "generator", "sequence", "dataset", "loader"])
def test_predict_returns_every_sample_once_in_order(ranks, source):
    for rank in ranks:
        got, reference = np.asarray(rank["predict"][source]), np.asarray(rank["predict"]["reference"])
        assert got.shape == reference.shape == (27, 1)
        np.testing.assert_allclose(got, reference, rtol=1e-5, atol=1e-6)

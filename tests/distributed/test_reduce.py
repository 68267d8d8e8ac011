"""Single-process behaviour of the collectives (the two-process behaviour is in test_ddp.py)."""

from __future__ import annotations

import torch

import loom
from loom.distributed import context, reduce, stopping
from loom.distributed.data_parallel import synchronized_moments


def test_collectives_are_identity_without_a_process_group():
    t = torch.tensor([3.0, 1.0])
    assert reduce.broadcast_from_zero(t) is t
    assert stopping.agree_any(True) is True and stopping.agree_any(False) is False
    assert reduce.gather_rows(t, 2) is t
    assert (context.world_size(), context.rank(), context.is_distributed()) == (1, 0, False)
    assert context.ensure_initialized() is False


def test_stop_vote_answers_at_once_without_a_process_group():
    vote = stopping.StopVote(every=8)
    assert [vote.stop_now(i, wish) for i, wish in [(0, False), (2, True), (7, False)]] == [False, True, False]


def test_synchronized_moments_match_local_moments_in_one_process():
    x = torch.randn(6, 4, 3)
    mean, var = synchronized_moments(x, [0, 1])
    torch.testing.assert_close(mean, x.mean((0, 1)))
    torch.testing.assert_close(var, x.var((0, 1), correction=0))


def test_sync_batchnorm_flags_every_batch_normalization_layer():
    model = loom.Sequential([loom.layers.Dense(4, input_shape=(3,)), loom.layers.BatchNormalization(),
                             loom.layers.BatchNormalization()])
    assert loom.distributed.sync_batchnorm(model) == 2
    assert all(layer.synchronized for layer in model.layers[1:])
    out = model(torch.randn(5, 3), training=True)
    assert out.shape == (5, 4)

"""Per-rank shares of in-memory data, computed for each rank without a process group."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from loom.distributed.sharding import ShardedArrayData, shard_blocks, shard_for_training
from loom.errors import ConfigError
from loom.training.data import ArrayData


def rows(n: int) -> ArrayData:
    return ArrayData.from_arrays(np.arange(float(n))[:, None], np.zeros(n))


def shares(n: int, batch_size: int, world: int, shuffle: bool = False) -> list[list[list[float]]]:
    return [[xs[0][:, 0].tolist() for xs, _, _ in ShardedArrayData(rows(n), r, world).batches(batch_size, shuffle)]
            for r in range(world)]


def test_each_global_batch_is_split_in_equal_contiguous_shares():
    assert shares(8, 4, 2) == [[[0.0, 1.0], [4.0, 5.0]], [[2.0, 3.0], [6.0, 7.0]]]


def test_last_partial_batch_is_trimmed_to_a_multiple_of_the_world_size():
    got = shares(11, 4, 2)  # global batches 4, 4, 3 -> the last becomes 2
    assert got == [[[0.0, 1.0], [4.0, 5.0], [8.0]], [[2.0, 3.0], [6.0, 7.0], [9.0]]]
    assert ShardedArrayData(rows(11), 0, 2).num_batches(4) == 3
    assert ShardedArrayData(rows(9), 0, 2).num_batches(4) == 2  # 1 sample left < 2 ranks: dropped


def test_shuffled_shares_cover_a_permutation_without_overlap():
    torch.manual_seed(0)
    state = torch.get_rng_state()
    parts = []
    for r in range(3):
        torch.set_rng_state(state)  # every rank draws the same permutation
        parts += [v for xs, _, _ in ShardedArrayData(rows(12), r, 3).batches(6, True) for v in xs[0][:, 0].tolist()]
    assert sorted(parts) == list(map(float, range(12)))


def test_global_batch_smaller_than_world_size_is_refused():
    with pytest.raises(ConfigError, match="at least the number of processes"):
        ShardedArrayData(rows(8), 0, 4).num_batches(2)


def test_single_process_leaves_sources_unchanged():
    data = rows(5)
    assert shard_blocks(data) is data
    assert shard_for_training(data, 2) is data

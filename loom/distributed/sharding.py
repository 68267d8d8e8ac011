"""Each rank's share of the data, so that N processes together see what one process would.

* **Training, in-memory arrays** (:class:`ShardedArrayData`): every epoch each rank draws the *same* global
  permutation (rank 0's, broadcast once per epoch, so it is also the permutation a single process seeded the
  same way would draw), cuts it into global batches of ``batch_size`` samples, and takes its contiguous
  ``batch_size / world_size`` share of each. ``batch_size`` stays the global batch, as with Keras's
  distribution API. Every share of a step has the same size, so DDP's gradient average equals the gradient of
  the global batch. **Last partial batch:** it is trimmed to a multiple of the world size (at most
  ``world_size - 1`` samples are skipped per epoch, a different few each epoch when shuffling), and dropped when
  it holds fewer samples than there are ranks. With such sizes 1 and N processes take the same steps.
* **Validation, evaluate, predict, in-memory arrays** (:func:`shard_blocks`): rank ``r`` takes the ``r``-th
  contiguous block of the rows. Losses and metrics are summed over ranks at the end (exact), predictions are
  gathered back in order.
* **Datasets and DataLoaders** (:func:`shard_loader`): rebuilt with a ``DistributedSampler`` (reshuffled each
  epoch when the original shuffled) and a per-rank batch size of ``batch_size // world_size``. The sampler
  pads with repeated samples so every rank takes the same number of steps, which can count a few validation
  samples twice.
* **Generators, Keras-style Sequences, iterable datasets** (:mod:`.strided`): rank ``r`` takes batches
  ``r, r + W, ...``; for training only complete rounds (every rank takes the same number of steps).

Example:
    >>> import numpy as np
    >>> from loom.training.data import ArrayData
    >>> data = ArrayData.from_arrays(np.arange(10.0)[:, None], np.zeros(10))
    >>> shares = [ShardedArrayData(data, rank=r, world_size=2) for r in range(2)]
    >>> [[xs[0][:, 0].tolist() for xs, _, _ in s.batches(4, shuffle=False)] for s in shares]
    [[[0.0, 1.0], [4.0, 5.0], [8.0]], [[2.0, 3.0], [6.0, 7.0], [9.0]]]
"""

from __future__ import annotations

from typing import Any, Iterator

import torch

from loom.distributed import context
from loom.distributed.reduce import broadcast_from_zero
from loom.distributed.strided import shard_round_robin
from loom.errors import ConfigError
from loom.training.data import ArrayData, IterableData


class ShardedArrayData:
    """This rank's share of every global batch of an :class:`ArrayData` (see the module docstring).

    Args:
        data: the full data (identical on every rank).
        rank: this process's rank (default: the process group's).
        world_size: number of processes (default: the process group's).
    """

    def __init__(self, data: ArrayData, rank: int | None = None, world_size: int | None = None):
        self.data = data
        self.rank = context.rank() if rank is None else rank
        self.world_size = context.world_size() if world_size is None else world_size
        self.num_samples = data.num_samples

    def _global_sizes(self, batch_size: int) -> list[int]:
        if batch_size < self.world_size:
            raise ConfigError(f"batch_size={batch_size} is the global batch size and must be at least the number "
                              f"of processes ({self.world_size}).")
        full, rest = divmod(self.num_samples, batch_size)
        sizes = [batch_size] * full
        if rest >= self.world_size:
            sizes.append(rest - rest % self.world_size)
        return sizes

    def num_batches(self, batch_size: int) -> int:
        return len(self._global_sizes(batch_size))

    def local_indices(self, batch_size: int, order: torch.Tensor) -> tuple[torch.Tensor, list[int]]:
        """This rank's rows of ``order`` (a permutation of all rows) and its batch sizes."""
        pieces, sizes, start = [], [], 0
        for size in self._global_sizes(batch_size):
            share = size // self.world_size
            begin = start + self.rank * share
            pieces.append(order[begin:begin + share])
            sizes.append(share)
            start += size
        return torch.cat(pieces) if pieces else order[:0], sizes

    def batches(self, batch_size: int, shuffle: bool) -> Iterator[tuple]:
        data = self.data
        tensors = data.xs + (data.ys or []) + [w for w in (data.sws or []) if w is not None]
        if shuffle:
            order = broadcast_from_zero(torch.randperm(self.num_samples))
        else:
            order = torch.arange(self.num_samples)
        rows, sizes = self.local_indices(batch_size, order)
        if not sizes:
            return
        local = ArrayData(*_select(data, rows.to(tensors[0].device)), num_samples=int(rows.numel()))
        yield from local.batches(sizes[0], shuffle=False)  # only the last share can be smaller


def _select(data: ArrayData, rows: torch.Tensor) -> tuple:
    def pick(ts):
        return None if ts is None else [None if t is None else t.index_select(0, rows) for t in ts]
    return pick(data.xs), pick(data.ys), pick(data.sws)


def shard_blocks(data: Any) -> Any:
    """Rank ``r``'s contiguous block of an :class:`ArrayData`; anything else (or too little data) unchanged."""
    size = context.world_size()
    if size <= 1 or not isinstance(data, ArrayData) or data.num_samples < size:
        return data
    bounds = torch.tensor_split(torch.arange(data.num_samples), size)[context.rank()]
    start, stop = int(bounds[0]), int(bounds[-1]) + 1

    def part(ts):
        return None if ts is None else [None if t is None else t[start:stop] for t in ts]
    return ArrayData(part(data.xs), part(data.ys), part(data.sws), stop - start)


def shard_for_training(data: Any, batch_size: int) -> Any:
    """The training source for this rank: sharded arrays or a distributed loader (unchanged when not distributed)."""
    if context.world_size() <= 1:
        return data
    if isinstance(data, ArrayData):
        return ShardedArrayData(data)
    return _shard_iterable(data, batch_size, truncate=True)


def shard_for_evaluation(data: Any, batch_size: int) -> Any:
    """The validation / evaluate source for this rank (blocks of arrays, or a distributed loader)."""
    if context.world_size() <= 1:
        return data
    if isinstance(data, ArrayData):
        return shard_blocks(data)
    return _shard_iterable(data, batch_size, truncate=False)


def shard_for_prediction(data: Any) -> tuple[Any, str | None]:
    """This rank's part of a predict source and how to gather it: ``'blocks'``, ``'round_robin'`` or ``None``.

    Arrays are cut in contiguous blocks; every other source (map-style loaders included) is shared round-robin
    by batch, so the gathered predictions keep the source's order and batch boundaries.
    """
    if context.world_size() <= 1:
        return data, None
    if isinstance(data, ArrayData):
        block = shard_blocks(data)
        return block, ("blocks" if block is not data else None)
    if isinstance(data, IterableData):
        if _is_map_loader(data) and getattr(data.source, "batch_sampler", None) is not None:
            return _strided_batches(data), "round_robin"
        return shard_round_robin(data, truncate=False), "round_robin"
    return data, None


def _strided_batches(data: IterableData) -> IterableData:
    """A map-style loader that loads only this rank's batches ``r, r + W, ...`` (of the original batching)."""
    from torch.utils.data import DataLoader
    loader = data.source
    mine = list(loader.batch_sampler)[context.rank()::context.world_size()]
    data.source = DataLoader(loader.dataset, batch_sampler=mine, num_workers=loader.num_workers,
                             collate_fn=loader.collate_fn, pin_memory=loader.pin_memory)
    data._pending = None
    data.num_batches_hint = len(mine)
    return data


def _is_map_loader(data: IterableData) -> bool:
    from torch.utils.data import DataLoader, IterableDataset
    loader = data.source
    return isinstance(loader, (DataLoader, _EpochLoader)) and not isinstance(
        getattr(loader, "dataset", None), IterableDataset)


def _shard_iterable(data: Any, batch_size: int, truncate: bool) -> Any:
    """Map-style loaders get a ``DistributedSampler``; generators, Sequences and iterable datasets round-robin."""
    if not isinstance(data, IterableData):
        return data
    if _is_map_loader(data):
        return shard_loader(data, batch_size)
    return shard_round_robin(data, truncate)


def shard_loader(data: Any, batch_size: int) -> Any:
    """An :class:`IterableData` over a map-style Dataset / DataLoader, rebuilt with a ``DistributedSampler``."""
    from torch.utils.data import DataLoader, IterableDataset, RandomSampler
    from torch.utils.data.distributed import DistributedSampler
    loader = getattr(data, "source", None)
    if not isinstance(data, IterableData) or not isinstance(loader, DataLoader) \
            or isinstance(loader.dataset, IterableDataset) or isinstance(loader.sampler, DistributedSampler):
        return data
    size = context.world_size()
    global_batch = loader.batch_size or batch_size or 32
    sampler = DistributedSampler(loader.dataset, num_replicas=size, rank=context.rank(),
                                 shuffle=isinstance(loader.sampler, RandomSampler))
    local = DataLoader(loader.dataset, batch_size=max(1, global_batch // size), sampler=sampler,
                       num_workers=loader.num_workers, collate_fn=loader.collate_fn, pin_memory=loader.pin_memory,
                       drop_last=loader.drop_last)
    data.source = _EpochLoader(local, sampler)
    data._pending = None
    data.num_batches_hint = len(local)
    return data


class _EpochLoader:
    """A DataLoader whose ``DistributedSampler`` gets the next epoch number at each pass (a new shuffle)."""

    def __init__(self, loader: Any, sampler: Any):
        self.loader, self.sampler, self.epoch = loader, sampler, 0

    def __iter__(self):
        self.sampler.set_epoch(self.epoch)
        self.epoch += 1
        return iter(self.loader)

    def __len__(self) -> int:
        return len(self.loader)

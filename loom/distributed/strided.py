"""Round-robin shares of batch sources that are not map-style Datasets: generators, Sequences, iterable datasets.

Every rank walks the same stream of batches and rank ``r`` of ``W`` keeps batches ``r, r + W, r + 2W, ...``
(:func:`shard_round_robin`). A Keras-style ``Sequence`` is indexed directly, so a rank only loads its own
batches; an iterator (generator, ``IterableDataset`` loader) is read on every rank and the other batches are
skipped. Each process must therefore build the same stream (the usual torchrun contract: same script, same seed).

* **Training** (``truncate=True``): only complete rounds of ``W`` batches are used, so every rank takes the
  same number of steps and DDP's per-step collectives never wait for a rank that ran out (at most ``W - 1``
  trailing batches are skipped per pass). Each step then trains on ``W`` batches of the source at once.
* **Evaluation and prediction** (``truncate=False``): every batch is used exactly once; ranks may take one
  step less than others, which is safe because those loops only talk at the end. :func:`gather_round_robin`
  puts the predictions back in the source's order.

Example:
    >>> [list(_RoundRobin(range(7), rank=r, size=3, truncate=True)) for r in range(3)]
    [[0, 3], [1, 4], [2, 5]]
    >>> list(_RoundRobin(range(7), rank=0, size=3, truncate=False))
    [0, 3, 6]
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

import torch
import torch.distributed as dist

from loom.distributed import context
from loom.training.data import IterableData


def shard_round_robin(data: IterableData, truncate: bool) -> IterableData:
    """``data`` with its source replaced by this rank's round-robin share (unchanged without a process group)."""
    size = context.world_size()
    if size <= 1 or not isinstance(data, IterableData) or isinstance(data.source, (_RoundRobin, _StridedSequence)):
        return data
    rank = context.rank()
    if data._is_sequence:
        data.source = _StridedSequence(data.source, rank, size, truncate)
        data.num_batches_hint = len(data.source)
        return data
    pending, data._pending = data._pending, None
    data.source = _RoundRobin(data.source, rank, size, truncate, pending)
    hint = data.num_batches_hint
    data.num_batches_hint = None if hint is None else _share(hint, rank, size, truncate)
    return data


def _share(total: int, rank: int, size: int, truncate: bool) -> int:
    """How many of ``total`` round-robin items rank ``rank`` of ``size`` takes."""
    return total // size if truncate else len(range(rank, total, size))


class _StridedSequence:
    """Items ``rank, rank + size, ...`` of a Keras-style Sequence, itself a Sequence."""

    def __init__(self, sequence: Any, rank: int, size: int, truncate: bool):
        self.sequence, self.rank, self.size = sequence, rank, size
        self.length = _share(len(sequence), rank, size, truncate)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> Any:
        if not 0 <= index < self.length:
            raise IndexError(index)
        return self.sequence[self.rank + index * self.size]

    def on_epoch_end(self) -> None:
        if hasattr(self.sequence, "on_epoch_end"):
            self.sequence.on_epoch_end()


class _RoundRobin:
    """Items ``rank, rank + size, ...`` of an iterable (a fresh pass each ``iter`` when the iterable allows).

    Args:
        source: the iterable every rank reads in full.
        rank, size: this rank and the number of ranks.
        truncate: keep only complete rounds of ``size`` items (same count on every rank).
        pending: ``(first item, rest iterator)`` already taken from ``source`` by a peek (default ``None``).
    """

    def __init__(self, source: Iterable, rank: int, size: int, truncate: bool, pending: tuple | None = None):
        self.source, self.rank, self.size, self.truncate, self.pending = source, rank, size, truncate, pending

    def __iter__(self) -> Iterator:
        if self.pending is not None:
            first, rest = self.pending
            self.pending = None
            stream: Iterator = _chain(first, rest)
        else:
            stream = iter(self.source)
        kept = None
        for index, item in enumerate(stream):
            position = index % self.size
            if position == self.rank:
                if not self.truncate:
                    yield item
                kept = item
            if self.truncate and position == self.size - 1:
                yield kept  # a complete round: every rank takes a step

    def __len__(self) -> int:
        return _share(len(self.source), self.rank, self.size, self.truncate)


def _chain(first: Any, rest: Iterator) -> Iterator:
    yield first
    yield from rest


def gather_round_robin(outputs: list[torch.Tensor] | None, sizes: list[int]) -> list[torch.Tensor] | None:
    """Every rank's round-robin predictions back in source order, on every rank (``None``: no rank had data).

    Args:
        outputs: this rank's predictions per model output, its batches concatenated (``None`` when it had none).
        sizes: the row count of each of this rank's batches, in order.
    """
    local = None if outputs is None else [out.detach().cpu() for out in outputs]
    everything: list = [None] * context.world_size()
    dist.all_gather_object(everything, (local, list(sizes)))
    pieces: list[list[torch.Tensor]] = []
    blocks = [(outs, [] if outs is None else list(zip(*[o.split(ss) for o in outs])))
              for outs, ss in everything]
    longest = max(len(chunks) for _, chunks in blocks)
    for k in range(longest):
        pieces.extend(list(chunks[k]) for _, chunks in blocks if k < len(chunks))
    if not pieces:
        return None
    device = outputs[0].device if outputs else torch.device("cpu")
    return [torch.cat([piece[i] for piece in pieces]).to(device) for i in range(len(pieces[0]))]

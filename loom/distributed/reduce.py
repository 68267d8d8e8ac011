"""Collectives the training loop needs, each called at most once per epoch (never per step).

* :func:`global_logs`: the epoch's loss means and metric results over **all** ranks. Every rank's loss sums,
  sample count and metric states (sums and counts, confusion counts...) travel in one ``all_reduce``; the
  metric states are summed in place, then read as usual. History, callbacks and returned values are therefore
  the global ones, identical on every rank.
* :func:`gather_rows`: predictions of each rank's contiguous block, concatenated back in row order on every rank.
* :func:`broadcast_from_zero`: rank 0's permutation (the stop decision lives in :mod:`.stopping`).

Example:
    >>> import torch
    >>> broadcast_from_zero(torch.tensor([2, 0, 1])).tolist()  # a single process: unchanged
    [2, 0, 1]
"""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.distributed as dist

from loom.distributed import context
from loom.errors import TrainingError


def _on_comm_device(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.to(context.device())


def broadcast_from_zero(tensor: torch.Tensor) -> torch.Tensor:
    """Rank 0's ``tensor`` on every rank (same shape and dtype everywhere; unchanged without a group)."""
    if not context.is_distributed():
        return tensor
    moved = _on_comm_device(tensor.contiguous())
    dist.broadcast(moved, src=0)
    return moved.to(tensor.device)


def global_logs(running: Any, metric_plan: Any, where: Callable[[int], str] | None = None) -> dict[str, float]:
    """Loss means and metric results over every rank's samples (one ``all_reduce``).

    Args:
        running: the epoch's :class:`~loom.training.logs.RunningLoss`.
        metric_plan: the compiled metric plan (its states are summed across ranks in place).
        where: describes a step for the NaN message (default ``None``: report NaN as a value instead).

    Raises:
        TrainingError: with ``where``, the global mean loss is NaN or infinite (raised on every rank).
    """
    metric_plan.flush()
    states = [v for metric in metric_plan.metrics for v in metric.variables]
    n = running.count
    if n:
        values = running.buffer[:n].double()
        weights = torch.tensor(running.sizes, dtype=torch.float64, device=values.device)
        sums = (values * weights[:, None]).sum(0)
    else:
        sums = torch.zeros(running.width, dtype=torch.float64, device=running.buffer.device)
    count = torch.tensor([float(sum(running.sizes))], dtype=torch.float64, device=sums.device)
    parts = [sums, count] + [s.reshape(-1).to(sums.device, torch.float64) for s in states]
    packed = _on_comm_device(torch.cat(parts))
    dist.all_reduce(packed)
    packed = packed.to(sums.device)
    means = packed[:running.width] / packed[running.width]
    offset = running.width + 1
    for state in states:
        size = state.numel()
        state.copy_(packed[offset:offset + size].reshape(state.shape).to(state.device, state.dtype))
        offset += size
    logs = dict(zip(running.names, means.tolist()))
    first = logs[running.names[0]]
    if where is not None and not (first == first and abs(first) != float("inf")):
        raise TrainingError(f"The loss became {first} (averaged over all processes) by {where(n - 1)}. Lower the "
                            f"learning rate, check the data for NaN/inf values, or clip gradients (clipnorm=1.0).")
    for name, value in metric_plan.results().items():
        logs[name] = float(value)
    return logs


def gather_rows(local: torch.Tensor, total: int) -> torch.Tensor:
    """Concatenate every rank's contiguous block of rows (rank order) on every rank; ``total`` rows in all."""
    if not context.is_distributed():
        return local
    size = context.world_size()
    longest = -(-total // size)
    padded = local.new_zeros((longest, *local.shape[1:]))
    padded[:local.shape[0]] = local
    moved = _on_comm_device(padded)
    pieces = [torch.empty_like(moved) for _ in range(size)]
    dist.all_gather(pieces, moved)
    counts = [len(block) for block in torch.tensor_split(torch.arange(total), size)]
    return torch.cat([p[:c] for p, c in zip(pieces, counts)]).to(local.device)

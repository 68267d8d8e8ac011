"""Agreeing on ``stop_training`` across ranks without a host sync per step.

A callback may set ``model.stop_training`` on one rank only (its own logs, a file, a signal). A rank that
simply left the epoch would hang the others inside DDP's next gradient all-reduce, so the decision is taken
together: every :data:`EVERY` steps (the same cadence on every rank, so every rank calls the collective at
the same step) and at each epoch end, one tiny ``all_reduce(MAX)`` of the flags tells all ranks whether *any*
of them wants to stop. A rank that wants to stop between two agreement points keeps stepping (its batch
callbacks are no longer called) until the next one; then every rank leaves at the same step.

Without a process group :class:`StopVote` answers with the local flag at once: no collective, no delay.

Example:
    >>> vote = StopVote()  # a single process
    >>> vote.stop_now(0, False), vote.stop_now(1, True)
    (False, True)
    >>> agree_any(True)
    True
"""

from __future__ import annotations

import torch
import torch.distributed as dist

from loom.distributed import context

EVERY = 8
"""Steps between two stop agreements during a distributed epoch."""


def agree_any(flag: bool) -> bool:
    """Whether ``flag`` is true on any rank (one tiny ``all_reduce(MAX)``; ``flag`` itself without a group)."""
    if not context.is_distributed():
        return bool(flag)
    vote = torch.tensor([int(bool(flag))], dtype=torch.int32, device=context.device())
    dist.all_reduce(vote, op=dist.ReduceOp.MAX)
    return bool(vote.item())


class StopVote:
    """Decides after each train step whether the epoch loop leaves now (see the module docstring).

    Args:
        every: steps between agreements (default :data:`EVERY`).
    """

    def __init__(self, every: int = EVERY):
        self.distributed = context.is_distributed()
        self.every = every

    def stop_now(self, batch_index: int, wants_stop: bool) -> bool:
        """Whether every rank leaves the epoch after step ``batch_index`` (0-based) given this rank's wish."""
        if not self.distributed:
            return wants_stop
        if (batch_index + 1) % self.every:
            return False
        return agree_any(wants_stop)

"""Who am I in a distributed run: rank, world size, local rank, and the process group's lifetime.

``torchrun`` (and :func:`loom.distributed.launch`) start one process per device and set the environment
variables ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``. This module is the only
place in loom that reads them. :func:`ensure_initialized` joins the process group the first time a model is
placed (``compile`` / ``fit`` / ``evaluate`` / ``predict``): ``nccl`` when CUDA is available (each process
then uses ``cuda:LOCAL_RANK``), ``gloo`` otherwise. A group the user initialized is used as it is.

When loom created the group it also leaves it cleanly at interpreter exit (:func:`shutdown`): a barrier, so no
rank tears down while another still talks, then ``destroy_process_group``; errors there are ignored, so a
correct run never turns into a failure during shutdown.

Example:
    >>> from loom.distributed import context
    >>> context.world_size(), context.rank(), context.is_rank_zero()  # a plain single process
    (1, 0, True)
"""

from __future__ import annotations

import atexit
import os

import torch
import torch.distributed as dist

_OWNED = {"group": False}


def is_distributed() -> bool:
    """Whether a process group with more than one process is active."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    """Number of processes (1 without a process group)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    """This process's global rank: from the process group, else ``RANK`` set by a launcher, else 0."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return int(os.environ.get("RANK", "0") or 0)


def local_rank() -> int:
    """This process's rank on its machine (``LOCAL_RANK``; default 0)."""
    return int(os.environ.get("LOCAL_RANK", "0") or 0)


def is_rank_zero() -> bool:
    """Whether this process writes files, prints and saves (the only one that does in a distributed run)."""
    return rank() == 0


def launched_world_size() -> int:
    """``WORLD_SIZE`` as set by a launcher (1 when absent)."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def ensure_initialized() -> bool:
    """Join the process group a launcher asked for, once; returns whether the run is distributed.

    Nothing happens (and ``False`` is returned) in a plain single process.
    """
    if not dist.is_available():
        return False
    if dist.is_initialized():
        return dist.get_world_size() > 1
    if launched_world_size() <= 1 or "MASTER_ADDR" not in os.environ:
        return False
    use_cuda = torch.cuda.is_available()
    if use_cuda:
        torch.cuda.set_device(local_rank() % torch.cuda.device_count())
    dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    _OWNED["group"] = True
    atexit.register(shutdown)
    return dist.get_world_size() > 1


def device() -> torch.device:
    """The device collectives of this process use (``cuda:LOCAL_RANK`` with nccl, else the CPU)."""
    if dist.is_initialized() and dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def shutdown() -> None:
    """Leave a process group loom created: barrier, then destroy; never raises."""
    if not (_OWNED["group"] and dist.is_available() and dist.is_initialized()):
        return
    _OWNED["group"] = False
    try:
        dist.barrier()
    except Exception:  # noqa: BLE001 - a peer already gone must not fail a finished run
        pass
    try:
        dist.destroy_process_group()
    except Exception:  # noqa: BLE001
        pass
